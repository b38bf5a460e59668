{#- An 8-byte float: `double precision` on PostgreSQL, which has no `double`; Spark has no
    `double precision`. (dbt's type_float is a 4-byte float on DuckDB and Spark.) Text columns
    use dbt.type_string(): Spark has no `varchar` without a length. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'smartmeter')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
