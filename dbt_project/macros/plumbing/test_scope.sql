{#- Data tests on the big incremental tables check what the build wrote, not the whole history.

    An incremental build of a per-reading model deletes and rewrites the meter-days around new
    data, and nothing else: rows outside that window passed the same tests when they were
    written. So within one `dbt build`, each such model records (post-hook) a predicate that
    covers every row it wrote, and the generic tests on it (not_null, accepted_values, unique
    keys that contain the time column) read only those rows. Where no predicate was recorded in
    this invocation (a full build, `dbt test` on its own, a model skipped, var
    test_new_data_only false) tests read the whole table. Singular tests always do. -#}

{% macro test_scope_table() -%}
    {{ helper_schema() }}.incremental_test_scopes
{%- endmacro %}

{#- Post-hook: record the time window this build wrote (`after_days` ahead of the new data for
    models whose rows look forward; the days touched in `validated`, int_readings_validated,
    since the model's watermark), or, on a full build, nothing. With `new_loads`, also every
    row of the raw loads consumed (rows whose time could not be read have no time to window). -#}
{% macro record_test_scope(validated, time_column, after_days=0, new_loads=false) -%}
    {%- set predicate = none -%}
    {%- if execute and var('test_new_data_only') and not is_first_build() %}
        {%- set window = scope_window(validated, this.identifier, 0, after_days) -%}
        {%- set predicate = within_window(time_column, window) -%}
        {%- if new_loads -%}
            {%- set predicate -%}
                (load_id > '{{ previous_watermark() }}' or ({{ predicate }}))
            {%- endset -%}
        {%- endif %}
    {%- endif %}
    {{ replace_helper_rows('incremental_test_scopes', ['invocation_id', 'predicate'], scope_row(predicate)) }}
{%- endmacro %}

{#- Post-hook of int_readings_unioned, the view that parses every raw table: its rows of the
    loads `consumer` has not consumed yet (this build's new loads). The rows of older loads passed
    the same tests when they arrived; testing them again would parse every delivered row at every
    build (on PostgreSQL the largest cost of an incremental day). -#}
{% macro record_new_loads_test_scope(consumer) -%}
    {%- set predicate = none -%}
    {%- if execute and var('test_new_data_only') and not should_full_refresh() %}
        {%- set consumed = previous_watermark(consumer) -%}
        {%- if consumed is not none %}
            {%- set predicate = "load_id > '" ~ consumed ~ "'" -%}
        {%- endif %}
    {%- endif %}
    {{ replace_helper_rows('incremental_test_scopes', ['invocation_id', 'predicate'], scope_row(predicate)) }}
{%- endmacro %}

{#- The row recording `predicate` for this invocation (none without one). -#}
{% macro scope_row(predicate) -%}
    {%- if predicate is none -%}{{ return(none) }}{%- endif -%}
    {{ return("select '" ~ invocation_id ~ "' as invocation_id, '" ~ dbt.escape_single_quotes(predicate) ~ "' as predicate") }}
{%- endmacro %}

{#- Post-hook of a view over `source_model`: its rows are that model's rows, so is its scope. -#}
{% macro share_test_scope(source_model) -%}
    {%- set predicate = none -%}
    {%- if execute -%}
        {#- read first: Spark cannot rewrite a table in a query that reads it -#}
        {%- set recorded = run_query(
            "select predicate from " ~ test_scope_table()
            ~ " where model_name = '" ~ source_model ~ "' and invocation_id = '" ~ invocation_id ~ "'"
        ) -%}
        {%- if recorded | length > 0 -%}{%- set predicate = recorded[0][0] -%}{%- endif -%}
    {%- endif -%}
    {{ replace_helper_rows('incremental_test_scopes', ['invocation_id', 'predicate'], scope_row(predicate)) }}
{%- endmacro %}

{#- dbt wraps the model of every generic test in this macro (dbt's own applies the `where`
    config); this one adds the scope recorded for the model in this invocation. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append('(' ~ where ~ ')') -%}{%- endif -%}
    {#- Scopes are recorded, and so only found, in the `dbt build` that wrote them (compile and
        docs generate do not even run on-run-start, which creates the table). -#}
    {%- if execute and flags.WHICH == 'build' and records_test_scope(relation) -%}
        {%- set recorded = run_query(
            "select predicate from " ~ test_scope_table()
            ~ " where model_name = '" ~ relation.identifier ~ "'"
            ~ " and invocation_id = '" ~ invocation_id ~ "'"
        ) -%}
        {%- for row in recorded -%}{%- do conditions.append('(' ~ row[0] ~ ')') -%}{%- endfor -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}

{#- Whether `relation` is a model whose post-hooks record a test scope (the three macros above):
    the tests of every other model and source skip the lookup, a query per test that on Spark
    costs a planned job. -#}
{% macro records_test_scope(relation) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ relation.identifier) -%}
    {%- for hook in (node or {}).get('config', {}).get('post-hook', []) -%}
        {%- if 'test_scope(' in hook.sql -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
