{#- Fleet demand per var fleet_interval_minutes slot (UTC): the sum over meters of each meter's
    average kW in the slot, from complete days only, with how many meters contributed. Meters
    later judged unhealthy are subtracted in fct_peak_periods, so this table never needs a
    rebuild when a meter's health changes. Incremental: the slots of the UTC days around new
    consumption data (its days, and two either side: a meter's local day, whose completeness
    decides, spans two UTC days), the same days local_days_touched gives. -#}
{%- set slot_seconds = var('fleet_interval_minutes') * 60 %}
{%- set slot_start -%}
    {{ from_epoch_seconds(
        'floor(' ~ epoch_seconds('readings.reading_start_at') ~ ' / ' ~ slot_seconds ~ ') * '
        ~ slot_seconds
    ) }}
{%- endset %}
{%- set window = scope_window(ref('int_readings_validated'), 'int_fleet_demand', 1, 1) %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['slot_start_at']]),
        incremental_strategy='append',
        pre_hook="{% call delete_scope() %}
            cast(slot_start_at as date) in (
                select scope.local_date
                from ({{ local_days_touched(ref('int_readings_validated'), 'int_fleet_demand') }}) as scope
            )
        {% endcall %}",
        post_hook=["{{ advance_watermark(ref('int_readings_validated')) }}"],
    )
}}

with

readings as (

    select readings.*
    from {{ ref('int_readings_localized') }} as readings
    inner join {{ ref('fct_daily_consumption') }} as complete_days
        on
            readings.meter_id = complete_days.meter_id
            and readings.local_date = complete_days.local_date
    where
        complete_days.is_complete
    {%- if is_incremental() %}
        and readings.reading_start_at >= {{ window.start }}
        and readings.reading_start_at < {{ window.end }}
        and cast(readings.reading_start_at as date) in (
            select scope.local_date
            from ({{ local_days_touched(ref('int_readings_validated'), 'int_fleet_demand') }}) as scope
        )
        {%- endif %}

),

meter_slots as (

    select
        readings.meter_id,
        {{ slot_start }} as slot_start_at,
        avg(readings.kw) as kw
    from readings
    group by readings.meter_id, {{ slot_start }}

),

fleet as (

    select
        slot_start_at,
        sum(kw) as kw,
        count(*) as meters
    from meter_slots
    group by slot_start_at

)

select * from fleet
