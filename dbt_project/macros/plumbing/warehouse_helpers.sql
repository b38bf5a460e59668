{#- Run on every dbt invocation (on-run-start): the small tables and functions the models rely
    on. Idempotent. -#}

{% macro helper_schema() -%}
    intermediate
{%- endmacro %}

{% macro create_warehouse_helpers() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
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

{#- PostgreSQL has no try_strptime: this reads the regex groups compiled by strptime_to_regex
    and returns NULL (instead of raising) for impossible dates such as 2024-13-45. -#}
{% macro postgres__create_store_functions() -%}
    create or replace function {{ helper_schema() }}.smartmeter_timestamp_from_parts(
        parts text[], fields text
    ) returns timestamp language plpgsql immutable as $fn$
    declare
        y int := 1970; mo int := 1; d int := 1; h int := 0; mi int := 0;
        s double precision := 0; i int;
    begin
        if parts is null then return null; end if;
        for i in 1 .. length(fields) loop
            case substr(fields, i, 1)
                when 'Y' then y := parts[i]::int;
                when 'y' then y := 2000 + parts[i]::int;
                when 'm' then mo := parts[i]::int;
                when 'd' then d := parts[i]::int;
                when 'H' then h := parts[i]::int;
                when 'M' then mi := parts[i]::int;
                when 'S' then s := s + parts[i]::int;
                -- truncated to the microsecond, as DuckDB keeps it
                when 'f' then s := s + ('0.' || left(parts[i], 6))::double precision;
                else null;
            end case;
        end loop;
        if h > 23 or mi > 59 or s >= 60 then return null; end if;
        return make_timestamp(y, mo, d, h, mi, s);
    exception when others then
        return null;
    end
    $fn$;
{%- endmacro %}
