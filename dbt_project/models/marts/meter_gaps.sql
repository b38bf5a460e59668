{#- Stretches with no published reading between a meter's first and last one: what estimation
    did not fill because it is longer than var max_interpolation_gap_minutes. Analytics treat the
    days these touch as incomplete. -#}

with

published as (

    select
        meter_id,
        channel,
        reading_start_at,
        interval_minutes,
        lag(reading_end_at) over meter_order as previous_end_at
    from {{ ref('fct_readings') }}
    window meter_order as (partition by meter_id, channel order by reading_start_at)

),

gaps as (

    select
        meter_id,
        channel,
        previous_end_at as gap_start_at,
        reading_start_at as gap_end_at,
        {{ minutes_between('previous_end_at', 'reading_start_at') }} as gap_minutes,
        {{ minutes_between('previous_end_at', 'reading_start_at') }} / interval_minutes
            as intervals_missing
    from published
    where previous_end_at < reading_start_at

)

select * from gaps
