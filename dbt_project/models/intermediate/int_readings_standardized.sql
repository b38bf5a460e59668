{#- Standardization: every reading that passed validation as kW (average demand) and kWh
    (energy) per interval.

    Interval values convert directly (see macros/vee/units.sql). Cumulative register reads are
    differenced: the energy of (previous read, this read] is the register's increase. A drop is
    a counter reset or rollback and is quarantined (`counter_reset`), as is the first read of a
    register, which has nothing to difference against (`register_baseline`). When reads are
    missing, the increase covers several intervals; within the interpolation limit it is shared
    evenly among them (quality E, `register_prorated`), beyond it the read starts a new baseline.
-#}
{{ config(post_hook=["{{ share_test_scope('int_readings_validated') }}"]) }}
{%- set max_gap = var('max_interpolation_gap_minutes') %}

with

numbers as (

    {{ numbers(max_gap + 1) }}

),

validated as {{ inline_cte() }}(

    select * from {{ ref('int_readings_validated') }}
    where quarantine_reason is null and not is_duplicate_copy

),

interval_readings as (

    select
        meter_id,
        channel,
        reading_start_at,
        reading_end_at,
        interval_minutes,
        {{ to_kw('value', 'unit_kind', 'unit_scale', 'interval_minutes') }} as kw,
        {{ to_kwh('value', 'unit_kind', 'unit_scale', 'interval_minutes') }} as kwh,
        'A' as quality_flag,
        cast(null as varchar) as estimation_method,
        cast(null as varchar) as quarantine_reason,
        source_quality_flag,
        source_reason_code,
        layout,
        source_file,
        source_line,
        value_position,
        file_sha256,
        load_id
    from validated
    where value_kind = 'interval'

),

register_reads as (

    select
        validated.*,
        value * unit_scale as register_kwh,
        lag(value * unit_scale) over register_order as previous_register_kwh,
        lag(reading_end_at) over register_order as previous_read_at
    from validated
    where value_kind = 'cumulative'
    window register_order as (partition by meter_id, channel order by reading_end_at)

),

register_deltas as (

    select
        register_reads.*,
        {{ minutes_between('previous_read_at', 'reading_end_at') }} as span_minutes,
        case
            when previous_read_at is null then 'register_baseline'
            when register_kwh < previous_register_kwh then 'counter_reset'
            when
                {{ minutes_between('previous_read_at', 'reading_end_at') }} > {{ max_gap }}
                + interval_minutes
                then 'register_baseline'
        end as register_problem
    from register_reads

),

register_intervals as (

    -- One row per interval the increase covers; the read's own interval keeps its lineage.
    select
        register_deltas.meter_id,
        register_deltas.channel,
        {{ add_minutes(
            'register_deltas.reading_end_at',
            '-(numbers.k + 1) * register_deltas.interval_minutes'
        ) }} as reading_start_at,
        {{ add_minutes(
            'register_deltas.reading_end_at', '-numbers.k * register_deltas.interval_minutes'
        ) }} as reading_end_at,
        register_deltas.interval_minutes,
        case
            when register_deltas.register_problem is null then
                (register_deltas.register_kwh - register_deltas.previous_register_kwh)
                / (register_deltas.span_minutes / register_deltas.interval_minutes)
                * 60.0 / register_deltas.interval_minutes
        end as kw,
        case
            when register_deltas.register_problem is null then
                (register_deltas.register_kwh - register_deltas.previous_register_kwh)
                / (register_deltas.span_minutes / register_deltas.interval_minutes)
        end as kwh,
        case
            when register_deltas.span_minutes > register_deltas.interval_minutes then 'E'
            else 'A'
        end as quality_flag,
        case
            when register_deltas.span_minutes > register_deltas.interval_minutes
                then 'register_prorated'
        end as estimation_method,
        register_deltas.register_problem as quarantine_reason,
        register_deltas.source_quality_flag,
        register_deltas.source_reason_code,
        register_deltas.layout,
        register_deltas.source_file,
        case when numbers.k = 0 then register_deltas.source_line end as source_line,
        case when numbers.k = 0 then register_deltas.value_position end as value_position,
        register_deltas.file_sha256,
        register_deltas.load_id
    from register_deltas
    inner join numbers
        on
            numbers.k = 0
            or (
                register_deltas.register_problem is null
                and numbers.k * register_deltas.interval_minutes < register_deltas.span_minutes
            )

),

standardized as (

    select * from interval_readings
    union all
    select * from register_intervals

)

select * from standardized
