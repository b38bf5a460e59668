{#- One row per finding about a meter: long zero runs and long constant runs (critical: the
    data are not what the customer used), and episodes of at least var deviation_min_hours
    consecutive hours that deviate extremely from the meter's own history (warning). -#}

with

runs as (

    select
        meter_id,
        channel,
        run_kind as fault_kind,
        run_start_at as started_at,
        run_end_at as ended_at,
        run_hours as duration_hours,
        'critical' as severity,
        case
            when run_kind = 'zero_run'
                then cast(readings as {{ dbt.type_string() }}) || ' consecutive zero readings'
            else
                cast(readings as {{ dbt.type_string() }}) || ' consecutive readings of '
                || cast(kw as {{ dbt.type_string() }}) || ' kW'
        end as detail
    from {{ ref('int_meter_runs_detected') }}

),

deviating_hours as (

    -- Only the deviating hours (few), then consecutive ones form an episode.
    select
        meter_id,
        channel,
        hour_start_at,
        robust_z,
        case
            when
                lag(hour_start_at) over meter_order
                = {{ dbt.dateadd('hour', -1, 'hour_start_at') }}
                then 0
            else 1
        end as starts_episode
    from {{ ref('int_meter_hours_scored') }}
    where is_deviation
    window meter_order as (partition by meter_id, channel order by hour_start_at)

),

episodes as (

    select
        deviating_hours.*,
        sum(starts_episode) over (
            partition by meter_id, channel order by hour_start_at
            rows between unbounded preceding and current row
        ) as episode_number
    from deviating_hours

),

deviations as (

    select
        meter_id,
        channel,
        'deviation' as fault_kind,
        min(hour_start_at) as started_at,
        {{ dbt.dateadd('hour', 1, 'max(hour_start_at)') }} as ended_at,
        count(*) * 1.0 as duration_hours,
        'warning' as severity,
        cast(count(*) as {{ dbt.type_string() }}) || ' consecutive hours beyond |z| '
        || cast({{ var('deviation_z_threshold') }} as {{ dbt.type_string() }})
        || ' of the same hour-of-week history (peak |z| '
        || {{ rounded_text('max(abs(robust_z))') }}
        || ')' as detail
    from episodes
    group by meter_id, channel, episode_number
    having count(*) >= {{ var('deviation_min_hours') }}

),

findings as (

    select * from runs
    union all
    select * from deviations

)

select * from findings
