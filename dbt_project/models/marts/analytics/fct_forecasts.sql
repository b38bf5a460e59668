{#- Day-ahead forecasts per meter and for the fleet (the healthy meters summed): for the local
    day after each meter's last complete day, per local hour, by the like-day average (the
    mean of the same weekday and hour over the var like_day_weeks weeks before) and by naive
    persistence (the same hour yesterday), so forecast_accuracy can judge them. -#}
{%- set weeks = var('like_day_weeks') %}

with

meter_hours as (

    select * from {{ ref('int_meter_hours_localized') }}

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

meters as (

    select
        'meter' as scope,
        meter_id,
        forecast_date,
        local_hour,
        forecast_method,
        forecast_kw,
        based_on_days
    from like_days
    union all
    select
        'meter' as scope,
        meter_id,
        forecast_date,
        local_hour,
        forecast_method,
        forecast_kw,
        based_on_days
    from persistence

),

fleet as (

    select
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        meters.forecast_date,
        meters.local_hour,
        meters.forecast_method,
        sum(meters.forecast_kw) as forecast_kw,
        count(*) as based_on_days
    from meters
    inner join {{ ref('meter_health') }} as health
        on meters.meter_id = health.meter_id
    where not health.is_excluded_from_peaks
    group by meters.forecast_date, meters.local_hour, meters.forecast_method

),

final as (

    select * from meters
    union all
    select * from fleet

)

select * from final
