{#- The UTC offset of every (time zone, UTC hour) the published readings touch. Converting an
    hour's worth of readings at once keeps local-time analytics cheap: one conversion per zone
    and hour, not per reading. Incremental: hours near newly loaded data are added. -#}
{%- set window = scope_window(ref('int_readings_validated'), 'int_timezone_offsets') %}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['timezone', 'utc_hour_start_at'],
        post_hook=["{{ advance_watermark(ref('int_readings_validated')) }}"],
    )
}}

with

hours as (

    select distinct
        dim_meters.timezone,
        {{ dbt.date_trunc('hour', 'fct_readings.reading_start_at') }} as utc_hour_start_at
    from {{ ref('fct_readings') }} as fct_readings
    inner join {{ ref('dim_meters') }} as dim_meters
        on fct_readings.meter_id = dim_meters.meter_id
    {%- if is_incremental() %}
    where
        fct_readings.reading_start_at >= {{ window.start }}
        and fct_readings.reading_start_at < {{ window.end }}
    {%- endif %}

),

offsets as (

    select
        timezone,
        utc_hour_start_at,
        {{ minutes_between(
            'utc_hour_start_at', utc_to_wall_clock('utc_hour_start_at', 'timezone')
        ) }} as offset_minutes
    from hours

)

select * from offsets
