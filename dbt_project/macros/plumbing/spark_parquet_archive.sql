{#- The Parquet archive written by Spark. A successful `dbt build` stages what it queued in its
    own Spark session (on-run-end: stage_parquet_archive); `smartmeter export` publishes staged
    sets and has Spark write whatever is still queued (smartmeter/targets/spark.py,
    smartmeter/export.py). Writes the readings of `days` (from `readings`, fct_readings, named by
    the caller) under `staging`, one folder per partition (p_date or p_month, then p_meter:
    renamed to the archive's reading_date= / reading_month= / meter_id= as they are published),
    one file per partition sorted by meter, channel and time; then marks the set written (the
    mark holds the scheme) and takes `queued` off the export queue. A crash before the end leaves
    no mark in `staging` and the queue as it was. -#}
{% macro spark__write_parquet_archive(readings, days, queued, staging, scheme, columns) -%}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error('spark__write_parquet_archive runs on the Spark target') }}
    {%- endif -%}
    {%- set day_list -%}
        {%- for day in days %}date '{{ day }}'{{ ', ' if not loop.last }}{% endfor -%}
    {%- endset -%}
    {%- set months = [] -%}
    {%- for day in days -%}
        {%- if day[:7] not in months -%}{%- do months.append(day[:7]) -%}{%- endif -%}
    {%- endfor -%}
    {%- set month_list -%}
        {%- for month in months %}date '{{ month }}-01'{{ ', ' if not loop.last }}{% endfor -%}
    {%- endset -%}
    {%- set partitions = {
        'date/meter_id': [('p_date', "cast(reading_date as string)"), ('p_meter', 'meter_id')],
        'date': [('p_date', "cast(reading_date as string)")],
        'month/meter_id': [('p_month', "date_format(reading_date, 'yyyy-MM')"), ('p_meter', 'meter_id')],
    }[scheme] -%}
    {%- set names = partitions | map(attribute=0) | join(', ') -%}
    {%- set staged = api.Relation.create(schema=helper_schema(), identifier='parquet_archive_staging') -%}
    {%- do run_query('drop table if exists ' ~ staged) -%}
    {%- set write -%}
        create table {{ staged }}
        using parquet
        partitioned by ({{ names }})
        location '{{ staging }}'
        as select
            {{ columns | join(', ') }},
            {%- for name, expr in partitions %}
            {{ expr }} as {{ name }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ readings }}
        {#- (the month too: fct_readings may be partitioned by month, var spark_partition_grain) #}
        where reading_date in ({{ day_list }}) and reading_month in ({{ month_list }})
        distribute by {{ names }}
        sort by meter_id, channel, reading_start_at
    {%- endset -%}
    {%- do run_query(write) -%}
    {%- do run_query('drop table ' ~ staged) -%}
    {#- the mark of a finished write (naming its scheme), made before the queue forgets the dates -#}
    {%- do run_query(
        "insert overwrite directory '" ~ staging ~ "/_written' using csv select '" ~ scheme ~ "'"
    ) -%}
    {%- set queue = api.Relation.create(schema=helper_schema(), identifier='parquet_export_queue') -%}
    {%- set drained -%}
        {%- call delete_rows(queue) -%}
            reading_date in ({% for day in queued %}date '{{ day }}'{{ ', ' if not loop.last }}{% endfor %})
        {%- endcall -%}
    {%- endset -%}
    {{ log('archive: wrote ' ~ days | length ~ ' day(s) to ' ~ staging, info=true) }}
{%- endmacro %}

{#- on-run-end: a build that wrote fct_readings and passed stages the partitions it queued, in
    its own Spark session, for the next export to publish (no second Spark session for the
    archive). Not on the other stores (their export reads the warehouse directly), nor in
    isolation.py's probe builds (built from part of the files), nor after a failure. -#}
{% macro stage_parquet_archive(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {{ return(adapter.dispatch('stage_parquet_archive', 'smartmeter')(results)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL: nothing to stage (smartmeter's export copies from the warehouse). -#}
{% macro default__stage_parquet_archive(results) -%}
    {{ return('') }}
{%- endmacro %}

{#- Spark: the queued dates (every day of their months in the month scheme) written as a new set
    under the lake's archive_staged folder (smartmeter/spark_lake.py, archive_staged_dir). -#}
{% macro spark__stage_parquet_archive(results) -%}
    {%- set failed = results | selectattr('status', 'in', ['error', 'fail', 'runtime error']) | list -%}
    {%- set readings = results | map(attribute='node') | selectattr('name', 'equalto', 'fct_readings') | list -%}
    {%- if failed or not readings or var('hold_back_files', false) or flags.WHICH not in ['build', 'run'] -%}
        {{ return('') }}
    {%- endif -%}
    {%- set queue = api.Relation.create(schema=helper_schema(), identifier='parquet_export_queue') -%}
    {%- set queued = run_query(
        'select distinct cast(reading_date as string) from ' ~ queue ~ ' order by 1'
    ).columns[0].values() | list -%}
    {%- if not queued -%}{{ return('') }}{%- endif -%}
    {%- set scheme = var('parquet_partition_scheme') -%}
    {%- set days = queued -%}
    {%- if scheme == 'month/meter_id' -%}
        {#- a month partition is rewritten whole: every day of it that has readings -#}
        {%- set months = [] -%}
        {%- for day in queued -%}
            {%- if day[:7] not in months -%}{%- do months.append(day[:7]) -%}{%- endif -%}
        {%- endfor -%}
        {%- set in_months = run_query(
            'select distinct cast(reading_date as string) from ' ~ readings[0].relation_name
            ~ " where reading_month in (date '" ~ months | join("-01', date '") ~ "-01')"
        ).columns[0].values() | list -%}
        {%- set days = (queued + in_months) | unique | sort | list -%}
    {%- endif -%}
    {%- do spark__write_parquet_archive(
        readings[0].relation_name,
        days,
        queued,
        spark_raw_location() ~ '/../archive_staged/' ~ run_started_at.strftime('%Y%m%dT%H%M%S') ~ '-' ~ invocation_id,
        scheme,
        var('parquet_archive_columns'),
    ) -%}
    {{ return('') }}
{%- endmacro %}
