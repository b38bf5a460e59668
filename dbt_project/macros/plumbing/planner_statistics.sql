{#- What PostgreSQL's planner needs and DuckDB does not.

    Statistics: PostgreSQL plans from table statistics, and a table just created or changed
    has none (or stale ones) until autovacuum gets to it; a planner that takes 1.4 million rows
    for 1 picks nested loops over them. So every table a model writes is analyzed as the model
    finishes (a project-wide post-hook in dbt_project.yml). DuckDB keeps its statistics as it
    writes: nothing to do there. -#}
{% macro refresh_planner_statistics() -%}
    {{ return(adapter.dispatch('refresh_planner_statistics', 'smartmeter')()) }}
{%- endmacro %}

{% macro default__refresh_planner_statistics() -%}
{%- endmacro %}

{% macro postgres__refresh_planner_statistics() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Indexes for the keys incremental builds delete and look up by (a model's `indexes` config:
    `indexes=lookup_indexes([['meter_id', 'channel', 'reading_start_at'], ['load_id']])`).
    dbt builds them once, right after the table, so a full build pays one sort per index rather
    than one insertion per row. DuckDB prunes by row-group min/max instead (the big tables are
    stored in time order) and would only pay for indexes it does not use: none there. -#}
{% macro lookup_indexes(keys) -%}
    {{ return(adapter.dispatch('lookup_indexes', 'smartmeter')(keys)) }}
{%- endmacro %}

{% macro default__lookup_indexes(keys) -%}
    {{ return([]) }}
{%- endmacro %}

{% macro postgres__lookup_indexes(keys) -%}
    {%- set indexes = [] -%}
    {%- for columns in keys -%}
        {%- do indexes.append({'columns': columns}) -%}
    {%- endfor -%}
    {{ return(indexes) }}
{%- endmacro %}

{#- A CTE that a model reads more than once, filtered differently each time: PostgreSQL (12+)
    materializes such a CTE whole before any filter applies, so an incremental build that needs
    a few days of int_readings_validated would copy all of it first. `not materialized` inlines
    it, and each reading's filter reaches the table. Use as `name as {{ inline_cte() }}(`.
    DuckDB inlines by itself. -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'smartmeter')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{% macro postgres__inline_cte() -%}
    not materialized{{ ' ' }}
{%- endmacro %}
