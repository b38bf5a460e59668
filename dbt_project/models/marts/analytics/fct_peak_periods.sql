{#- Peak periods from complete days (fct_daily_consumption), without what analytics leave out:
    readings flagged as outliers, readings inside a finding on a consumption channel
    (meter_faults) and the meters meter_health excludes whole by its declared rule. A meter's
    healthy periods stay in. One row per peak:
      peak_type interval  the month's highest-demand interval (fleet: summed per
                          var fleet_interval_minutes slot, a meter's slot left out whole when one
                          of its readings in it is; meter: its own intervals)
      peak_type day       the month's highest-energy day (meter-days without a left-out reading)
      peak_type hour      the fleet's var peak_top_n highest hours over the whole history
    Fleet months are UTC months (days: local); a meter's months are its local months.
    excluded_energy_share says what share of the month's fleet energy the left-out readings
    carried. Built from small tables (fleet slots, meter-days) and the few left-out readings, so
    it is cheap to rebuild whole. -#}
{%- set slot_seconds = var('fleet_interval_minutes') * 60 %}

with

excluded_meters as (

    select meter_id from {{ ref('meter_health') }}
    where is_excluded_from_peaks

),

findings as (

    select
        meter_id,
        started_at,
        ended_at
    from {{ ref('meter_faults') }}
    where channel_kind = 'consumption'

),

complete_readings as (

    select
        readings.meter_id,
        readings.local_date,
        readings.reading_start_at,
        readings.reading_end_at,
        readings.interval_minutes,
        readings.kw,
        readings.is_outlier,
        {{ from_epoch_seconds(
            'floor(' ~ epoch_seconds('readings.reading_start_at') ~ ' / ' ~ slot_seconds
            ~ ') * ' ~ slot_seconds
        ) }} as slot_start_at
    from {{ ref('int_readings_localized') }} as readings
    inner join {{ ref('fct_daily_consumption') }} as complete_days
        on
            readings.meter_id = complete_days.meter_id
            and readings.local_date = complete_days.local_date
    where complete_days.is_complete

),

left_out_readings as (

    select
        meter_id,
        local_date,
        reading_start_at,
        slot_start_at
    from complete_readings
    where is_outlier or meter_id in (select meter_id from excluded_meters)
    union
    select
        complete_readings.meter_id,
        complete_readings.local_date,
        complete_readings.reading_start_at,
        complete_readings.slot_start_at
    from complete_readings
    inner join findings
        on
            complete_readings.meter_id = findings.meter_id
            and complete_readings.reading_end_at > findings.started_at
            and complete_readings.reading_start_at < findings.ended_at

),

left_out_slots as (

    select distinct
        meter_id,
        slot_start_at
    from left_out_readings

),

left_out_days as (

    select distinct
        meter_id,
        local_date
    from left_out_readings

),

excluded_meter_slots as (

    -- What the left-out meter-slots contributed to int_fleet_demand, to take back out.
    select
        complete_readings.meter_id,
        complete_readings.slot_start_at,
        avg(complete_readings.kw) as kw
    from complete_readings
    inner join left_out_slots
        on
            complete_readings.meter_id = left_out_slots.meter_id
            and complete_readings.slot_start_at = left_out_slots.slot_start_at
    group by complete_readings.meter_id, complete_readings.slot_start_at

),

excluded_slots as (

    select
        slot_start_at,
        sum(kw) as kw,
        count(*) as meters
    from excluded_meter_slots
    group by slot_start_at

),

month_shares as (

    select
        cast({{ dbt.date_trunc('month', 'demand.slot_start_at') }} as date) as period_month,
        sum(coalesce(excluded_slots.kw, 0)) / nullif(sum(demand.kw), 0) as excluded_energy_share
    from {{ ref('int_fleet_demand') }} as demand
    left join excluded_slots on demand.slot_start_at = excluded_slots.slot_start_at
    group by cast({{ dbt.date_trunc('month', 'demand.slot_start_at') }} as date)

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

meter_days as (

    select
        complete_days.*,
        left_out_days.meter_id is not null as has_left_out_readings
    from {{ ref('fct_daily_consumption') }} as complete_days
    left join left_out_days
        on
            complete_days.meter_id = left_out_days.meter_id
            and complete_days.local_date = left_out_days.local_date
    where
        complete_days.is_complete
        and complete_days.meter_id not in (select meter_id from excluded_meters)

),

healthy_days as (

    select * from meter_days
    where not has_left_out_readings

),

day_shares as (

    select
        cast({{ dbt.date_trunc('month', 'local_date') }} as date) as period_month,
        sum(case when has_left_out_readings then kwh else 0 end) / nullif(sum(kwh), 0)
            as excluded_energy_share
    from meter_days
    group by cast({{ dbt.date_trunc('month', 'local_date') }} as date)

),

meter_day_maxima as (

    -- A day with left-out readings keeps its other readings for the meter's interval peak.
    select
        complete_readings.meter_id,
        complete_readings.local_date,
        complete_readings.reading_start_at as peak_at,
        complete_readings.interval_minutes,
        complete_readings.kw as peak_kw,
        row_number() over (
            partition by complete_readings.meter_id, complete_readings.local_date
            order by complete_readings.kw desc, complete_readings.reading_start_at asc
        ) as demand_rank
    from complete_readings
    inner join left_out_days
        on
            complete_readings.meter_id = left_out_days.meter_id
            and complete_readings.local_date = left_out_days.local_date
    left join left_out_readings
        on
            complete_readings.meter_id = left_out_readings.meter_id
            and complete_readings.reading_start_at = left_out_readings.reading_start_at
    where left_out_readings.meter_id is null

),

meter_day_demand as (

    select
        meter_id,
        local_date,
        peak_at,
        interval_minutes,
        peak_kw
    from healthy_days
    union all
    select
        meter_id,
        local_date,
        peak_at,
        interval_minutes,
        peak_kw
    from meter_day_maxima
    where demand_rank = 1

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
    from meter_day_demand

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

ranked_peaks as (

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

),

final as (

    select
        ranked_peaks.*,
        case
            when ranked_peaks.scope = 'meter' then null
            when ranked_peaks.peak_type = 'day' then day_shares.excluded_energy_share
            else month_shares.excluded_energy_share
        end as excluded_energy_share
    from ranked_peaks
    left join month_shares on ranked_peaks.period_month = month_shares.period_month
    left join day_shares on ranked_peaks.period_month = day_shares.period_month

)

select * from final
