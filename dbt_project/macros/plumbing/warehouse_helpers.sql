{#- Run on every dbt invocation (on-run-start): the small tables and functions the models rely
    on. Idempotent. -#}

{% macro helper_schema() -%}
    intermediate
{%- endmacro %}

{% macro create_warehouse_helpers() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {{ return(adapter.dispatch('create_warehouse_helpers', 'smartmeter')()) }}
{%- endmacro %}

{% macro default__create_warehouse_helpers() -%}
    {% set statements %}
        create schema if not exists {{ helper_schema() }};
        -- Which raw load each incremental model has consumed (see macros/plumbing/incremental.sql).
        create table if not exists {{ helper_schema() }}.incremental_watermarks (
            model_name varchar not null,
            load_id varchar not null,
            updated_at timestamp not null
        );
        -- What each big model wrote in a given dbt invocation (macros/plumbing/test_scope.sql).
        create table if not exists {{ helper_schema() }}.incremental_test_scopes (
            model_name varchar not null,
            invocation_id varchar not null,
            predicate varchar not null
        );
        -- UTC dates whose Parquet partitions must be (re)written at the next export.
        create table if not exists {{ helper_schema() }}.parquet_export_queue (
            reading_date date not null,
            queued_at timestamp not null
        );
        {{ adapter.dispatch('create_store_functions', 'smartmeter')() }}
    {% endset %}
    {{ return(statements) }}
{%- endmacro %}

{% macro default__create_store_functions() -%}
{%- endmacro %}

{#- PostgreSQL parsed timestamps with a PL/pgSQL function, one call per row; try_strptime is
    plain SQL now (macros/cross_db/parsing.sql). Warehouses built before lose the function. -#}
{% macro postgres__create_store_functions() -%}
    drop function if exists {{ helper_schema() }}.smartmeter_timestamp_from_parts(text[], text);
{%- endmacro %}
