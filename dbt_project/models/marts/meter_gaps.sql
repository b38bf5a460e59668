{#- Stretches with no published reading between a meter's first and last one: what estimation
    did not fill because it is longer than var max_interpolation_gap_minutes. Analytics treat the
    days these touch as incomplete. Incremental: for each meter with new data, the gaps from its
    last reading before the new data onwards are rebuilt. -#}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['meter_id', 'channel', 'gap_start_at']]),
        incremental_strategy='append',
        pre_hook="{{ delete_meter_gaps_after_new_data() }}",
        post_hook=["{{ advance_watermark(ref('int_readings_validated')) }}"],
    )
}}

with

{% if is_incremental() %}
context as (

    {{ history_before_touched('meter_gaps') }}

),
{% endif %}

published as (

    select
        fct_readings.meter_id,
        fct_readings.channel,
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
        previous_end_at as gap_start_at,
        reading_start_at as gap_end_at,
        {{ minutes_between('previous_end_at', 'reading_start_at') }} as gap_minutes,
        {{ minutes_between('previous_end_at', 'reading_start_at') }} / interval_minutes
            as intervals_missing
    from published
    where previous_end_at < reading_start_at

)

select * from gaps
