{#- Peak periods, from healthy meters (meter_health, is_excluded_from_peaks) and complete days
    (fct_daily_consumption) only. One row per peak:
      peak_type interval  the month's highest-demand interval (fleet: summed per
                          var fleet_interval_minutes slot; meter: its own intervals)
      peak_type day       the month's highest-energy day
      peak_type hour      the fleet's var peak_top_n highest hours over the whole history
    Fleet months are UTC months; a meter's months are its local months. Built from small
    tables (fleet slots, meter-days), so it is cheap to rebuild whole. -#}
{%- set slot_seconds = var('fleet_interval_minutes') * 60 %}

with

excluded_meters as (

    select meter_id from {{ ref('meter_health') }}
    where is_excluded_from_peaks

),

excluded_readings as (

    -- What the meters now excluded contributed to int_fleet_demand, to take back out.
    select
        readings.meter_id,
        readings.kw,
        {{ from_epoch_seconds(
            'floor(' ~ epoch_seconds('readings.reading_start_at') ~ ' / ' ~ slot_seconds
            ~ ') * ' ~ slot_seconds
        ) }} as slot_start_at
    from {{ ref('int_readings_localized') }} as readings
    inner join {{ ref('fct_daily_consumption') }} as complete_days
        on
            readings.meter_id = complete_days.meter_id
            and readings.local_date = complete_days.local_date
    where
        complete_days.is_complete
        and readings.meter_id in (select meter_id from excluded_meters)

),

excluded_meter_slots as (

    select
        meter_id,
        slot_start_at,
        avg(kw) as kw
    from excluded_readings
    group by meter_id, slot_start_at

),

excluded_slots as (

    select
        slot_start_at,
        sum(kw) as kw,
        count(*) as meters
    from excluded_meter_slots
    group by slot_start_at

),

fleet_slots as (

    select
        demand.slot_start_at,
        demand.kw - coalesce(excluded_slots.kw, 0) as kw,
        demand.meters - coalesce(excluded_slots.meters, 0) as meters
    from {{ ref('int_fleet_demand') }} as demand
    left join excluded_slots on demand.slot_start_at = excluded_slots.slot_start_at
    where demand.meters - coalesce(excluded_slots.meters, 0) > 0

),

healthy_days as (

    select complete_days.*
    from {{ ref('fct_daily_consumption') }} as complete_days
    where
        complete_days.is_complete
        and complete_days.meter_id not in (select meter_id from excluded_meters)

),

fleet_interval_peaks as (

    select
        'interval' as peak_type,
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        cast({{ dbt.date_trunc('month', 'slot_start_at') }} as date) as period_month,
        slot_start_at as period_start_at,
        {{ add_minutes('slot_start_at', var('fleet_interval_minutes')) }} as period_end_at,
        kw,
        kw * {{ var('fleet_interval_minutes') }} / 60.0 as kwh,
        meters,
        row_number() over (
            partition by {{ dbt.date_trunc('month', 'slot_start_at') }}
            order by kw desc, slot_start_at asc
        ) as peak_rank
    from fleet_slots

),

fleet_days as (

    select
        local_date,
        sum(kwh) as kwh,
        count(*) as meters
    from healthy_days
    group by local_date

),

fleet_day_peaks as (

    select
        'day' as peak_type,
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        cast({{ dbt.date_trunc('month', 'local_date') }} as date) as period_month,
        cast(local_date as timestamp) as period_start_at,
        {{ dbt.dateadd('day', 1, 'cast(local_date as timestamp)') }} as period_end_at,
        kwh / 24.0 as kw,
        kwh,
        meters,
        row_number() over (
            partition by {{ dbt.date_trunc('month', 'local_date') }}
            order by kwh desc, local_date asc
        ) as peak_rank
    from fleet_days

),

meter_interval_peaks as (

    select
        'interval' as peak_type,
        'meter' as scope,
        meter_id,
        cast({{ dbt.date_trunc('month', 'local_date') }} as date) as period_month,
        peak_at as period_start_at,
        {{ add_minutes('peak_at', 'interval_minutes') }} as period_end_at,
        peak_kw as kw,
        peak_kw * interval_minutes / 60.0 as kwh,
        1 as meters,
        row_number() over (
            partition by meter_id, {{ dbt.date_trunc('month', 'local_date') }}
            order by peak_kw desc, peak_at asc
        ) as peak_rank
    from healthy_days

),

meter_day_peaks as (

    select
        'day' as peak_type,
        'meter' as scope,
        meter_id,
        cast({{ dbt.date_trunc('month', 'local_date') }} as date) as period_month,
        day_start_at as period_start_at,
        day_end_at as period_end_at,
        kwh / 24.0 as kw,
        kwh,
        1 as meters,
        row_number() over (
            partition by meter_id, {{ dbt.date_trunc('month', 'local_date') }}
            order by kwh desc, local_date asc
        ) as peak_rank
    from healthy_days

),

fleet_hours as (

    select
        {{ dbt.date_trunc('hour', 'slot_start_at') }} as hour_start_at,
        avg(kw) as kw,
        min(meters) as meters
    from fleet_slots
    group by {{ dbt.date_trunc('hour', 'slot_start_at') }}
    having count(*) = {{ (60 / var('fleet_interval_minutes')) | int }}

),

top_hours as (

    select
        'hour' as peak_type,
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        cast({{ dbt.date_trunc('month', 'hour_start_at') }} as date) as period_month,
        hour_start_at as period_start_at,
        {{ dbt.dateadd('hour', 1, 'hour_start_at') }} as period_end_at,
        kw,
        kw as kwh,
        meters,
        row_number() over (order by kw desc, hour_start_at asc) as peak_rank
    from fleet_hours

),

peaks as (

    select * from fleet_interval_peaks
    where peak_rank = 1
    union all
    select * from fleet_day_peaks
    where peak_rank = 1
    union all
    select * from meter_interval_peaks
    where peak_rank = 1
    union all
    select * from meter_day_peaks
    where peak_rank = 1
    union all
    select * from top_hours
    where peak_rank <= {{ var('peak_top_n') }}

)

select * from peaks
