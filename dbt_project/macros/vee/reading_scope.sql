{#- Which meter-days an incremental build of a per-interval model must redo: every (meter,
    channel, UTC day) that a value loaded since the model's watermark falls on, and the days on
    either side (a new reading can close a gap that began the day before). The model deletes
    these days (pre-hook) and writes them again, in one transaction. -#}

{% macro days_touched_since_watermark(model_name) -%}
    select distinct
        touched.meter_id,
        touched.channel,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_start_at') }} as date)
            as reading_date
    from {{ ref('int_readings_validated') }} as touched
    cross join ({{ numbers(3) }}) as shift
    where
        {{ load_id_number('touched.load_id') }} > {{ watermark(model_name) }}
        and touched.reading_start_at is not null
{%- endmacro %}

{% macro delete_days_touched(model_name) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where exists (
            select 1
            from ({{ days_touched_since_watermark(model_name) }}) as scope
            where
                scope.meter_id = {{ this }}.meter_id
                and scope.channel = {{ this }}.channel
                and scope.reading_date = {{ this }}.reading_date
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The consumption meter-days (local dates) an analytics model must rebuild: the local dates
    around the UTC days touched since its watermark (a local day lies within a day of its UTC
    date), extended `forward_days` ahead for models whose rows look back that far (a forecast
    for day D uses days up to 4 weeks before it, so new data for X changes D up to X + 28). -#}
{% macro local_days_touched(model_name, forward_days=0, channels=none) -%}
    {%- set channels = channels or [var('consumption_channel')] -%}
    select distinct
        touched.meter_id,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_date') }} as date) as local_date
    from ({{ days_touched_since_watermark(model_name) }}) as touched
    cross join ({{ numbers(forward_days + 3) }}) as shift
    where touched.channel in ('{{ channels | join("', '") }}')
{%- endmacro %}

{#- Delete the scope's rows (pre-hook of an incremental analytics model keyed by meter and a
    local date column). -#}
{% macro delete_local_days_touched(
    model_name, date_column='local_date', forward_days=0, channels=none
) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where exists (
            select 1
            from ({{ local_days_touched(model_name, forward_days, channels) }}) as scope
            where
                scope.meter_id = {{ this }}.meter_id
                and scope.local_date = cast({{ this }}.{{ date_column }} as date)
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The earliest and latest UTC instant the scope can reach, `before_days` earlier, as SQL
    scalars: bounds a scan of a large table to the window a rebuild needs (DuckDB skips row
    groups outside it). -#}
{% macro local_days_touched_bound(
    model_name, edge, forward_days=0, before_days=0, channels=none
) -%}
    (
        select cast(
            {{ dbt.dateadd('day', (-before_days - 2) if edge == 'min' else 2, edge ~ '(local_date)') }}
            as timestamp
        )
        from ({{ local_days_touched(model_name, forward_days, channels) }}) as scope
    )
{%- endmacro %}

{#- For models that follow runs of readings back in time: each touched (meter, channel) with
    the start of its first touched UTC day (first_at) and the end of its last published
    reading before that (previous_end_at). -#}
{% macro meters_touched_since(model_name, channels=none) -%}
    select
        touched.meter_id,
        touched.channel,
        cast(min(touched.reading_date) as timestamp) as first_at
    from ({{ days_touched_since_watermark(model_name) }}) as touched
    {%- if channels %}
    where touched.channel in ('{{ channels | join("', '") }}')
    {%- endif %}
    group by touched.meter_id, touched.channel
{%- endmacro %}

{% macro history_before_touched(model_name, channels=none) -%}
    select
        touched.meter_id,
        touched.channel,
        touched.first_at,
        max(earlier.reading_end_at) as previous_end_at
    from ({{ meters_touched_since(model_name, channels) }}) as touched
    left join {{ ref('fct_readings') }} as earlier
        on
            touched.meter_id = earlier.meter_id
            and touched.channel = earlier.channel
            and touched.first_at > earlier.reading_start_at
    group by touched.meter_id, touched.channel, touched.first_at
{%- endmacro %}

{#- meter_gaps pre-hook: the gaps rebuilt are those starting at or after each touched meter's
    last reading before its new data. -#}
{% macro delete_meter_gaps_after_new_data() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where exists (
            select 1
            from ({{ history_before_touched('meter_gaps') }}) as context
            where
                context.meter_id = {{ this }}.meter_id
                and context.channel = {{ this }}.channel
                and {{ this }}.gap_start_at >= coalesce(context.previous_end_at, context.first_at)
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- int_meter_runs_detected: where, for each meter with new data, the run of readings that was
    going on when the new data begins started. Runs after that point are rebuilt; everything
    before stays. A run breaks at a reading with another value or at a long gap. -#}
{% macro run_context(model_name, channels) -%}
    with

    touched as (

        {{ meters_touched_since(model_name, channels) }}

    ),

    last_before as (

        select
            touched.meter_id,
            touched.channel,
            touched.first_at,
            max(earlier.reading_start_at) as last_start_at
        from touched
        inner join {{ ref('fct_readings') }} as earlier
            on
                touched.meter_id = earlier.meter_id
                and touched.channel = earlier.channel
                and touched.first_at > earlier.reading_start_at
        group by touched.meter_id, touched.channel, touched.first_at

    ),

    last_value as (

        select
            last_before.*,
            round(cast(earlier.kw as {{ dbt.type_numeric() }}), 6) as kw
        from last_before
        inner join {{ ref('fct_readings') }} as earlier
            on
                last_before.meter_id = earlier.meter_id
                and last_before.channel = earlier.channel
                and last_before.last_start_at = earlier.reading_start_at

    ),

    breaks as (

        select
            last_value.meter_id,
            last_value.channel,
            max(earlier.reading_end_at) as broken_at
        from last_value
        inner join {{ ref('fct_readings') }} as earlier
            on
                last_value.meter_id = earlier.meter_id
                and last_value.channel = earlier.channel
                and last_value.first_at > earlier.reading_start_at
                and round(cast(earlier.kw as {{ dbt.type_numeric() }}), 6) <> last_value.kw
        group by last_value.meter_id, last_value.channel

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
            greatest(breaks.broken_at, gaps.gap_end_at), breaks.broken_at, gaps.gap_end_at,
            cast('{{ var("earliest_valid_date") }}' as timestamp)
        ) as context_start_at
    from touched
    left join breaks
        on touched.meter_id = breaks.meter_id and touched.channel = breaks.channel
    left join gaps
        on touched.meter_id = gaps.meter_id and touched.channel = gaps.channel
{%- endmacro %}

{% macro delete_runs_after_context(model_name, channels) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where exists (
            select 1
            from ({{ run_context(model_name, channels) }}) as context
            where
                context.meter_id = {{ this }}.meter_id
                and context.channel = {{ this }}.channel
                and {{ this }}.run_end_at > context.context_start_at
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- int_fleet_demand: the UTC days whose slots change when new data arrives (its days, and a
    day either side: a meter's local day, whose completeness decides, spans two UTC days). -#}
{% macro fleet_days_touched() -%}
    select distinct
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_date') }} as date) as slot_date
    from ({{ days_touched_since_watermark('int_fleet_demand') }}) as touched
    cross join ({{ numbers(3) }}) as shift
    where touched.channel = '{{ var("consumption_channel") }}'
{%- endmacro %}

{% macro delete_fleet_slots_touched() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where cast(slot_start_at as date) in (
            select slot_date from ({{ fleet_days_touched() }}) as touched
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
