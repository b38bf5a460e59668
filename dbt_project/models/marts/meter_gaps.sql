{#- Stretches with no published reading between a meter's first and last one: what estimation
    did not fill because it is longer than var max_interpolation_gap_minutes. Analytics treat the
    days these touch as incomplete. A cumulative register knows the energy of its gaps exactly
    (the increase between the reads either side, int_register_gap_energy): `gap_kwh` carries it
    (NULL where the energy is unknown: interval data), and a register gap before a channel's
    first published interval is listed too. Incremental: for each meter with new data, the gaps
    from its last reading before the new data onwards are rebuilt (int_meter_gaps_context). -#}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['meter_id', 'channel', 'gap_start_at']]),
        incremental_strategy='append',
        pre_hook="{% call delete_scope() %}
            exists (
                select 1
                from {{ ref('int_meter_gaps_context') }} as context
                where
                    context.meter_id = {{ this }}.meter_id
                    and context.channel = {{ this }}.channel
                    and {{ this }}.gap_start_at >= coalesce(context.previous_end_at, context.first_at)
            )
        {% endcall %}",
        post_hook=["{{ advance_watermark(ref('int_readings_validated')) }}"],
    )
}}

with

{% if is_incremental() %}
context as (

    select * from {{ ref('int_meter_gaps_context') }}

),
{% endif %}

published as (

    select
        fct_readings.meter_id,
        fct_readings.channel,
        fct_readings.channel_kind,
        fct_readings.reading_start_at,
        fct_readings.interval_minutes,
        {%- if is_incremental() %}
        coalesce(
            lag(fct_readings.reading_end_at) over meter_order, context.previous_end_at
        ) as previous_end_at
        {%- else %}
            lag(fct_readings.reading_end_at) over meter_order as previous_end_at
        {%- endif %}
    from {{ ref('fct_readings') }} as fct_readings
    {%- if is_incremental() %}
    inner join context
        on
            fct_readings.meter_id = context.meter_id
            and fct_readings.channel = context.channel
            and fct_readings.reading_start_at >= context.first_at
    {%- endif %}
    window meter_order as (
        partition by fct_readings.meter_id, fct_readings.channel
        order by fct_readings.reading_start_at
    )

),

gaps as (

    select
        meter_id,
        channel,
        channel_kind,
        previous_end_at as gap_start_at,
        reading_start_at as gap_end_at,
        {{ minutes_between('previous_end_at', 'reading_start_at') }} as gap_minutes,
        {{ minutes_between('previous_end_at', 'reading_start_at') }} / interval_minutes
            as intervals_missing
    from published
    where previous_end_at < reading_start_at

),

register_gaps as (

    select register_gaps.*
    from {{ ref('int_register_gap_energy') }} as register_gaps
    {%- if is_incremental() %}
    inner join context
        on
            register_gaps.meter_id = context.meter_id
            and register_gaps.channel = context.channel
            and register_gaps.gap_start_at >= coalesce(context.previous_end_at, context.first_at)
    {%- endif %}

),

known_energy as (

    select
        gaps.meter_id,
        gaps.channel,
        gaps.gap_start_at,
        sum(register_gaps.gap_kwh) as gap_kwh
    from gaps
    inner join register_gaps
        on
            gaps.meter_id = register_gaps.meter_id
            and gaps.channel = register_gaps.channel
            and gaps.gap_start_at <= register_gaps.gap_start_at
            and gaps.gap_end_at >= register_gaps.gap_end_at
    group by gaps.meter_id, gaps.channel, gaps.gap_start_at

),

final as (

    select
        gaps.*,
        known_energy.gap_kwh
    from gaps
    left join known_energy
        on
            gaps.meter_id = known_energy.meter_id
            and gaps.channel = known_energy.channel
            and gaps.gap_start_at = known_energy.gap_start_at

    union all

    -- Register gaps no published interval bounds (before a channel's first published one).
    select
        register_gaps.meter_id,
        register_gaps.channel,
        register_gaps.channel_kind,
        register_gaps.gap_start_at,
        register_gaps.gap_end_at,
        {{ minutes_between('register_gaps.gap_start_at', 'register_gaps.gap_end_at') }}
            as gap_minutes,
        {{ minutes_between('register_gaps.gap_start_at', 'register_gaps.gap_end_at') }}
        / register_gaps.interval_minutes as intervals_missing,
        register_gaps.gap_kwh
    from register_gaps
    where not exists (
        select 1
        from gaps
        where
            gaps.meter_id = register_gaps.meter_id
            and gaps.channel = register_gaps.channel
            and register_gaps.gap_start_at >= gaps.gap_start_at
            and register_gaps.gap_end_at <= gaps.gap_end_at
    )

)

select * from final
