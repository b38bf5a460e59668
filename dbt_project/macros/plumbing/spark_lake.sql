{#- Apache Spark keeps tables as plain Parquet folders (no Delta or Iceberg: no extra jars), so
    there are no transactions, no DELETE and one statement per call. What the other stores do
    with DELETE and multi-statement hooks, Spark does here by rewriting what changes. -#}

{#- Where dlt's filesystem destination writes the raw tables (smartmeter/spark_lake.py). -#}
{% macro spark_raw_location() -%}
    {{- env_var('SMARTMETER_SPARK_RAW_URL', env_var('SMARTMETER_HOME', '../data') ~ '/spark/lake/raw') -}}
{%- endmacro %}

{#- on-run-start on Spark: the helper tables (partitioned by model name, so that replacing one
    model's rows is a partition overwrite) and the raw tables registered over dlt's Parquet
    folders. A raw table is registered again at every invocation: its files and its columns
    (new meters in a wide file, new headers) change with every load. -#}
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
    ] -%}
    {%- for statement in statements -%}{%- do run_query(statement) -%}{%- endfor -%}
    {%- do register_raw_table('layouts') -%}
    {%- for row in run_query('select distinct raw_table from raw.layouts') -%}
        {%- do register_raw_table(row[0]) -%}
    {%- endfor -%}
    {%- for name in ['file_headers', 'file_preamble', 'file_zones'] -%}
        {%- do register_raw_table(name) -%}
    {%- endfor -%}
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
