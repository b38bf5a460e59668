{#- How good each forecast method would have been over the last var backtest_days, per meter and
    for the fleet, per method and horizon, on exactly the same hours for every method
    (int_forecasts_scored): MAE and RMSE in kW, MAPE over hours whose actual is at least
    var mape_min_kw, skill against naive persistence at the same horizon (1 - MAE / MAE of naive,
    and the same on RMSE; above 0 beats naive), and for the learned model the share of actuals
    inside its P10-P90 range. -#}

with

scored as (

    select * from {{ ref('int_forecasts_scored') }}

),

metrics as (

    select
        scope,
        meter_id,
        forecast_method,
        horizon_days,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as hours_scored,
        avg(abs(forecast_kw - actual_kw)) as mae_kw,
        sqrt(avg((forecast_kw - actual_kw) * (forecast_kw - actual_kw))) as rmse_kw,
        100.0 * avg(
            case
                when actual_kw >= {{ var('mape_min_kw') }}
                    then abs(forecast_kw - actual_kw) / actual_kw
            end
        ) as mape_pct,
        avg(
            case
                when p10_kw is not null and p90_kw is not null
                    then case when actual_kw between p10_kw and p90_kw then 1.0 else 0.0 end
            end
        ) as p10_p90_coverage
    from scored
    group by scope, meter_id, forecast_method, horizon_days

),

final as (

    select
        metrics.*,
        1 - metrics.mae_kw / nullif(naive.mae_kw, 0) as skill_vs_naive,
        1 - metrics.rmse_kw / nullif(naive.rmse_kw, 0) as rmse_skill_vs_naive
    from metrics
    left join metrics as naive
        on
            metrics.scope = naive.scope
            and coalesce(naive.meter_id, '') = coalesce(metrics.meter_id, '')
            and metrics.horizon_days = naive.horizon_days
            and naive.forecast_method = 'naive_persistence'

)

select * from final
