{#- Published consumption readings (var consumption_channel) in each meter's local time, with
    the calendar facts analytics group by: local day, hour, weekday, season, and whether the
    meter is healthy and the day complete. -#}

with

readings as (

    select
        fct_readings.meter_id,
        fct_readings.reading_start_at,
        fct_readings.reading_end_at,
        fct_readings.interval_minutes,
        fct_readings.kw,
        fct_readings.kwh,
        fct_readings.is_estimated,
        dim_meters.timezone,
        {{ add_minutes('fct_readings.reading_start_at', 'zone_offsets.offset_minutes') }}
            as local_start_at
    from {{ ref('fct_readings') }} as fct_readings
    inner join {{ ref('dim_meters') }} as dim_meters
        on fct_readings.meter_id = dim_meters.meter_id
    inner join {{ ref('int_timezone_offsets') }} as zone_offsets
        on
            dim_meters.timezone = zone_offsets.timezone
            and {{ dbt.date_trunc('hour', 'fct_readings.reading_start_at') }}
            = zone_offsets.utc_hour_start_at
    where fct_readings.channel = '{{ var("consumption_channel") }}'

),

calendar as (

    select
        readings.*,
        cast(local_start_at as date) as local_date,
        cast(extract(hour from local_start_at) as integer) as local_hour,
        cast(extract(isodow from local_start_at) as integer) as iso_weekday,
        cast(extract(month from local_start_at) as integer) as local_month
    from readings

),

final as (

    select
        calendar.*,
        iso_weekday >= 6 as is_weekend,
        {{ season('local_month', 'timezone') }} as season
    from calendar

)

select * from final
