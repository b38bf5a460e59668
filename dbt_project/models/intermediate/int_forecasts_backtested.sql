{#- Every complete meter-hour with what each baseline method would have forecast for it:
      like_day_average          mean of the same weekday and hour over the var like_day_weeks
                                weeks before (MDM like-day estimation); the same for a forecast
                                made 1 or 7 days ahead
      naive_persistence         the same hour `horizon` days before (1: yesterday, 7: last week)
      same_hour_median          the median of the same hour over the var median_baseline_days
                                days before the forecast was made (days present; at least half
                                of them), with the dispatched median aggregate
    Forecasts use only days before the forecast was made. -#}
{%- set weeks = var('like_day_weeks') %}
{%- set median_days = var('median_baseline_days') %}
{%- set window = scope_window(ref('int_readings_validated'), 'int_forecasts_backtested', 7 * weeks + 1, 7 * weeks) %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['local_date']]),
        incremental_strategy='append',
        pre_hook="{{ delete_local_days_touched(ref('int_readings_validated'), 'int_forecasts_backtested', 'local_date', 7 * var('like_day_weeks')) }}",
        post_hook=[
            "{{ store_in_time_order('local_date') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'local_date', 7 * var('like_day_weeks')) }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

history_start as (

    -- A full build backtests the last var backtest_days of each meter (what forecast_accuracy
    -- reads); an incremental one the touched days and the weeks their history feeds.
    {% if is_incremental() %}
        select
            meter_id,
            {{ dbt.dateadd('day', -(7 * weeks + 1), 'min(local_date)') }} as start_date
        from ({{ local_days_touched(ref('int_readings_validated'), 'int_forecasts_backtested', 7 * weeks) }}) as touched
        group by meter_id
    {% else %}
        select
            meter_id,
            {{ dbt.dateadd('day', -(var('backtest_days') + 7 * weeks + 1), 'max(local_date)') }}
                as start_date
        from {{ ref('int_meter_hours_localized') }}
        group by meter_id
    {% endif %}

),

meter_hours as (

    select meter_hours.*
    from {{ ref('int_meter_hours_localized') }} as meter_hours
    inner join history_start
        on
            meter_hours.meter_id = history_start.meter_id
            and meter_hours.local_date > history_start.start_date
    {%- if is_incremental() %}
    where
        meter_hours.local_date >= cast({{ window.start }} as date)
        and meter_hours.local_date < cast({{ window.end }} as date)
    {%- endif %}

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

targets as (

    -- The meter-hours this build writes.
    select history.*
    from history
    {%- if is_incremental() %}
    inner join ({{ local_days_touched(ref('int_readings_validated'), 'int_forecasts_backtested', 7 * weeks) }}) as scope
        on
            history.meter_id = scope.meter_id
            and history.local_date = scope.local_date
    {%- endif %}

),

median_inputs as (

    -- Each target hour with the same hour of the days a median forecast may read (by a join,
    -- so that a missing day does not shift what a lag would find).
    select
        targets.meter_id,
        targets.local_date,
        targets.local_hour,
        targets.kw as actual_kw,
        earlier.local_date as earlier_date,
        earlier.kw as earlier_kw
    from targets
    inner join meter_hours as earlier
        on
            targets.meter_id = earlier.meter_id
            and targets.local_hour = earlier.local_hour
            and targets.local_date > earlier.local_date
            and targets.local_date
            <= {{ dbt.dateadd('day', 7 + median_days - 1, 'earlier.local_date') }}

),

medians as (

    {%- for horizon in [1, 7] %}
        select
            meter_id,
            local_date,
            local_hour,
            max(actual_kw) as actual_kw,
            'same_hour_median' as forecast_method,
            {{ horizon }} as horizon_days,
            {{ median('earlier_kw') }} as forecast_kw
        from median_inputs
        where
            earlier_date <= {{ dbt.dateadd('day', -horizon, 'local_date') }}
            and earlier_date > {{ dbt.dateadd('day', -(horizon + median_days), 'local_date') }}
        group by meter_id, local_date, local_hour
        having count(*) * 2 >= {{ median_days }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

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
        from targets
        union all
        select
            meter_id,
            local_date,
            local_hour,
            kw as actual_kw,
            'naive_persistence' as forecast_method,
            {{ horizon }} as horizon_days,
            {{ 'yesterday_kw' if horizon == 1 else 'week_1_kw' }} as forecast_kw
        from targets
        union all
    {%- endfor %}
    select * from medians

)

select * from forecasts
where forecast_kw is not null
