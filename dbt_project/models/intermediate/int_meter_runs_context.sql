{#- The scope of an incremental build of int_meter_runs_detected (its pre-hook and its body both
    read it): for each meter and channel with values loaded since that model's watermark, where
    the run of readings going on when the new data begins started (context_start_at). Runs
    ending after that point are rebuilt; everything before stays. A run breaks at a reading
    with another value or at a long gap (meter_gaps). The break is looked for in the two run
    thresholds before the new data, and in the whole history only for meters whose run is older
    than that. A view: it is read only by incremental builds, which see the watermark as it is
    before they advance it. -#}
{%- set thresholds = [] %}
{%- for per_kind in [var('zero_run_min_hours'), var('constant_run_min_hours')] -%}
    {%- for hours in per_kind.values() if hours is not none -%}
        {%- do thresholds.append(hours) -%}
    {%- endfor %}
{%- endfor %}
{%- set lookback_hours = 2 * (thresholds | max) %}

with

touched as (

    {{ meters_touched_since(ref('int_readings_validated'), 'int_meter_runs_detected') }}

),

recent as (

    select
        touched.meter_id,
        touched.channel,
        touched.first_at,
        earlier.reading_start_at,
        earlier.reading_end_at,
        round(cast(earlier.kw as {{ dbt.type_numeric() }}), 6) as kw
    from touched
    inner join {{ ref('fct_readings') }} as earlier
        on
            touched.meter_id = earlier.meter_id
            and touched.channel = earlier.channel
            and touched.first_at > earlier.reading_start_at
            and {{ dbt.dateadd('hour', -lookback_hours, 'touched.first_at') }}
            <= earlier.reading_start_at
    where
        earlier.reading_start_at >= (
            select {{ dbt.dateadd('hour', -lookback_hours, 'min(earliest.first_at)') }}
            from touched as earliest
        )

),

last_value as (

    select
        meter_id,
        channel,
        first_at,
        max(reading_start_at) as last_start_at
    from recent
    group by meter_id, channel, first_at

),

current_value as (

    select
        last_value.meter_id,
        last_value.channel,
        last_value.first_at,
        recent.kw
    from last_value
    inner join recent
        on
            last_value.meter_id = recent.meter_id
            and last_value.channel = recent.channel
            and last_value.last_start_at = recent.reading_start_at

),

recent_breaks as (

    select
        current_value.meter_id,
        current_value.channel,
        max(recent.reading_end_at) as broken_at
    from current_value
    inner join recent
        on
            current_value.meter_id = recent.meter_id
            and current_value.channel = recent.channel
            and current_value.kw <> recent.kw
    group by current_value.meter_id, current_value.channel

),

older_breaks as (

    -- Only meters whose current run is older than the lookback.
    select
        current_value.meter_id,
        current_value.channel,
        max(earlier.reading_end_at) as broken_at
    from current_value
    inner join {{ ref('fct_readings') }} as earlier
        on
            current_value.meter_id = earlier.meter_id
            and current_value.channel = earlier.channel
            and current_value.first_at > earlier.reading_start_at
            and current_value.kw <> round(cast(earlier.kw as {{ dbt.type_numeric() }}), 6)
    where
        not exists (
            select 1
            from recent_breaks
            where
                recent_breaks.meter_id = current_value.meter_id
                and recent_breaks.channel = current_value.channel
        )
    group by current_value.meter_id, current_value.channel

),

gaps as (

    select
        touched.meter_id,
        touched.channel,
        max(meter_gaps.gap_end_at) as gap_end_at
    from touched
    inner join {{ ref('meter_gaps') }} as meter_gaps
        on
            touched.meter_id = meter_gaps.meter_id
            and touched.channel = meter_gaps.channel
            and touched.first_at >= meter_gaps.gap_end_at
    group by touched.meter_id, touched.channel

)

select
    touched.meter_id,
    touched.channel,
    coalesce(
        greatest(coalesce(recent_breaks.broken_at, older_breaks.broken_at), gaps.gap_end_at),
        recent_breaks.broken_at,
        older_breaks.broken_at,
        gaps.gap_end_at,
        cast('{{ var("earliest_valid_date") }}' as timestamp)
    ) as context_start_at
from touched
left join recent_breaks
    on touched.meter_id = recent_breaks.meter_id and touched.channel = recent_breaks.channel
left join older_breaks
    on touched.meter_id = older_breaks.meter_id and touched.channel = older_breaks.channel
left join gaps
    on touched.meter_id = gaps.meter_id and touched.channel = gaps.channel
