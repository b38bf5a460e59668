{#- Runs of one repeated value on every channel: consecutive published readings (no gap
    between them) with the same kW. Long zero runs point at a dead meter or a lost supply, long
    constant non-zero runs at a stuck register. Only runs at least as long as the channel kind's
    threshold (vars zero_run_min_hours / constant_run_min_hours, per kind) are kept; a kind
    without a zero-run threshold (export, generation, sub-meters) is never faulty from zeros. -#}
{%- set zero_hours = var('zero_run_min_hours') %}
{%- set constant_hours = var('constant_run_min_hours') %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['meter_id', 'channel', 'run_end_at']]),
        incremental_strategy='append',
        pre_hook="{% call delete_scope() %}
            exists (
                select 1
                from {{ ref('int_meter_runs_context') }} as context
                where
                    context.meter_id = {{ this }}.meter_id
                    and context.channel = {{ this }}.channel
                    and {{ this }}.run_end_at > context.context_start_at
            )
        {% endcall %}",
        post_hook=["{{ advance_watermark(ref('int_readings_validated')) }}"],
    )
}}

with

readings as (

    select
        fct_readings.meter_id,
        fct_readings.channel,
        fct_readings.channel_kind,
        fct_readings.reading_start_at,
        fct_readings.reading_end_at,
        round(cast(fct_readings.kw as {{ dbt.type_numeric() }}), 6) as kw
    from {{ ref('fct_readings') }} as fct_readings
    {%- if is_incremental() %}
    inner join {{ ref('int_meter_runs_context') }} as context
        on
            fct_readings.meter_id = context.meter_id
            and fct_readings.channel = context.channel
            and fct_readings.reading_start_at >= context.context_start_at
    {%- endif %}

),

marked as (

    select
        readings.*,
        case
            when
                lag(reading_end_at) over meter_order = reading_start_at
                and lag(kw) over meter_order = kw
                then 0
            else 1
        end as starts_run
    from readings
    window meter_order as (partition by meter_id, channel order by reading_start_at)

),

numbered as (

    select
        marked.*,
        sum(starts_run) over (
            partition by meter_id, channel order by reading_start_at
            rows between unbounded preceding and current row
        ) as run_number
    from marked

),

runs as (

    select
        meter_id,
        channel,
        channel_kind,
        run_number,
        min(kw) as kw,
        min(reading_start_at) as run_start_at,
        max(reading_end_at) as run_end_at,
        count(*) as readings
    from numbered
    group by meter_id, channel, channel_kind, run_number

),

long_runs as (

    select
        meter_id,
        channel,
        channel_kind,
        case when kw = 0 then 'zero_run' else 'constant_run' end as run_kind,
        kw,
        run_start_at,
        run_end_at,
        readings,
        {{ minutes_between('run_start_at', 'run_end_at') }} / 60.0 as run_hours
    from runs
    where
        (kw = 0 and {{ minutes_between('run_start_at', 'run_end_at') }} >= case channel_kind
            {%- for kind, hours in zero_hours.items() if hours is not none %}
                when '{{ kind }}' then {{ hours }} * 60
            {%- endfor %}
        end)
        or (kw <> 0 and {{ minutes_between('run_start_at', 'run_end_at') }} >= case channel_kind
            {%- for kind, hours in constant_hours.items() if hours is not none %}
                when '{{ kind }}' then {{ hours }} * 60
            {%- endfor %}
        end)

)

select * from long_runs
