{#- Each meter's published consumption (its channels of kind `consumption`, summed per interval:
    a site's import) in its local time, with the calendar facts analytics group by: local day,
    hour, weekday, season. Export, generation and sub-meter channels are left out. -#}

with

consumption as (

    select
        meter_id,
        reading_start_at,
        max(reading_end_at) as reading_end_at,
        max(interval_minutes) as interval_minutes,
        sum(kw) as kw,
        sum(kwh) as kwh,
        max(case when is_estimated then 1 else 0 end) = 1 as is_estimated,
        -- an interval with an outlier on any consumption channel is kept out of analytics
        max(case when is_outlier then 1 else 0 end) = 1 as is_outlier,
        max(
            case when not is_estimated and source_quality_flag in ('E', 'S', 'F') then 1 else 0 end
        ) = 1 as is_source_estimated
    from {{ ref('fct_readings') }}
    where channel_kind = 'consumption'
    group by meter_id, reading_start_at

),

readings as (

    select
        consumption.*,
        dim_meters.timezone,
        {{ add_minutes('consumption.reading_start_at', 'zone_offsets.offset_minutes') }}
            as local_start_at
    from consumption
    inner join {{ ref('dim_meters') }} as dim_meters
        on consumption.meter_id = dim_meters.meter_id
    inner join {{ ref('int_timezone_offsets') }} as zone_offsets
        on
            dim_meters.timezone = zone_offsets.timezone
            and {{ dbt.date_trunc('hour', 'consumption.reading_start_at') }}
            = zone_offsets.utc_hour_start_at

),

calendar as (

    select
        readings.*,
        cast(local_start_at as date) as local_date,
        cast(extract(hour from local_start_at) as integer) as local_hour,
        {{ iso_weekday('local_start_at') }} as iso_weekday,
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
