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
{{ config(materialized='table') }}
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

counted as (

    -- How many methods forecast each meter-hour, and how many forecast the meter (and the
    -- fleet) at that horizon: windows, not joins (one row per method and hour).
    select
        recent.*,
        count(*) over (
            partition by meter_id, local_date, local_hour, horizon_days
        ) as hour_methods,
        dense_rank() over (
            partition by meter_id, horizon_days order by forecast_method
        ) as meter_method_rank,
        dense_rank() over (partition by horizon_days order by forecast_method) as fleet_method_rank
    from recent

),

method_counts as (

    select
        counted.*,
        max(meter_method_rank) over (partition by meter_id, horizon_days) as meter_methods,
        max(fleet_method_rank) over (partition by horizon_days) as fleet_methods,
        max(last_date) over (partition by horizon_days) as fleet_last_date
    from counted

),

meter_scored as (

    select
        'meter' as scope,
        meter_id,
        local_date,
        local_hour,
        forecast_method,
        horizon_days,
        actual_kw,
        forecast_kw,
        p10_kw,
        p90_kw
    from method_counts
    where hour_methods = meter_methods

),

fleet_scored as (

    select
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        local_date,
        local_hour,
        forecast_method,
        horizon_days,
        sum(actual_kw) as actual_kw,
        sum(mean_kw) as forecast_kw,
        cast(null as {{ type_double() }}) as p10_kw,
        cast(null as {{ type_double() }}) as p90_kw
    from method_counts
    where
        hour_methods = fleet_methods
        and local_date > {{ dbt.dateadd('day', -days, 'fleet_last_date') }}
    group by local_date, local_hour, forecast_method, horizon_days

),

final as (

    select * from meter_scored
    union all
    select * from fleet_scored

)

select * from final
