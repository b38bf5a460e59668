{#- The table smartmeter's forecast step (smartmeter/forecast.py) writes its learned forecasts
    to, declared here (on-run-start) so that the dbt source exists before the step ever ran, or
    when it is switched off. Its columns are the step's (forecast.COLUMNS). -#}

{% macro learned_forecast_columns() -%}
    {{ return([
        ('meter_id', 'string'),
        ('local_date', 'date'),
        ('local_hour', 'int'),
        ('forecast_method', 'string'),
        ('horizon_days', 'int'),
        ('forecast_kw', 'double'),
        ('p10_kw', 'double'),
        ('p90_kw', 'double'),
        ('mean_kw', 'double'),
        ('trained_through', 'date'),
        ('issued_at', 'timestamp'),
    ]) }}
{%- endmacro %}

{% macro create_learned_forecasts_table() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {{ return(adapter.dispatch('create_learned_forecasts_table', 'smartmeter')()) }}
{%- endmacro %}

{% macro default__create_learned_forecasts_table() -%}
    {%- set types = {'string': 'varchar', 'int': 'integer', 'double': type_double()} -%}
    {% set statements %}
        create schema if not exists forecasts;
        create table if not exists forecasts.learned_forecasts (
            {%- for name, kind in learned_forecast_columns() %}
            {{ name }} {{ types.get(kind, kind) }}{{ "," if not loop.last }}
            {%- endfor %}
        );
    {% endset %}
    {%- do run_query(statements) -%}
    {{ return('') }}
{%- endmacro %}

{#- Spark: a Parquet table over the folder the step writes beside the raw tables
    (smartmeter/spark_lake.py, lake_table_dir), as ops.held_back_files is. -#}
{% macro spark__create_learned_forecasts_table() -%}
    {%- do run_query('create schema if not exists forecasts') -%}
    {%- do run_query(
        'create table if not exists forecasts.learned_forecasts ('
        ~ learned_forecast_columns() | map('join', ' ') | join(', ')
        ~ ") using parquet location '" ~ spark_raw_location() ~ "/../forecasts/learned_forecasts'"
    ) -%}
    {{ return('') }}
{%- endmacro %}
