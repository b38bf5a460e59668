{#- One row per meter: where its data comes from, its local time zone, the span and volume of
    its published readings. -#}

with

validated as (

    select
        meter_id,
        layout,
        timezone,
        load_id,
        row_number() over (
            partition by meter_id
            order by {{ load_id_number('load_id') }} desc, layout
        ) as recency
    from {{ ref('int_readings_validated') }}
    where meter_id is not null and meter_id <> ''

),

latest_source as (

    select
        meter_id,
        layout,
        timezone
    from validated
    where recency = 1

),

readings as (

    select
        meter_id,
        min(reading_start_at) as first_reading_at,
        max(reading_end_at) as last_reading_at,
        count(distinct channel) as channels,
        count(*) as published_readings,
        sum(case when is_estimated then 1 else 0 end) as estimated_readings
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
        coalesce(readings.estimated_readings, 0) as estimated_readings
    from latest_source
    left join readings on latest_source.meter_id = readings.meter_id

)

select * from final
