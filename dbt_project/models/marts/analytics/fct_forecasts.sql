{#- Day-ahead forecasts per meter and for the fleet (the meters summed): for the local day after
    each meter's last healthy complete day (int_meter_hours_screened), per local hour, by the
    like-day average (the mean of the same weekday and hour over the var like_day_weeks weeks
    before), naive persistence (the same hour yesterday), the same-hour median over the
    var median_baseline_days days before, and the learned model's latest forecast for the meter
    (source forecasts.learned_forecasts, with its P10-P90 range). forecast_accuracy says how
    each did in the backtest. The fleet sums mean-type forecasts (the learned model's mean). -#}
{%- set weeks = var('like_day_weeks') %}
{%- set median_days = var('median_baseline_days') %}

with

meter_hours as (

    select * from {{ ref('int_meter_hours_screened') }}

),

targets as (

    select
        meter_id,
        {{ dbt.dateadd('day', 1, 'max(local_date)') }} as forecast_date
    from meter_hours
    group by meter_id

),

like_days as (

    select
        targets.meter_id,
        cast(targets.forecast_date as date) as forecast_date,
        meter_hours.local_hour,
        'like_day_average' as forecast_method,
        avg(meter_hours.kw) as forecast_kw,
        count(*) as based_on_days
    from targets
    inner join meter_hours
        on
            targets.meter_id = meter_hours.meter_id
            and targets.forecast_date > meter_hours.local_date
            and meter_hours.local_date
            >= {{ dbt.dateadd('day', -7 * weeks, 'targets.forecast_date') }}
            and meter_hours.iso_weekday
            = {{ iso_weekday('targets.forecast_date') }}
    group by targets.meter_id, cast(targets.forecast_date as date), meter_hours.local_hour

),

persistence as (

    select
        targets.meter_id,
        cast(targets.forecast_date as date) as forecast_date,
        meter_hours.local_hour,
        'naive_persistence' as forecast_method,
        meter_hours.kw as forecast_kw,
        1 as based_on_days
    from targets
    inner join meter_hours
        on
            targets.meter_id = meter_hours.meter_id
            and meter_hours.local_date
            = cast({{ dbt.dateadd('day', -1, 'targets.forecast_date') }} as date)

),

medians as (

    select
        targets.meter_id,
        cast(targets.forecast_date as date) as forecast_date,
        meter_hours.local_hour,
        'same_hour_median' as forecast_method,
        {{ median('meter_hours.kw') }} as forecast_kw,
        count(*) as based_on_days
    from targets
    inner join meter_hours
        on
            targets.meter_id = meter_hours.meter_id
            and targets.forecast_date > meter_hours.local_date
            and meter_hours.local_date
            >= {{ dbt.dateadd('day', -median_days, 'targets.forecast_date') }}
    group by targets.meter_id, cast(targets.forecast_date as date), meter_hours.local_hour
    having count(*) * 2 >= {{ median_days }}

),

learned_latest as (

    select
        meter_id,
        max(local_date) as forecast_date
    from {{ source('forecasts', 'learned_forecasts') }}
    group by meter_id

),

learned as (

    select
        learned.meter_id,
        learned.local_date as forecast_date,
        learned.local_hour,
        learned.forecast_method,
        learned.forecast_kw,
        learned.p10_kw,
        learned.p90_kw,
        learned.mean_kw
    from {{ source('forecasts', 'learned_forecasts') }} as learned
    inner join learned_latest
        on
            learned.meter_id = learned_latest.meter_id
            and learned.local_date = learned_latest.forecast_date
    where learned.meter_id in (select meter_id from targets)

),

meters as (

    {%- for baseline in ['like_days', 'persistence', 'medians'] %}
        select
            'meter' as scope,
            meter_id,
            forecast_date,
            local_hour,
            forecast_method,
            forecast_kw,
            cast(null as {{ type_double() }}) as p10_kw,
            cast(null as {{ type_double() }}) as p90_kw,
            forecast_kw as mean_kw,
            based_on_days
        from {{ baseline }}
        union all
    {%- endfor %}
    select
        'meter' as scope,
        meter_id,
        forecast_date,
        local_hour,
        forecast_method,
        forecast_kw,
        p10_kw,
        p90_kw,
        mean_kw,
        cast(null as integer) as based_on_days
    from learned

),

fleet as (

    select
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        meters.forecast_date,
        meters.local_hour,
        meters.forecast_method,
        sum(meters.mean_kw) as forecast_kw,
        cast(null as {{ type_double() }}) as p10_kw,
        cast(null as {{ type_double() }}) as p90_kw,
        sum(meters.mean_kw) as mean_kw,
        count(*) as based_on_days
    from meters
    group by meters.forecast_date, meters.local_hour, meters.forecast_method

),

final as (

    select * from meters
    union all
    select * from fleet

)

select * from final
