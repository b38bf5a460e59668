{#- Each meter-hour against the meter's own history: the same local hour of the week over the
    trailing var baseline_days. The baseline is the median of those earlier hours and its spread
    the MAD (median absolute deviation, floored at var deviation_min_mad_kw); the robust z-score
    is (kW - median) / (1.4826 x MAD). An hour is judged only with at least
    var deviation_min_baseline_weeks earlier hours. -#}
{{ config(materialized='table') }}
{%- set weeks = (var('baseline_days') / 7) | round(0, 'floor') | int %}
{%- set week_columns = [] %}
{%- set deviations_from_baseline = [] %}
{%- for week in range(1, weeks + 1) %}
    {%- do week_columns.append('week_' ~ week ~ '_kw') %}
    {%- do deviations_from_baseline.append('abs(week_' ~ week ~ '_kw - baseline_kw)') %}
{%- endfor %}

with

readings as (

    select
        fct_readings.meter_id,
        fct_readings.channel,
        fct_readings.reading_start_at,
        fct_readings.kw,
        fct_readings.is_estimated,
        coalesce(dim_meters.timezone, 'UTC') as timezone
    from {{ ref('fct_readings') }} as fct_readings
    left join {{ ref('dim_meters') }} as dim_meters
        on fct_readings.meter_id = dim_meters.meter_id
    where fct_readings.channel in ({{ "'" ~ var('health_checked_channels') | join("', '") ~ "'" }})

),

hourly as (

    select
        meter_id,
        channel,
        timezone,
        {{ dbt.date_trunc('hour', 'reading_start_at') }} as hour_start_at,
        avg(kw) as kw,
        count(*) as readings,
        sum(case when is_estimated then 1 else 0 end) as estimated_readings
    from readings
    group by meter_id, channel, timezone, {{ dbt.date_trunc('hour', 'reading_start_at') }}

),

localized as (

    select
        hourly.*,
        {{ utc_to_wall_clock('hour_start_at', 'timezone') }} as local_hour_start_at
    from hourly

),

with_hour_of_week as (

    select
        localized.*,
        cast(extract(isodow from local_hour_start_at) as integer) * 24
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

baselines as (

    select
        history.*,
        {{ median_of(week_columns) }} as baseline_kw,
        (
            {%- for column in week_columns %}
                case when {{ column }} is not null then 1 else 0 end{{ " +" if not loop.last }}
            {%- endfor %}
        ) as baseline_weeks
    from history

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
        ) as is_deviation
    from spread

)

select * from scored
