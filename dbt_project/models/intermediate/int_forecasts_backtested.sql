{#- Every complete meter-hour with what each baseline method would have forecast for it:
      like_day_average          mean of the same weekday and hour over the var like_day_weeks
                                weeks before (MDM like-day estimation); the same for a forecast
                                made 1 or 7 days ahead
      naive_persistence         the same hour `horizon` days before (1: yesterday, 7: last week)
    Forecasts use only days before the forecast was made. -#}
{{ config(materialized='table') }}
{%- set weeks = var('like_day_weeks') %}

with

meter_hours as (

    select * from {{ ref('int_meter_hours_localized') }}

),

history as (

    select
        meter_hours.*,
        {%- for week in range(1, weeks + 1) %}
            case
                when
                    lag(local_date, {{ week }}) over same_weekday_hour
                    = {{ dbt.dateadd('day', -7 * week, 'local_date') }}
                    then lag(kw, {{ week }}) over same_weekday_hour
            end as week_{{ week }}_kw,
        {%- endfor %}
        case
            when lag(local_date) over same_hour = {{ dbt.dateadd('day', -1, 'local_date') }}
                then lag(kw) over same_hour
        end as yesterday_kw
    from meter_hours
    window
        same_weekday_hour as (partition by meter_id, local_hour, iso_weekday order by local_date),
        same_hour as (partition by meter_id, local_hour order by local_date)

),

forecasts as (

    {%- for horizon in [1, 7] %}
        select
            meter_id,
            local_date,
            local_hour,
            kw as actual_kw,
            'like_day_average' as forecast_method,
            {{ horizon }} as horizon_days,
            (
                {%- for week in range(1, weeks + 1) %}
                    coalesce(week_{{ week }}_kw, 0){{ " +" if not loop.last }}
                {%- endfor %}
            ) / nullif(
                {%- for week in range(1, weeks + 1) %}
                    case
                        when week_{{ week }}_kw is null then 0 else 1
                    end{{ " +" if not loop.last }}
                {%- endfor %}, 0
            ) as forecast_kw
        from history
        union all
        select
            meter_id,
            local_date,
            local_hour,
            kw as actual_kw,
            'naive_persistence' as forecast_method,
            {{ horizon }} as horizon_days,
            {{ 'yesterday_kw' if horizon == 1 else 'week_1_kw' }} as forecast_kw
        from history
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select * from forecasts
where forecast_kw is not null
