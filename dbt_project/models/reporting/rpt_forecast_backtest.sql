{#- The fleet's day-ahead backtest per local date, hour and method: actual and forecast kW on
    the hours every method forecast (int_forecasts_scored), with how many days each date lies
    before the latest one (the report draws the last two weeks). -#}

with

day_ahead as (

    select
        local_date,
        local_hour,
        forecast_method,
        actual_kw,
        forecast_kw
    from {{ ref('int_forecasts_scored') }}
    where scope = 'fleet' and horizon_days = 1

),

latest as (

    select max(local_date) as latest_date
    from day_ahead

)

select
    cast(day_ahead.local_date as date) as local_date,
    cast(day_ahead.local_hour as integer) as local_hour,
    cast(day_ahead.forecast_method as {{ dbt.type_string() }}) as forecast_method,
    cast(day_ahead.actual_kw as {{ type_double() }}) as actual_kw,
    cast(day_ahead.forecast_kw as {{ type_double() }}) as forecast_kw,
    cast(
        {{ minutes_between(
            'cast(day_ahead.local_date as timestamp)', 'cast(latest.latest_date as timestamp)'
        ) }} / 1440 as integer
    ) as days_before_latest
from day_ahead
cross join latest
