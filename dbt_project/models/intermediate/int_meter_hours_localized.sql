{#- Each meter's average demand per local hour, on complete days only, without the readings
    flagged as outliers: what profiles, baseloads and forecasts learn from (int_meter_hours_screened
    also leaves out the hours of fault and suspect episodes). hour_start_at / hour_end_at give the
    hour's UTC span, to match it against episodes. Incremental like fct_daily_consumption. -#}
{%- set window = scope_window(ref('int_readings_validated'), 'int_meter_hours_localized') %}
{{
    config(
        materialized='incremental',
        on_schema_change='append_new_columns',
        indexes=lookup_indexes([['local_date']]),
        incremental_strategy='append',
        partition_by=spark_partition_column('local_date', 'local_month'),
        pre_hook="{{ delete_local_days_touched(ref('int_readings_validated'), 'int_meter_hours_localized') }}",
        post_hook=[
            "{{ store_in_time_order('local_date') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'local_date') }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

readings as (

    select readings.*
    from {{ ref('int_readings_localized') }} as readings
    inner join {{ ref('fct_daily_consumption') }} as complete_days
        on
            readings.meter_id = complete_days.meter_id
            and readings.local_date = complete_days.local_date
    {%- if is_incremental() %}
    inner join ({{ local_days_touched(ref('int_readings_validated'), 'int_meter_hours_localized') }}) as scope
        on
            readings.meter_id = scope.meter_id
            and readings.local_date = scope.local_date
    {%- endif %}
    where
        complete_days.is_complete
        and not readings.is_outlier
    {%- if is_incremental() %}
        and readings.reading_start_at >= {{ window.start }}
        and readings.reading_start_at < {{ window.end }}
        {%- endif %}

),

meter_hours as (

    select
        meter_id,
        local_date,
        local_hour,
        min(iso_weekday) as iso_weekday,
        bool_and(is_weekend) as is_weekend,
        min(season) as season,
        avg(kw) as kw,
        min({{ dbt.date_trunc('hour', 'reading_start_at') }}) as hour_start_at,
        max(reading_end_at) as hour_end_at,
        cast({{ dbt.date_trunc('month', 'local_date') }} as date) as local_month
    from readings
    group by meter_id, local_date, local_hour

)

select * from meter_hours
