{#- The fleet's forecast for its latest forecast date, per local hour and method
    (fct_forecasts, scope fleet). -#}

with

fleet as (

    select
        forecast_date,
        local_hour,
        forecast_method,
        forecast_kw
    from {{ ref('fct_forecasts') }}
    where scope = 'fleet'

),

latest as (

    select max(forecast_date) as forecast_date
    from fleet

)

select
    cast(fleet.forecast_date as date) as forecast_date,
    cast(fleet.local_hour as integer) as local_hour,
    cast(fleet.forecast_method as {{ dbt.type_string() }}) as forecast_method,
    cast(fleet.forecast_kw as {{ type_double() }}) as forecast_kw
from fleet
inner join latest on fleet.forecast_date = latest.forecast_date
where fleet.forecast_kw is not null
