{#- How good the baseline forecasts would have been over the last var backtest_days of each
    meter's history (and for the fleet: the sum of the healthy meters), per method and horizon:
    MAE in kW, MAPE over hours above var mape_min_kw, and skill against naive persistence at the
    same horizon (1 - MAE / MAE of naive; above 0 means better than naive). -#}

with

last_dates as (

    select
        meter_id,
        max(local_date) as last_date
    from {{ ref('int_forecasts_backtested') }}
    group by meter_id

),

recent as (

    -- Each meter's last var backtest_days, by a join (a window function over the whole
    -- history would sort all of it); the first condition drops older rows before the join.
    select forecasts.*
    from {{ ref('int_forecasts_backtested') }} as forecasts
    inner join last_dates as meter_last on forecasts.meter_id = meter_last.meter_id
    where
        forecasts.local_date > (
            select {{ dbt.dateadd('day', -var('backtest_days'), 'min(last_date)') }}
            from last_dates
        )
        and forecasts.local_date
        > {{ dbt.dateadd('day', -var('backtest_days'), 'meter_last.last_date') }}

),

fleet as (

    select
        cast(null as {{ dbt.type_string() }}) as meter_id,
        recent.local_date,
        recent.local_hour,
        recent.forecast_method,
        recent.horizon_days,
        sum(recent.actual_kw) as actual_kw,
        sum(recent.forecast_kw) as forecast_kw
    from recent
    inner join {{ ref('meter_health') }} as health
        on recent.meter_id = health.meter_id
    where not health.is_excluded_from_peaks
    group by recent.local_date, recent.local_hour, recent.forecast_method, recent.horizon_days

),

scored as (

    select
        'meter' as scope,
        meter_id,
        forecast_method,
        horizon_days,
        actual_kw,
        forecast_kw,
        local_date
    from recent
    union all
    select
        'fleet' as scope,
        meter_id,
        forecast_method,
        horizon_days,
        actual_kw,
        forecast_kw,
        local_date
    from fleet

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
        100.0 * avg(
            case
                when actual_kw >= {{ var('mape_min_kw') }}
                    then abs(forecast_kw - actual_kw) / actual_kw
            end
        ) as mape_pct
    from scored
    group by scope, meter_id, forecast_method, horizon_days

),

final as (

    select
        metrics.*,
        1 - metrics.mae_kw / nullif(naive.mae_kw, 0) as skill_vs_naive
    from metrics
    left join metrics as naive
        on
            metrics.scope = naive.scope
            and coalesce(naive.meter_id, '') = coalesce(metrics.meter_id, '')
            and metrics.horizon_days = naive.horizon_days
            and naive.forecast_method = 'naive_persistence'

)

select * from final
