{#- Each meter's average demand per UTC hour on the channels whose kind is scored for
    deviations (var deviation_checked_kinds), kept so that
    scoring against weeks of history reads hours, not every reading again. Incremental: the
    UTC days around new data are rebuilt. -#}
{%- set kinds = var('deviation_checked_kinds') %}
{%- set window = scope_window(ref('int_readings_validated'), 'int_meter_hours', kinds=kinds) %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['meter_id', 'channel', 'hour_start_at'], ['hour_start_at']]),
        incremental_strategy='append',
        partition_by=spark_partition_column('hour_date', 'hour_month'),
        pre_hook="{{ delete_utc_days_touched(ref('int_readings_validated'), 'int_meter_hours', 'hour_start_at') }}",
        post_hook=[
            "{{ store_in_time_order('hour_start_at') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'hour_start_at') }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

readings as (

    select
        fct_readings.meter_id,
        fct_readings.channel,
        fct_readings.reading_start_at,
        fct_readings.kw,
        fct_readings.is_estimated
    from {{ ref('fct_readings') }} as fct_readings
    {%- if is_incremental() %}
    inner join ({{ days_touched_since_watermark(ref('int_readings_validated'), 'int_meter_hours') }}) as scope
        on
            fct_readings.meter_id = scope.meter_id
            and fct_readings.channel = scope.channel
            and cast(fct_readings.reading_start_at as date) = scope.reading_date
    {%- endif %}
    where
        fct_readings.channel_kind in ('{{ kinds | join("', '") }}')
    {%- if is_incremental() %}
        and fct_readings.reading_start_at >= {{ window.start }}
        and fct_readings.reading_start_at < {{ window.end }}
        {%- endif %}

),

hourly as (

    select
        meter_id,
        channel,
        {{ dbt.date_trunc('hour', 'reading_start_at') }} as hour_start_at,
        avg(kw) as kw,
        count(*) as readings,
        sum(case when is_estimated then 1 else 0 end) as estimated_readings
    from readings
    group by meter_id, channel, {{ dbt.date_trunc('hour', 'reading_start_at') }}

),

with_partition_keys as (

    select
        hourly.*,
        cast(hourly.hour_start_at as date) as hour_date,
        cast({{ dbt.date_trunc('month', 'hourly.hour_start_at') }} as date) as hour_month
    from hourly

)

select * from with_partition_keys
