{#- Each meter's average demand per local hour, on complete days only: the series the
    forecasts learn from and are judged on. -#}
{{ config(materialized='table') }}

with

readings as (

    select readings.*
    from {{ ref('int_readings_localized') }} as readings
    inner join {{ ref('fct_daily_consumption') }} as complete_days
        on
            readings.meter_id = complete_days.meter_id
            and readings.local_date = complete_days.local_date
    where complete_days.is_complete

),

meter_hours as (

    select
        meter_id,
        local_date,
        local_hour,
        min(iso_weekday) as iso_weekday,
        avg(kw) as kw
    from readings
    group by meter_id, local_date, local_hour

)

select * from meter_hours
