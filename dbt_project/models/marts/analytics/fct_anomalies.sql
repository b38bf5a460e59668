{#- Anomalies, one row each, with what was expected, a score and the reason:
      interval  readings flagged as outliers (above max_plausible_kw, or a spike); expected is
                the meter's usual demand for that hour of the week, or, without enough
                history for that, its average demand that day
      hour      hours whose robust z against the same hour of the week over baseline_days is
                beyond deviation_z_threshold (int_meter_hours_scored)
      day       complete days whose energy is beyond var anomaly_day_z_threshold robust z from the
                same weekday in the like_day_weeks weeks before -#}
{%- set weeks = var('like_day_weeks') %}
{%- set like_days = [] %}
{%- set like_day_spreads = [] %}
{%- for week in range(1, weeks + 1) %}
    {%- do like_days.append('week_' ~ week ~ '_kwh') %}
    {%- do like_day_spreads.append('abs(week_' ~ week ~ '_kwh - expected_kwh)') %}
{%- endfor %}

with

interval_outliers as (

    -- Expected: the hour-of-week baseline where the meter has one (int_meter_hours_scored),
    -- else the day's average demand; the spread: the baseline's MAD, else a tenth of expected
    -- (at least 0.1 kW), as the day anomalies do.
    select
        fct_readings.meter_id,
        'interval' as anomaly_level,
        fct_readings.reading_start_at as period_start_at,
        fct_readings.reading_end_at as period_end_at,
        fct_readings.kw as observed,
        coalesce(meter_hours.baseline_kw, meter_days.kwh / 24.0) as expected,
        'kW' as unit,
        (fct_readings.kw - coalesce(meter_hours.baseline_kw, meter_days.kwh / 24.0))
        / (
            1.4826 * coalesce(
                nullif(meter_hours.baseline_mad_kw, 0),
                greatest(0.1 * coalesce(meter_hours.baseline_kw, meter_days.kwh / 24.0), 0.1)
            )
        ) as score,
        fct_readings.outlier_reason as reason
    from {{ ref('fct_readings') }} as fct_readings
    left join {{ ref('int_meter_hours_scored') }} as meter_hours
        on
            fct_readings.meter_id = meter_hours.meter_id
            and fct_readings.channel = meter_hours.channel
            and {{ dbt.date_trunc('hour', 'fct_readings.reading_start_at') }}
            = meter_hours.hour_start_at
    left join {{ ref('fct_daily_consumption') }} as meter_days
        on
            fct_readings.meter_id = meter_days.meter_id
            and fct_readings.reading_start_at >= meter_days.day_start_at
            and fct_readings.reading_start_at < meter_days.day_end_at
    where fct_readings.is_outlier

),

hour_deviations as (

    select
        meter_id,
        'hour' as anomaly_level,
        hour_start_at as period_start_at,
        {{ dbt.dateadd('hour', 1, 'hour_start_at') }} as period_end_at,
        kw as observed,
        baseline_kw as expected,
        'kW' as unit,
        robust_z as score,
        'hour_of_week_deviation' as reason
    from {{ ref('int_meter_hours_scored') }}
    where is_deviation

),

complete_days as (

    select
        meter_id,
        local_date,
        day_start_at,
        day_end_at,
        kwh,
        {{ iso_weekday('local_date') }} as iso_weekday
    from {{ ref('fct_daily_consumption') }}
    where is_complete

),

like_day_history as (

    select
        {%- for week in range(1, weeks + 1) %}
            case
                when
                    lag(local_date, {{ week }}) over same_weekday
                    = {{ dbt.dateadd('day', -7 * week, 'local_date') }}
                    then lag(kwh, {{ week }}) over same_weekday
            end as week_{{ week }}_kwh,
        {%- endfor %}
        complete_days.*
    from complete_days
    window same_weekday as (partition by meter_id, iso_weekday order by local_date)

),

like_day_baselines as (

    select
        like_day_history.*,
        {{ median_of(like_days) }} as expected_kwh
    from like_day_history

),

day_scores as (

    select
        like_day_baselines.*,
        (kwh - expected_kwh) / (
            1.4826 * greatest(
                {{ median_of(like_day_spreads) }}, 0.1 * expected_kwh, 0.1
            )
        ) as score
    from like_day_baselines
    where expected_kwh is not null

),

day_anomalies as (

    select
        meter_id,
        'day' as anomaly_level,
        day_start_at as period_start_at,
        day_end_at as period_end_at,
        kwh as observed,
        expected_kwh as expected,
        'kWh' as unit,
        score,
        'day_total_vs_like_days' as reason
    from day_scores
    where abs(score) > {{ var('anomaly_day_z_threshold') }}

),

anomalies as (

    select * from interval_outliers
    union all
    select * from hour_deviations
    union all
    select * from day_anomalies

)

select * from anomalies
