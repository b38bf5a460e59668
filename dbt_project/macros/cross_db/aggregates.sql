{#- Aggregates spelled differently on the two stores. -#}

{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro duckdb__median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro postgres__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}
