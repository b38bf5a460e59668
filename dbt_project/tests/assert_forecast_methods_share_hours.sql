-- Every method of a scope (a meter, or the fleet) and horizon is scored on exactly the same
-- hours: each scored hour has every method, and forecast_accuracy counts the same hours and
-- days for each. Returns the scopes where that does not hold.

with

scored as (

    select
        scope,
        coalesce(meter_id, '') as meter_key,
        horizon_days,
        forecast_method,
        local_date,
        local_hour
    from {{ ref('int_forecasts_scored') }}

),

scope_methods as (

    select
        scope,
        meter_key,
        horizon_days,
        count(distinct forecast_method) as methods
    from scored
    group by scope, meter_key, horizon_days

),

hour_methods as (

    select
        scope,
        meter_key,
        horizon_days,
        local_date,
        local_hour,
        count(distinct forecast_method) as methods
    from scored
    group by scope, meter_key, horizon_days, local_date, local_hour

),

uneven_hours as (

    select
        hour_methods.scope,
        hour_methods.meter_key,
        hour_methods.horizon_days
    from hour_methods
    inner join scope_methods
        on
            hour_methods.scope = scope_methods.scope
            and hour_methods.meter_key = scope_methods.meter_key
            and hour_methods.horizon_days = scope_methods.horizon_days
    where hour_methods.methods <> scope_methods.methods

),

uneven_counts as (

    select
        scope,
        coalesce(meter_id, '') as meter_key,
        horizon_days
    from {{ ref('forecast_accuracy') }}
    group by scope, coalesce(meter_id, ''), horizon_days
    having
        count(distinct hours_scored) > 1
        or count(distinct first_date) > 1
        or count(distinct last_date) > 1

)

select * from uneven_hours
union all
select * from uneven_counts
