{#- One row per meter: where its data comes from (its most recent layout), its local time
    zone, the span and volume of its published readings. -#}

with

ranked_sources as (

    select
        sources.*,
        row_number() over (partition by meter_id order by last_load desc, layout asc) as recency
    from {{ ref('int_meter_sources') }} as sources

),

latest_source as (

    select
        meter_id,
        layout,
        timezone
    from ranked_sources
    where recency = 1

),

readings as (

    select
        meter_id,
        min(reading_start_at) as first_reading_at,
        max(reading_end_at) as last_reading_at,
        count(distinct channel) as channels,
        count(*) as published_readings,
        sum(case when is_estimated then 1 else 0 end) as estimated_readings,
        sum(case when is_outlier then 1 else 0 end) as outlier_readings
    from {{ ref('fct_readings') }}
    group by meter_id

),

final as (

    select
        latest_source.meter_id,
        latest_source.layout,
        latest_source.timezone,
        readings.first_reading_at,
        readings.last_reading_at,
        coalesce(readings.channels, 0) as channels,
        coalesce(readings.published_readings, 0) as published_readings,
        coalesce(readings.estimated_readings, 0) as estimated_readings,
        coalesce(readings.outlier_readings, 0) as outlier_readings
    from latest_source
    left join readings on latest_source.meter_id = readings.meter_id

)

select * from final
