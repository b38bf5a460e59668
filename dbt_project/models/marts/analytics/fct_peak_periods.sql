{#- Peak periods, from healthy meters (meter_health, is_excluded_from_peaks) and complete days
    (fct_daily_consumption) only. One row per peak:
      peak_type interval  the month's highest-demand interval (fleet: summed per
                          var fleet_interval_minutes slot; meter: its own intervals)
      peak_type day       the month's highest-energy day
      peak_type hour      the fleet's var peak_top_n highest hours over the whole history
    Fleet months are UTC months; a meter's months are its local months. -#}
{%- set slot_seconds = var('fleet_interval_minutes') * 60 %}

with

usable as (

    select readings.*
    from {{ ref('int_readings_localized') }} as readings
    inner join {{ ref('fct_daily_consumption') }} as complete_days
        on
            readings.meter_id = complete_days.meter_id
            and readings.local_date = complete_days.local_date
    inner join {{ ref('meter_health') }} as health
        on readings.meter_id = health.meter_id
    where complete_days.is_complete and not health.is_excluded_from_peaks

),

meter_slots as (

    -- Each meter's average demand in each fleet slot (15-minute meters contribute the mean).
    select
        meter_id,
        {{ from_epoch_seconds(
            'floor(' ~ epoch_seconds('reading_start_at') ~ ' / ' ~ slot_seconds ~ ') * '
            ~ slot_seconds
        ) }} as slot_start_at,
        avg(kw) as kw
    from usable
    group by
        meter_id,
        {{ from_epoch_seconds(
            'floor(' ~ epoch_seconds('reading_start_at') ~ ' / ' ~ slot_seconds ~ ') * '
            ~ slot_seconds
        ) }}

),

fleet_slots as (

    select
        slot_start_at,
        sum(kw) as kw,
        count(*) as meters
    from meter_slots
    group by slot_start_at

),

fleet_interval_peaks as (

    select
        'interval' as peak_type,
        'fleet' as scope,
        cast(null as varchar) as meter_id,
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
        count(distinct meter_id) as meters
    from usable
    group by local_date

),

fleet_day_peaks as (

    select
        'day' as peak_type,
        'fleet' as scope,
        cast(null as varchar) as meter_id,
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
        reading_start_at as period_start_at,
        reading_end_at as period_end_at,
        kw,
        kwh,
        1 as meters,
        row_number() over (
            partition by meter_id, {{ dbt.date_trunc('month', 'local_date') }}
            order by kw desc, reading_start_at asc
        ) as peak_rank
    from usable

),

meter_day_peaks as (

    select
        'day' as peak_type,
        'meter' as scope,
        complete_days.meter_id,
        cast({{ dbt.date_trunc('month', 'complete_days.local_date') }} as date) as period_month,
        complete_days.day_start_at as period_start_at,
        complete_days.day_end_at as period_end_at,
        complete_days.kwh / 24.0 as kw,
        complete_days.kwh,
        1 as meters,
        row_number() over (
            partition by
                complete_days.meter_id, {{ dbt.date_trunc('month', 'complete_days.local_date') }}
            order by complete_days.kwh desc, complete_days.local_date asc
        ) as peak_rank
    from {{ ref('fct_daily_consumption') }} as complete_days
    inner join {{ ref('meter_health') }} as health
        on complete_days.meter_id = health.meter_id
    where complete_days.is_complete and not health.is_excluded_from_peaks

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
        cast(null as varchar) as meter_id,
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
