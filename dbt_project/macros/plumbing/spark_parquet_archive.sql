{#- The Parquet archive written by Spark (`smartmeter export` on the Spark target, which plans
    the partitions and publishes them: smartmeter/targets/spark.py, smartmeter/export.py).
    Writes the readings of
    `days` (from `readings`, fct_readings, named by the caller) under `staging`, one folder per partition (p_date or p_month, then p_meter: renamed to
    the archive's reading_date= / reading_month= / meter_id= as they are swapped in), one file per
    partition sorted by meter, channel and time; then takes `queued` off the export queue. A
    crash before the end leaves no _written mark in `staging` and the queue as it was. -#}
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
    {#- the mark of a finished write, made before the queue forgets the dates -#}
    {%- do run_query("insert overwrite directory '" ~ staging ~ "/_written' using csv select 'written'") -%}
    {%- set queue = api.Relation.create(schema=helper_schema(), identifier='parquet_export_queue') -%}
    {%- set drained -%}
        {%- call delete_rows(queue) -%}
            reading_date in ({% for day in queued %}date '{{ day }}'{{ ', ' if not loop.last }}{% endfor %})
        {%- endcall -%}
    {%- endset -%}
    {{ log('archive: wrote ' ~ days | length ~ ' day(s) to ' ~ staging, info=true) }}
{%- endmacro %}
