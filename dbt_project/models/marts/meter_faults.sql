{#- One row per finding about a meter: long zero runs and long constant runs (critical: the
    data are not what the customer used), and episodes of at least var deviation_min_hours
    consecutive hours that deviate extremely from the meter's own history (warning). -#}

with

runs as (

    select
        meter_id,
        channel,
        channel_kind,
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

deviation_episodes as (

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

episode_channels as (

    select distinct
        meter_id,
        channel
    from deviation_episodes

),

deviating_channels as (

    -- The kind of each channel with an episode (analytics leave out consumption episodes).
    select distinct
        fct_readings.meter_id,
        fct_readings.channel,
        fct_readings.channel_kind
    from {{ ref('fct_readings') }} as fct_readings
    inner join episode_channels
        on
            fct_readings.meter_id = episode_channels.meter_id
            and fct_readings.channel = episode_channels.channel
    where fct_readings.channel_kind in ('{{ var("deviation_checked_kinds") | join("', '") }}')

),

deviations as (

    select
        deviation_episodes.meter_id,
        deviation_episodes.channel,
        deviating_channels.channel_kind,
        deviation_episodes.fault_kind,
        deviation_episodes.started_at,
        deviation_episodes.ended_at,
        deviation_episodes.duration_hours,
        deviation_episodes.severity,
        deviation_episodes.detail
    from deviation_episodes
    left join deviating_channels
        on
            deviation_episodes.meter_id = deviating_channels.meter_id
            and deviation_episodes.channel = deviating_channels.channel

),

findings as (

    select * from runs
    union all
    select * from deviations

)

select * from findings
