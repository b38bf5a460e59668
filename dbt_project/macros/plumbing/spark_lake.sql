{#- Apache Spark keeps tables as plain Parquet folders (no Delta or Iceberg: no extra jars), so
    there are no transactions, no DELETE and one statement per call. What the other stores do
    with DELETE and multi-statement hooks, Spark does here by rewriting what changes. -#}

{#- Where dlt's filesystem destination writes the raw tables (smartmeter/spark_lake.py). -#}
{% macro spark_raw_location() -%}
    {{- env_var('SMARTMETER_SPARK_RAW_URL', env_var('SMARTMETER_HOME', '../data') ~ '/spark/lake/raw') -}}
{%- endmacro %}

{#- on-run-start on Spark: the helper tables (partitioned by model name, so that replacing one
    model's rows is a partition overwrite) and the raw tables registered over dlt's Parquet
    folders. A raw table is registered again when its files changed (smartmeter writes their
    signatures to the lake's raw_catalog before dbt starts: smartmeter/spark_lake.py): a load
    can bring new columns (new meters in a wide file, new headers), which a registration infers;
    a table whose files did not change keeps its registration, and a new session lists its
    folder afresh anyway. -#}
{% macro spark__create_warehouse_helpers() -%}
    {%- set statements = [
        'create schema if not exists ' ~ helper_schema(),
        'create schema if not exists raw',
        'create table if not exists ' ~ helper_schema() ~ '.incremental_watermarks'
            ~ ' (load_id string, updated_at timestamp, model_name string)'
            ~ ' using parquet partitioned by (model_name)',
        'create table if not exists ' ~ helper_schema() ~ '.incremental_test_scopes'
            ~ ' (invocation_id string, predicate string, model_name string)'
            ~ ' using parquet partitioned by (model_name)',
        'create table if not exists ' ~ helper_schema() ~ '.parquet_export_queue'
            ~ ' (reading_date date, queued_at timestamp) using parquet',
        'create table if not exists ' ~ helper_schema() ~ '.raw_table_registrations'
            ~ ' (raw_table string, signature string) using parquet',
    ] -%}
    {%- for statement in statements -%}{%- do run_query(statement) -%}{%- endfor -%}
    {%- set catalog = 'parquet.`' ~ spark_raw_location() ~ '/../raw_catalog`' -%}
    {%- set registrations = helper_schema() ~ '.raw_table_registrations' -%}
    {%- set registered = {} -%}
    {%- for row in run_query('select raw_table, signature from ' ~ registrations) -%}
        {%- do registered.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set present = run_query('show tables in raw').columns['tableName'].values() | list -%}
    {%- set current = run_query('select raw_table, signature from ' ~ catalog).rows -%}
    {%- set changed = [] -%}
    {%- for row in current -%}
        {%- if registered.get(row[0]) != row[1] or row[0] not in present -%}
            {%- do register_raw_table(row[0]) -%}
            {%- do changed.append(row[0]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if changed or registered | length != current | length -%}
        {%- do run_query(
            'insert overwrite table ' ~ registrations ~ ' select raw_table, signature from ' ~ catalog
        ) -%}
    {%- endif -%}
    {%- if var('hold_back_files', false) -%}
        {#- the files isolation.py holds back (written beside the raw tables) -#}
        {%- do run_query('create schema if not exists ops') -%}
        {%- do run_query('drop table if exists ops.held_back_files') -%}
        {%- do run_query(
            "create table ops.held_back_files using parquet location '"
            ~ spark_raw_location() ~ "/../ops/held_back_files'"
        ) -%}
    {%- endif -%}
    {%- do spark__create_strptime_functions() -%}
    {{ return('') }}
{%- endmacro %}

{% macro register_raw_table(name) -%}
    {%- do run_query('drop table if exists raw.' ~ name) -%}
    {%- do run_query(
        'create table raw.' ~ name ~ ' using parquet options (mergeSchema \'true\')'
        ~ ' location \'' ~ spark_raw_location() ~ '/' ~ name ~ '\''
    ) -%}
{%- endmacro %}
