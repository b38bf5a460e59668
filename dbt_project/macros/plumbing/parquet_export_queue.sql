{#- fct_readings post-hook: queue the UTC dates whose Parquet partitions must be rewritten (the
    days this build touched; every day after a full build). The export step (`smartmeter run`
    after the build, or `smartmeter export`; smartmeter/export.py) drains the queue. The days
    touched are those of `validated` (int_readings_validated) since the model's watermark. -#}
{% macro queue_parquet_export(validated, model_name) -%}
    insert into {{ helper_schema() }}.parquet_export_queue (reading_date, queued_at)
    {%- if is_incremental() %}
    select distinct reading_date, {{ dbt.current_timestamp() }}
    from ({{ days_touched_since_watermark(validated, model_name) }}) as scope
    {%- else %}
    select distinct reading_date, {{ dbt.current_timestamp() }}
    from {{ this }}
    {%- endif %}
{%- endmacro %}
