{#- Each method's backtest accuracy on the fleet, per horizon (forecast_accuracy, scope
    fleet). -#}

select
    cast(forecast_method as {{ dbt.type_string() }}) as forecast_method,
    cast(horizon_days as integer) as horizon_days,
    cast(first_date as date) as first_date,
    cast(last_date as date) as last_date,
    cast(hours_scored as bigint) as hours_scored,
    cast(mae_kw as {{ type_double() }}) as mae_kw,
    cast(rmse_kw as {{ type_double() }}) as rmse_kw,
    cast(mape_pct as {{ type_double() }}) as mape_pct,
    cast(skill_vs_naive as {{ type_double() }}) as skill_vs_naive
from {{ ref('forecast_accuracy') }}
where scope = 'fleet'
