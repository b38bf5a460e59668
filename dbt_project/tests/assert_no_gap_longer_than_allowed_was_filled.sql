-- Runs of consecutive interpolated readings never span more than
-- var max_interpolation_gap_minutes: longer gaps stay empty (and are listed in meter_gaps).
with

estimated as (

    select
        meter_id,
        channel,
        reading_start_at,
        reading_end_at,
        case
            when
                lag(reading_end_at) over meter_order = reading_start_at
                and lag(estimation_method) over meter_order = 'linear_interpolation'
                then 0
            else 1
        end as starts_run
    from {{ ref('fct_readings') }}
    where estimation_method = 'linear_interpolation'
    window meter_order as (partition by meter_id, channel order by reading_start_at)

),

runs as (

    select
        meter_id,
        channel,
        reading_start_at,
        reading_end_at,
        sum(starts_run) over (
            partition by meter_id, channel order by reading_start_at
            rows between unbounded preceding and current row
        ) as run_number
    from estimated

)

select
    meter_id,
    channel,
    run_number,
    min(reading_start_at) as run_start_at,
    max(reading_end_at) as run_end_at
from runs
group by meter_id, channel, run_number
having
    {{ minutes_between('min(reading_start_at)', 'max(reading_end_at)') }}
    > {{ var('max_interpolation_gap_minutes') }}
