{#- The hours the backtest scores, per method and horizon, the same for every method:

    1. Candidates: the baselines (int_forecasts_backtested) and the learned forecasts (source
       forecasts.learned_forecasts), each against the healthy actual hour
       (int_meter_hours_screened: no outliers, nothing inside a fault or suspect episode),
       within each meter's last var backtest_days.
    2. A meter's hours are those where every method that forecast that meter at that horizon
       has a forecast; the fleet's are the meter-hours where every method forecast, summed
       per local day and hour over the fleet's last var backtest_days (the forecast summed is
       the mean-type one: mean_kw, which is the forecast itself for the baselines).
    tests/assert_forecast_methods_share_hours.sql proves the hour sets match. -#}
{%- set days = var('backtest_days') %}

with

healthy_hours as (

    select
        meter_id,
        local_date,
        local_hour,
        kw
    from {{ ref('int_meter_hours_screened') }}

),

last_dates as (

    select
        meter_id,
        max(local_date) as last_date
    from healthy_hours
    group by meter_id

),

candidates as (

    select
        meter_id,
        local_date,
        local_hour,
        forecast_method,
        horizon_days,
        forecast_kw,
        forecast_kw as mean_kw,
        cast(null as {{ type_double() }}) as p10_kw,
        cast(null as {{ type_double() }}) as p90_kw
    from {{ ref('int_forecasts_backtested') }}
    where
        local_date > (
            select {{ dbt.dateadd('day', -days, 'min(last_date)') }} from last_dates
        )
    union all
    select
        meter_id,
        local_date,
        local_hour,
        forecast_method,
        horizon_days,
        forecast_kw,
        mean_kw,
        p10_kw,
        p90_kw
    from {{ source('forecasts', 'learned_forecasts') }}
    where forecast_kw is not null

),

recent as (

    select
        candidates.*,
        healthy_hours.kw as actual_kw,
        last_dates.last_date
    from candidates
    inner join healthy_hours
        on
            candidates.meter_id = healthy_hours.meter_id
            and candidates.local_date = healthy_hours.local_date
            and candidates.local_hour = healthy_hours.local_hour
    inner join last_dates on candidates.meter_id = last_dates.meter_id
    where candidates.local_date > {{ dbt.dateadd('day', -days, 'last_dates.last_date') }}

),

hour_methods as (

    select
        meter_id,
        local_date,
        local_hour,
        horizon_days,
        count(distinct forecast_method) as methods
    from recent
    group by meter_id, local_date, local_hour, horizon_days

),

meter_methods as (

    select
        meter_id,
        horizon_days,
        count(distinct forecast_method) as methods
    from recent
    group by meter_id, horizon_days

),

fleet_methods as (

    select
        horizon_days,
        count(distinct forecast_method) as methods,
        {{ dbt.dateadd('day', -days, 'max(last_date)') }} as window_start
    from recent
    group by horizon_days

),

meter_scored as (

    select
        'meter' as scope,
        recent.meter_id,
        recent.local_date,
        recent.local_hour,
        recent.forecast_method,
        recent.horizon_days,
        recent.actual_kw,
        recent.forecast_kw,
        recent.p10_kw,
        recent.p90_kw
    from recent
    inner join hour_methods
        on
            recent.meter_id = hour_methods.meter_id
            and recent.local_date = hour_methods.local_date
            and recent.local_hour = hour_methods.local_hour
            and recent.horizon_days = hour_methods.horizon_days
    inner join meter_methods
        on
            recent.meter_id = meter_methods.meter_id
            and recent.horizon_days = meter_methods.horizon_days
    where hour_methods.methods = meter_methods.methods

),

fleet_scored as (

    select
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        recent.local_date,
        recent.local_hour,
        recent.forecast_method,
        recent.horizon_days,
        sum(recent.actual_kw) as actual_kw,
        sum(recent.mean_kw) as forecast_kw,
        cast(null as {{ type_double() }}) as p10_kw,
        cast(null as {{ type_double() }}) as p90_kw
    from recent
    inner join hour_methods
        on
            recent.meter_id = hour_methods.meter_id
            and recent.local_date = hour_methods.local_date
            and recent.local_hour = hour_methods.local_hour
            and recent.horizon_days = hour_methods.horizon_days
    inner join fleet_methods on recent.horizon_days = fleet_methods.horizon_days
    where
        hour_methods.methods = fleet_methods.methods
        and recent.local_date > fleet_methods.window_start
    group by recent.local_date, recent.local_hour, recent.forecast_method, recent.horizon_days

),

final as (

    select * from meter_scored
    union all
    select * from fleet_scored

)

select * from final
