{#- Per meter and local day: energy, peak demand and when, how much was estimated. A day is
    complete when every interval of its local day (46, 48 or 50 half hours around DST) is
    published and no long gap (meter_gaps) touches it; incomplete days are kept, flagged.
    Incremental: the meter-days around newly loaded data are rebuilt. -#}
{%- set window = scope_window('fct_daily_consumption') %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['local_date']]),
        incremental_strategy='append',
        pre_hook="{{ delete_local_days_touched('fct_daily_consumption') }}",
        post_hook=[
            "{{ store_in_time_order('local_date') }}",
            "{{ record_test_scope('local_date') }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

readings as (

    select readings.*
    from {{ ref('int_readings_localized') }} as readings
    {%- if is_incremental() %}
    inner join ({{ local_days_touched('fct_daily_consumption') }}) as scope
        on
            readings.meter_id = scope.meter_id
            and readings.local_date = scope.local_date
    where
        readings.reading_start_at >= {{ window.start }}
        and readings.reading_start_at < {{ window.end }}
    {%- endif %}

),

ranked as (

    select
        readings.*,
        row_number() over (
            partition by meter_id, local_date order by kw desc, reading_start_at asc
        ) as demand_rank
    from readings

),

daily as (

    select
        meter_id,
        timezone,
        local_date,
        min(interval_minutes) as interval_minutes,
        count(*) as readings,
        sum(case when is_estimated then 1 else 0 end) as estimated_readings,
        sum(kwh) as kwh,
        max(kw) as peak_kw,
        max(case when demand_rank = 1 then reading_start_at end) as peak_at,
        max(case when demand_rank = 1 then local_start_at end) as peak_local_at
    from ranked
    group by meter_id, timezone, local_date

),

bounds as (

    select
        daily.*,
        {{ wall_clock_to_utc('cast(local_date as timestamp)', 'timezone') }} as day_start_at,
        {{ wall_clock_to_utc(dbt.dateadd('day', 1, 'cast(local_date as timestamp)'), 'timezone') }}
            as day_end_at
    from daily

),

with_gaps as (

    select
        bounds.*,
        {{ minutes_between('day_start_at', 'day_end_at') }} / interval_minutes
            as expected_readings,
        exists(
            select 1
            from {{ ref('meter_gaps') }} as gaps
            where
                gaps.meter_id = bounds.meter_id
                and gaps.channel = '{{ var("consumption_channel") }}'
                and gaps.gap_start_at < bounds.day_end_at
                and gaps.gap_end_at > bounds.day_start_at
        ) as touches_long_gap
    from bounds

),

final as (

    select
        meter_id,
        local_date,
        timezone,
        interval_minutes,
        day_start_at,
        day_end_at,
        kwh,
        peak_kw,
        peak_at,
        peak_local_at,
        readings,
        expected_readings,
        estimated_readings,
        1.0 * estimated_readings / readings as estimated_share,
        touches_long_gap,
        readings = expected_readings and not touches_long_gap as is_complete
    from with_gaps

)

select * from final
