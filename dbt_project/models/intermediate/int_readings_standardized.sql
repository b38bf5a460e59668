{#- Standardization: every reading that passed validation as kW (average demand) and kWh
    (energy) per interval.

    Interval values convert directly (see macros/vee/units.sql). Cumulative register reads are
    differenced: the energy of (previous read, this read] is the register's increase, and it is
    never dropped.
    - One interval apart: the interval's actual energy (A).
    - Reads missing, span up to var max_interpolation_gap_minutes: the increase is shared evenly
      among the intervals it covers (E, `register_prorated`); they sum exactly to it.
    - A longer span: the increase is the gap's known energy (`gap_kwh` on the read's one row,
      no kW): its timing is unknown, so no interval is published; meter_gaps and the daily
      consumption count it.
    - A drop: a rollover when the layout declares `register_rollover_kwh` (the register wraps
      to 0 there) and the wrapped increase is plausible (at most var max_plausible_kw over the
      span); otherwise a counter reset or rollback, quarantined (`counter_reset`).
    - The first read of a register has nothing to difference against (`register_baseline`).
-#}
{{ config(post_hook=["{{ share_test_scope('int_readings_validated') }}"]) }}
{%- set max_gap = var('max_interpolation_gap_minutes') %}
{%- set rollovers = layout_settings('register_rollover_kwh') %}

with

numbers as (

    {{ numbers(max_gap + 1) }}

),

validated as {{ inline_cte() }}(

    select * from {{ ref('int_readings_validated') }}
    where quarantine_reason is null and not is_duplicate_copy and not is_superseded

),

interval_readings as (

    select
        meter_id,
        channel,
        channel_kind,
        reading_start_at,
        reading_end_at,
        interval_minutes,
        {{ to_kw('value', 'unit_kind', 'unit_scale', 'interval_minutes') }} as kw,
        {{ to_kwh('value', 'unit_kind', 'unit_scale', 'interval_minutes') }} as kwh,
        'A' as quality_flag,
        cast(null as {{ dbt.type_string() }}) as estimation_method,
        cast(null as {{ dbt.type_string() }}) as quarantine_reason,
        cast(null as {{ type_double() }}) as gap_kwh,
        cast(null as timestamp) as gap_start_at,
        false as is_register_rollover,
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

register_steps as (

    select
        register_reads.*,
        {{ minutes_between('previous_read_at', 'reading_end_at') }} as span_minutes,
        register_kwh - previous_register_kwh as register_step_kwh,
        {%- if rollovers %}
            case layout
                {%- for layout, capacity in rollovers.items() %}
                    when '{{ layout }}' then {{ capacity }}
                {%- endfor %}
            end
        {%- else %}
        cast(null as {{ type_double() }})
        {%- endif %} as rollover_kwh
    from register_reads

),

register_deltas as (

    select
        register_steps.*,
        case
            when register_step_kwh >= 0 then register_step_kwh
            when
                register_step_kwh + rollover_kwh >= 0
                and register_step_kwh + rollover_kwh
                <= {{ var('max_plausible_kw') }} * span_minutes / 60.0
                then register_step_kwh + rollover_kwh
        end as delta_kwh,
        register_step_kwh < 0 and rollover_kwh is not null as is_register_rollover,
        case
            when previous_read_at is null then 'register_baseline'
            when
                register_step_kwh < 0
                and (
                    rollover_kwh is null
                    or register_step_kwh + rollover_kwh < 0
                    or register_step_kwh + rollover_kwh
                    > {{ var('max_plausible_kw') }} * span_minutes / 60.0
                )
                then 'counter_reset'
        end as register_problem,
        span_minutes > {{ max_gap }} + interval_minutes as is_long_gap
    from register_steps

),

register_intervals as (

    -- One row per interval the increase covers (one row for a long gap's known energy); the
    -- read's own interval keeps its lineage.
    select
        register_deltas.meter_id,
        register_deltas.channel,
        register_deltas.channel_kind,
        {{ add_minutes(
            'register_deltas.reading_end_at',
            '-(numbers.k + 1) * register_deltas.interval_minutes'
        ) }} as reading_start_at,
        {{ add_minutes(
            'register_deltas.reading_end_at', '-numbers.k * register_deltas.interval_minutes'
        ) }} as reading_end_at,
        register_deltas.interval_minutes,
        case
            when register_deltas.register_problem is null and not register_deltas.is_long_gap
                then
                    register_deltas.delta_kwh
                    / (register_deltas.span_minutes / register_deltas.interval_minutes)
                    * 60.0 / register_deltas.interval_minutes
        end as kw,
        case
            when register_deltas.register_problem is null and not register_deltas.is_long_gap
                then
                    register_deltas.delta_kwh
                    / (register_deltas.span_minutes / register_deltas.interval_minutes)
        end as kwh,
        case
            when register_deltas.span_minutes > register_deltas.interval_minutes then 'E'
            else 'A'
        end as quality_flag,
        case
            when register_deltas.is_long_gap then 'register_gap_energy'
            when register_deltas.span_minutes > register_deltas.interval_minutes
                then 'register_prorated'
        end as estimation_method,
        register_deltas.register_problem as quarantine_reason,
        case
            when register_deltas.register_problem is null and register_deltas.is_long_gap
                then register_deltas.delta_kwh
        end as gap_kwh,
        case
            when register_deltas.register_problem is null and register_deltas.is_long_gap
                then register_deltas.previous_read_at
        end as gap_start_at,
        coalesce(register_deltas.is_register_rollover, false) as is_register_rollover,
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
                and not register_deltas.is_long_gap
                and numbers.k * register_deltas.interval_minutes < register_deltas.span_minutes
            )

),

standardized as (

    select * from interval_readings
    union all
    select * from register_intervals

)

select * from standardized
