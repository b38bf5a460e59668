{#- Each meter-hour against the meter's own history: the same local hour of the week over the
    trailing var baseline_days. The baseline is the median of those earlier hours and its spread
    the MAD (median absolute deviation, floored at var deviation_min_mad_kw); the robust z-score
    is (kW - median) / (1.4826 x MAD). An hour is judged only with at least
    var deviation_min_baseline_weeks earlier hours. -#}
{%- set kinds = var('deviation_checked_kinds') %}
{%- set lookback_days = var('baseline_days') + 1 %}
{%- set window = scope_window(ref('int_readings_validated'), 'int_meter_hours_scored', lookback_days, lookback_days, kinds) %}
{%- set weeks = (var('baseline_days') / 7) | round(0, 'floor') | int %}
{%- set week_columns = [] %}
{%- set deviations_from_baseline = [] %}
{%- for week in range(1, weeks + 1) %}
    {%- do week_columns.append('week_' ~ week ~ '_kw') %}
    {%- do deviations_from_baseline.append('abs(week_' ~ week ~ '_kw - baseline_kw)') %}
{%- endfor %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['local_hour_start_at'], ['meter_id', 'channel', 'hour_start_at']]),
        incremental_strategy='append',
        partition_by=spark_partition_column('local_date', 'local_month'),
        pre_hook="{{ delete_local_days_touched(ref('int_readings_validated'), 'int_meter_hours_scored', 'local_hour_start_at', var('baseline_days') + 1, var('deviation_checked_kinds')) }}",
        post_hook=[
            "{{ store_in_time_order('local_hour_start_at') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'local_hour_start_at', var('baseline_days') + 1) }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

hourly as (

    -- Incremental: the hours to judge again (new data, and the weeks whose baseline it feeds)
    -- plus the baseline_days before them.
    select
        meter_hours.meter_id,
        meter_hours.channel,
        coalesce(dim_meters.timezone, 'UTC') as timezone,
        meter_hours.hour_start_at,
        meter_hours.kw,
        meter_hours.readings,
        meter_hours.estimated_readings
    from {{ ref('int_meter_hours') }} as meter_hours
    left join {{ ref('dim_meters') }} as dim_meters
        on meter_hours.meter_id = dim_meters.meter_id
    {%- if is_incremental() %}
    where
        meter_hours.hour_start_at >= {{ window.start }}
        and meter_hours.hour_start_at < {{ window.end }}
        and meter_hours.meter_id in (
            select meter_id
            from ({{ local_days_touched(ref('int_readings_validated'), 'int_meter_hours_scored', lookback_days, kinds) }}) as touched
        )
    {%- endif %}

),

localized as (

    select
        hourly.*,
        {{ add_minutes('hourly.hour_start_at', 'zone_offsets.offset_minutes') }}
            as local_hour_start_at
    from hourly
    inner join {{ ref('int_timezone_offsets') }} as zone_offsets
        on
            hourly.timezone = zone_offsets.timezone
            and hourly.hour_start_at = zone_offsets.utc_hour_start_at

),

with_hour_of_week as (

    select
        localized.*,
        {{ iso_weekday('local_hour_start_at') }} * 24
        + cast(extract(hour from local_hour_start_at) as integer) as hour_of_week
    from localized

),

history as (

    select
        {%- for week in range(1, weeks + 1) %}
            case
                when
                    lag(hour_start_at, {{ week }}) over same_hour_of_week
                    >= {{ dbt.dateadd('hour', -(var('baseline_days') * 24 + 1), 'hour_start_at') }}
                    then lag(kw, {{ week }}) over same_hour_of_week
            end as week_{{ week }}_kw,
        {%- endfor %}
        with_hour_of_week.*
    from with_hour_of_week
    window same_hour_of_week as (
        partition by meter_id, channel, hour_of_week order by hour_start_at
    )

),

judged as (

    -- The hours this build writes; medians are the costly part, so only for these.
    select history.*
    from history
    {%- if is_incremental() %}
    inner join ({{ local_days_touched(ref('int_readings_validated'), 'int_meter_hours_scored', lookback_days, kinds) }}) as scope
        on
            history.meter_id = scope.meter_id
            and cast(history.local_hour_start_at as date) = scope.local_date
    {%- endif %}

),

baselines as (

    select
        judged.*,
        {{ median_of(week_columns) }} as baseline_kw,
        (
            {%- for column in week_columns %}
                case when {{ column }} is not null then 1 else 0 end{{ " +" if not loop.last }}
            {%- endfor %}
        ) as baseline_weeks
    from judged

),

spread as (

    select
        baselines.*,
        greatest(
            {{ median_of(deviations_from_baseline) }}, {{ var('deviation_min_mad_kw') }}
        ) as baseline_mad_kw
    from baselines

),

scored as (

    select
        meter_id,
        channel,
        timezone,
        hour_start_at,
        local_hour_start_at,
        hour_of_week,
        kw,
        readings,
        estimated_readings,
        baseline_kw,
        baseline_mad_kw,
        baseline_weeks,
        case
            when baseline_weeks >= {{ var('deviation_min_baseline_weeks') }}
                then (kw - baseline_kw) / (1.4826 * baseline_mad_kw)
        end as robust_z,
        coalesce(
            baseline_weeks >= {{ var('deviation_min_baseline_weeks') }}
            and abs(kw - baseline_kw) / (1.4826 * baseline_mad_kw)
            > {{ var('deviation_z_threshold') }},
            false
        ) as is_deviation,
        cast(local_hour_start_at as date) as local_date,
        cast({{ dbt.date_trunc('month', 'local_hour_start_at') }} as date) as local_month
    from spread

)

select * from scored
