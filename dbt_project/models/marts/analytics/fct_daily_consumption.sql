{#- Per meter and local day: energy, peak demand and when, how much was estimated. A day is
    complete when every interval of its local day (46, 48 or 50 half hours around DST) is
    published and no long gap (meter_gaps) touches it; incomplete days are kept, flagged.

    The known energy of a long register gap (int_register_gap_energy: exact in amount, unknown
    in timing) counts in the days it spans, shared in proportion to the time each day has of
    it: `kwh` includes it and `gap_kwh` says how much; a day wholly inside such a gap has a row
    with no readings. Incremental: the meter-days around newly loaded data, and the days of
    gaps their reads close, are rebuilt. -#}
{%- set window = scope_window(ref('int_readings_validated'), 'fct_daily_consumption') %}
{#- The earliest start to read when reads loaded since the watermark close register gaps: a day
    before the earliest such gap, or the window's start if that is earlier (none when no new
    read closes a gap). #}
{%- set gap_energy = ref('int_register_gap_energy') %}
{%- set gaps_start = none %}
{%- if execute and is_incremental() %}
    {%- set found = run_query(
        "select cast(min(gap_start_at) as date) from " ~ gap_energy
        ~ " where load_id > " ~ watermark('fct_daily_consumption')
    ) %}
    {%- if found and found[0][0] is not none %}
        {%- set first = modules.datetime.date.fromisoformat(found[0][0] | string) %}
        {%- set start = first - modules.datetime.timedelta(days=1) %}
        {%- set gaps_start = "least(" ~ window.start ~ ", cast('" ~ start.isoformat() ~ "' as timestamp))" %}
    {%- endif %}
{%- endif %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['local_date']]),
        incremental_strategy='append',
        pre_hook=[
            "{{ delete_local_days_touched(ref('int_readings_validated'), 'fct_daily_consumption') }}",
            "{% call delete_scope() %}
                exists (
                    select 1
                    from {{ ref('int_register_gap_days') }} as gap_days
                    where
                        gap_days.closing_load_id > {{ watermark('fct_daily_consumption') }}
                        and gap_days.meter_id = {{ this }}.meter_id
                        and gap_days.local_date = {{ this }}.local_date
                )
            {% endcall %}",
        ],
        post_hook=[
            "{{ store_in_time_order('local_date') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'local_date') }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

{% if is_incremental() %}
scope as (

    {{ local_days_touched(ref('int_readings_validated'), 'fct_daily_consumption') }}
    union
    -- the days of gaps that new reads close (a gap's first and last days have readings too)
    select gap_days.meter_id, gap_days.local_date
    from {{ ref('int_register_gap_days') }} as gap_days
    where gap_days.closing_load_id > {{ watermark('fct_daily_consumption') }}

),
{% endif %}

readings as (

    select readings.*
    from {{ ref('int_readings_localized') }} as readings
    {%- if is_incremental() %}
    inner join scope
        on
            readings.meter_id = scope.meter_id
            and readings.local_date = scope.local_date
    where
        readings.reading_start_at >= {{ gaps_start or window.start }}
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
        sum(case when is_source_estimated then 1 else 0 end) as source_estimated_readings,
        sum(kwh) as kwh,
        max(kw) as peak_kw,
        max(case when demand_rank = 1 then reading_start_at end) as peak_at,
        max(case when demand_rank = 1 then local_start_at end) as peak_local_at
    from ranked
    group by meter_id, timezone, local_date

),

gap_days as (

    select gap_days.*
    from {{ ref('int_register_gap_days') }} as gap_days
    {%- if is_incremental() %}
    inner join scope
        on
            gap_days.meter_id = scope.meter_id
            and gap_days.local_date = scope.local_date
    {%- endif %}

),

gap_energy as (

    select
        meter_id,
        timezone,
        local_date,
        min(interval_minutes) as interval_minutes,
        sum(gap_kwh) as gap_kwh
    from gap_days
    group by meter_id, timezone, local_date

),

with_gap_energy as (

    select
        coalesce(daily.meter_id, gap_energy.meter_id) as meter_id,
        coalesce(daily.timezone, gap_energy.timezone) as timezone,
        coalesce(daily.local_date, gap_energy.local_date) as local_date,
        coalesce(daily.interval_minutes, gap_energy.interval_minutes) as interval_minutes,
        coalesce(daily.readings, 0) as readings,
        coalesce(daily.estimated_readings, 0) as estimated_readings,
        coalesce(daily.source_estimated_readings, 0) as source_estimated_readings,
        coalesce(daily.kwh, 0) + coalesce(gap_energy.gap_kwh, 0) as kwh,
        coalesce(gap_energy.gap_kwh, 0) as gap_kwh,
        daily.peak_kw,
        daily.peak_at,
        daily.peak_local_at
    from daily
    full outer join gap_energy
        on
            daily.meter_id = gap_energy.meter_id
            and daily.local_date = gap_energy.local_date

),

bounds as (

    select
        with_gap_energy.*,
        {{ wall_clock_to_utc('cast(local_date as timestamp)', 'timezone') }} as day_start_at,
        {{ wall_clock_to_utc(dbt.dateadd('day', 1, 'cast(local_date as timestamp)'), 'timezone') }}
            as day_end_at
    from with_gap_energy

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
                and gaps.channel_kind = 'consumption'
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
        gap_kwh,
        peak_kw,
        peak_at,
        peak_local_at,
        readings,
        expected_readings,
        estimated_readings,
        1.0 * estimated_readings / nullif(readings, 0) as estimated_share,
        source_estimated_readings,
        1.0 * source_estimated_readings / nullif(readings, 0) as source_estimated_share,
        touches_long_gap,
        coalesce(readings = expected_readings and not touches_long_gap, false) as is_complete
    from with_gaps

)

select * from final
