{#- Incremental models consume raw loads in order. Each remembers, in
    intermediate.incremental_watermarks, the newest dlt load id it has consumed; the next run
    takes only rows from later loads (plus the context the step needs). The watermark is written
    by a post-hook inside the model's own transaction, so a killed build simply redoes the batch.

    dlt load ids are epoch seconds as text ("1795736351.3907833"), with ten digits before the
    point until the year 2286: compared as text they sort as the numbers do, and a text
    comparison lets DuckDB skip row groups by their min/max (a cast would not). -#}

{#- The newest load this model has consumed, as a scalar subquery ('' before the first run). -#}
{% macro watermark(model_name=none) -%}
    (
        select coalesce(max(load_id), '')
        from {{ helper_schema() }}.incremental_watermarks
        where model_name = '{{ model_name or this.identifier }}'
    )
{%- endmacro %}

{#- When a load happened: its id as epoch seconds. -#}
{% macro load_time(load_id) -%}
    {{ from_epoch_seconds('cast(' ~ load_id ~ ' as ' ~ type_double() ~ ')') }}
{%- endmacro %}

{#- Post-hook: record the newest load present in `source_relation` as consumed. -#}
{% macro advance_watermark(source_relation, load_column='load_id') -%}
    {%- set newest -%}
        select max({{ load_column }}), {{ dbt.current_timestamp() }}
        from {{ source_relation }}
        having max({{ load_column }}) is not null
    {%- endset -%}
    {{ replace_helper_rows('incremental_watermarks', ['load_id', 'updated_at'], newest) }}
{%- endmacro %}

{#- Post-hook of the big per-reading tables: after a full build, rewrite the table in time order,
    so incremental builds that read a few days skip the rest of it by row-group min/max (DuckDB's
    zone maps). Sorting in the model's own query would hold its joins, aggregates and the sort
    in memory at once, beyond the memory limit on large loads; sorting the finished table alone
    spills to disk. A full build is one with no watermark yet (post-hooks run after the table
    exists, so is_incremental() cannot tell). PostgreSQL reads by index, not zone maps. -#}
{% macro store_in_time_order(column) -%}
    {{ return(adapter.dispatch('store_in_time_order', 'smartmeter')(column)) }}
{%- endmacro %}

{% macro default__store_in_time_order(column) -%}
    select 1
{%- endmacro %}

{% macro duckdb__store_in_time_order(column) -%}
    {%- if is_first_build() -%}
        create or replace table {{ this }} as select * from {{ this }} order by {{ column }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- In a post-hook: whether the build that just ran was a full one (a full refresh, or no
    watermark recorded yet for `model_name`). -#}
{% macro is_first_build(model_name=none) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- if should_full_refresh() -%}{{ return(true) }}{%- endif -%}
    {{ return(previous_watermark(model_name) is none) }}
{%- endmacro %}

{#- The watermark of `model_name` as rendered now (none when there is none): in a post-hook that
    runs before advance_watermark, the load this build started from. -#}
{% macro previous_watermark(model_name=none) -%}
    {%- set found = run_query(
        "select max(load_id) from " ~ helper_schema() ~ ".incremental_watermarks"
        ~ " where model_name = '" ~ (model_name or this.identifier) ~ "'"
    ) -%}
    {{ return(found[0][0] if found and found[0][0] is not none else none) }}
{%- endmacro %}

{#- Files held back from a build (smartmeter/isolation.py's probes, which look for the file whose
    values make a model fail): with var hold_back_files set, the sha256s in ops.held_back_files
    are left out. -#}
{% macro where_not_held_back(column) -%}
    {%- if var('hold_back_files', false) -%}
        where {{ column }} not in (select file_sha256 from ops.held_back_files)
    {%- endif -%}
{%- endmacro %}
