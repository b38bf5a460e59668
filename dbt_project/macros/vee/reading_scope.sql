{#- Which meter-days an incremental build of a per-interval model must redo: every (meter,
    channel, UTC day) that a value loaded since the model's watermark falls on, and the days on
    either side (a new reading can close a gap that began the day before). The model deletes
    these days (pre-hook) and writes them again, in one transaction. -#}

{% macro days_touched_since_watermark(model_name) -%}
    select distinct
        touched.meter_id,
        touched.channel,
        touched.channel_kind,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_start_at') }} as date)
            as reading_date
    {#- (int_readings_validated's own post-hooks ask too: a ref to itself would be a cycle) #}
    from {{ this if this.identifier == 'int_readings_validated' else ref('int_readings_validated') }} as touched
    cross join ({{ numbers(3) }}) as shift
    where
        touched.load_id > {{ watermark(model_name) }}
        and touched.reading_start_at is not null
{%- endmacro %}

{#- The consumption meter-days (local dates) an analytics model must rebuild: the local dates
    around the UTC days touched since its watermark (a local day lies within a day of its UTC
    date), extended `forward_days` ahead for models whose rows look back that far (a forecast
    for day D uses days up to 4 weeks before it, so new data for X changes D up to X + 28). -#}
{% macro local_days_touched(model_name, forward_days=0, kinds=none) -%}
    {%- set kinds = kinds or ['consumption'] -%}
    select distinct
        touched.meter_id,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_date') }} as date) as local_date
    from ({{ days_touched_since_watermark(model_name) }}) as touched
    cross join ({{ numbers(forward_days + 3) }}) as shift
    where touched.channel_kind in ('{{ kinds | join("', '") }}')
{%- endmacro %}

{#- Delete the scope's rows (pre-hook of an incremental analytics model keyed by meter and a
    local date column). -#}
{% macro delete_local_days_touched(
    model_name, date_column='local_date', forward_days=0, kinds=none
) -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            {{ within_window(
                this ~ '.' ~ date_column, scope_window(model_name, 0, forward_days, kinds)
            ) }}
            and exists (
                select 1
                from ({{ local_days_touched(model_name, forward_days, kinds) }}) as scope
                where
                    scope.meter_id = {{ this }}.meter_id
                    and scope.local_date = cast({{ this }}.{{ date_column }} as date)
            )
        {%- endcall %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- For models that follow runs of readings back in time: each touched (meter, channel) with
    the start of its first touched UTC day (first_at) and the end of its last published
    reading before that (previous_end_at). -#}
{% macro meters_touched_since(model_name, kinds=none) -%}
    select
        touched.meter_id,
        touched.channel,
        cast(min(touched.reading_date) as timestamp) as first_at
    from ({{ days_touched_since_watermark(model_name) }}) as touched
    {%- if kinds %}
    where touched.channel_kind in ('{{ kinds | join("', '") }}')
    {%- endif %}
    group by touched.meter_id, touched.channel
{%- endmacro %}

{% macro history_before_touched(model_name, kinds=none) -%}
    {#- Looked for in the week before the new data first; in the whole history only for meters
        silent that long (the second join is empty, and skipped, when there are none). -#}
    {%- set recent = scope_window(model_name, 7) -%}
    with

    touched as (

        {{ meters_touched_since(model_name, kinds) }}

    ),

    recent as (

        select
            touched.meter_id,
            touched.channel,
            max(earlier.reading_end_at) as previous_end_at
        from touched
        inner join {{ ref('fct_readings') }} as earlier
            on
                touched.meter_id = earlier.meter_id
                and touched.channel = earlier.channel
                and touched.first_at > earlier.reading_start_at
        where earlier.reading_start_at >= {{ recent.start }}
        group by touched.meter_id, touched.channel

    ),

    silent as (

        select touched.*
        from touched
        where not exists (
            select 1
            from recent
            where recent.meter_id = touched.meter_id and recent.channel = touched.channel
        )

    ),

    older as (

        select
            silent.meter_id,
            silent.channel,
            max(earlier.reading_end_at) as previous_end_at
        from silent
        inner join {{ ref('fct_readings') }} as earlier
            on
                silent.meter_id = earlier.meter_id
                and silent.channel = earlier.channel
                and silent.first_at > earlier.reading_start_at
        group by silent.meter_id, silent.channel

    )

    select
        touched.meter_id,
        touched.channel,
        touched.first_at,
        coalesce(recent.previous_end_at, older.previous_end_at) as previous_end_at
    from touched
    left join recent
        on touched.meter_id = recent.meter_id and touched.channel = recent.channel
    left join older
        on touched.meter_id = older.meter_id and touched.channel = older.channel
{%- endmacro %}

{#- meter_gaps pre-hook: the gaps rebuilt are those starting at or after each touched meter's
    last reading before its new data. -#}
{% macro delete_meter_gaps_after_new_data() -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            exists (
                select 1
                from ({{ history_before_touched('meter_gaps') }}) as context
                where
                    context.meter_id = {{ this }}.meter_id
                    and context.channel = {{ this }}.channel
                    and {{ this }}.gap_start_at >= coalesce(context.previous_end_at, context.first_at)
            )
        {%- endcall %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- int_meter_runs_detected: where, for each meter with new data, the run of readings that was
    going on when the new data begins started. Runs after that point are rebuilt; everything
    before stays. A run breaks at a reading with another value or at a long gap. The break is
    looked for in the two run thresholds before the new data, and in the whole history only for
    meters whose run is older than that. -#}
{% macro run_context(model_name, kinds) -%}
    {%- set thresholds = [] -%}
    {%- for per_kind in [var('zero_run_min_hours'), var('constant_run_min_hours')] -%}
        {%- for hours in per_kind.values() if hours is not none -%}
            {%- do thresholds.append(hours) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set lookback_hours = 2 * (thresholds | max) -%}
    with

    touched as (

        {{ meters_touched_since(model_name, kinds) }}

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
                select {{ dbt.dateadd('hour', -lookback_hours, 'min(first_at)') }} from touched
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
        where not exists (
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
{%- endmacro %}

{% macro delete_runs_after_context(model_name, kinds) -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            exists (
                select 1
                from ({{ run_context(model_name, kinds) }}) as context
                where
                    context.meter_id = {{ this }}.meter_id
                    and context.channel = {{ this }}.channel
                    and {{ this }}.run_end_at > context.context_start_at
            )
        {%- endcall %}
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
    where touched.channel_kind = 'consumption'
{%- endmacro %}

{% macro delete_fleet_slots_touched() -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            cast(slot_start_at as date) in (
                select slot_date from ({{ fleet_days_touched() }}) as touched
            )
        {%- endcall %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Delete the rows of the (meter, channel, UTC day) scope (pre-hook of incremental models
    keyed by a UTC timestamp column). -#}
{% macro delete_utc_days_touched(model_name, timestamp_column) -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            {{ within_window(this ~ '.' ~ timestamp_column, scope_window(model_name)) }}
            and exists (
                select 1
                from ({{ days_touched_since_watermark(model_name) }}) as scope
                where
                    scope.meter_id = {{ this }}.meter_id
                    and scope.channel = {{ this }}.channel
                    and scope.reading_date = cast({{ this }}.{{ timestamp_column }} as date)
            )
        {%- endcall %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The UTC time window an incremental build of `model_name` reads, computed when the model is
    compiled (so it reaches the database as constants and DuckDB can skip row groups): the days
    touched since the model's watermark, widened by `before_days` and `after_days`, and a day
    each side for local time. An empty scope gives an empty window. Returns SQL literals (start,
    end; start_date, end_date for date columns). -#}
{% macro scope_window(model_name, before_days=0, after_days=0, kinds=none) -%}
    {#- Empty window: start = end, at a date every timestamp type can hold (a year-9999
        sentinel overflows DuckDB's nanosecond timestamps). -#}
    {%- set never = "cast('" ~ var('earliest_valid_date') ~ "' as timestamp)" -%}
    {%- set never_date = "cast('" ~ var('earliest_valid_date') ~ "' as date)" -%}
    {%- set window = {'start': never, 'end': never, 'start_date': never_date, 'end_date': never_date} -%}
    {%- if execute and is_incremental() -%}
        {%- set query -%}
            select
                cast(min(reading_date) as {{ dbt.type_string() }}),
                cast(max(reading_date) as {{ dbt.type_string() }})
            from ({{ days_touched_since_watermark(model_name) }}) as touched
            {%- if kinds %}
            where channel_kind in ('{{ kinds | join("', '") }}')
            {%- endif %}
        {%- endset -%}
        {%- set bounds = run_query(query) -%}
        {%- if bounds and bounds[0][0] is not none -%}
            {%- set first = modules.datetime.date.fromisoformat(bounds[0][0]) -%}
            {%- set last = modules.datetime.date.fromisoformat(bounds[0][1]) -%}
            {%- set start = first - modules.datetime.timedelta(days=before_days + 1) -%}
            {%- set end = last + modules.datetime.timedelta(days=after_days + 2) -%}
            {%- do window.update({
                'start': "cast('" ~ start.isoformat() ~ "' as timestamp)",
                'end': "cast('" ~ end.isoformat() ~ "' as timestamp)",
                'start_date': "cast('" ~ start.isoformat() ~ "' as date)",
                'end_date': "cast('" ~ end.isoformat() ~ "' as date)"
            }) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(window) }}
{%- endmacro %}

{#- `column` within `window` (from scope_window), as a predicate DuckDB can check against each
    row group's min/max: columns named *_date are dates, the others timestamps. -#}
{% macro within_window(column, window) -%}
    {%- if column.endswith('_date') -%}
        {{ column }} >= {{ window.start_date }} and {{ column }} < {{ window.end_date }}
    {%- else -%}
        {{ column }} >= {{ window.start }} and {{ column }} < {{ window.end }}
    {%- endif -%}
{%- endmacro %}

{#- Per-day tallies (int_file_verdicts_counted): the rows an incremental build recounts are those
    within the scope window, whole UTC days, and those of new loads whose time could not be
    read (their verdict never changes after; they have no day). Always true on a full build. -#}
{% macro in_day_scope(window) -%}
    {%- if is_incremental() -%}
        (
            {{ within_window('reading_start_at', window) }}
            or (reading_start_at is null and load_id > {{ watermark() }})
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro delete_file_days_touched() -%}
    {%- if is_incremental() -%}
        {%- set window = scope_window(this.identifier) -%}
        {%- call delete_rows(this) %}
            {{ within_window(this ~ '.value_date', window) }}
            or (
                {{ this }}.value_date is null
                and {{ this }}.file_sha256 in (
                    select file_sha256
                    from {{ delivered_values() }}
                    where load_id > {{ watermark() }}
                )
            )
        {%- endcall %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The local days each long register gap on a consumption channel spans, with the share of its
    known energy that falls in each (in proportion to time) and the load of the read closing it
    (closing_load_id). The number of days a gap may span is read when the model is compiled. -#}
{% macro register_gap_days() -%}
    {%- set max_days = 2 -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(
            database=target.database | default(none),
            schema=ref('int_register_gap_energy').schema,
            identifier=ref('int_register_gap_energy').identifier
        ) -%}
        {%- if relation is not none -%}
            {%- set longest = run_query(
                "select max(" ~ minutes_between('gap_start_at', 'gap_end_at') ~ ") from " ~ relation
            ) -%}
            {%- if longest and longest[0][0] is not none -%}
                {%- set max_days = (longest[0][0] / 1440) | round(0, 'ceil') | int + 3 -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    with

    gaps as (

        select
            gaps.meter_id,
            coalesce(meters.timezone, 'UTC') as timezone,
            gaps.gap_start_at,
            gaps.gap_end_at,
            gaps.interval_minutes,
            gaps.gap_kwh,
            gaps.load_id as closing_load_id,
            cast({{ utc_to_wall_clock('gaps.gap_start_at', "coalesce(meters.timezone, 'UTC')") }} as date)
                as first_local_date
        from {{ ref('int_register_gap_energy') }} as gaps
        left join {{ ref('dim_meters') }} as meters
            on gaps.meter_id = meters.meter_id
        where gaps.channel_kind = 'consumption'

    ),

    days as (

        select
            gaps.*,
            cast({{ dbt.dateadd('day', 'numbers.k', 'gaps.first_local_date') }} as date) as local_date
        from gaps
        cross join ({{ numbers(max_days) }}) as numbers

    ),

    bounded as (

        select
            days.*,
            {{ wall_clock_to_utc('cast(days.local_date as timestamp)', 'days.timezone') }}
                as day_start_at,
            {{ wall_clock_to_utc(dbt.dateadd('day', 1, 'cast(days.local_date as timestamp)'), 'days.timezone') }}
                as day_end_at
        from days

    )

    select
        meter_id,
        timezone,
        local_date,
        interval_minutes,
        closing_load_id,
        gap_kwh
        * {{ minutes_between(
            'case when gap_start_at > day_start_at then gap_start_at else day_start_at end',
            'case when gap_end_at < day_end_at then gap_end_at else day_end_at end'
        ) }}
        / {{ minutes_between('gap_start_at', 'gap_end_at') }} as gap_kwh
    from bounded
    where day_start_at < gap_end_at and day_end_at > gap_start_at
{%- endmacro %}

{#- fct_daily_consumption pre-hook: the days of the gaps that reads loaded since its watermark
    close (rewritten with their share of the gap's energy). -#}
{% macro delete_gap_days_touched(model_name) -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            exists (
                select 1
                from ({{ register_gap_days() }}) as gap_days
                where
                    gap_days.closing_load_id > {{ watermark(model_name) }}
                    and gap_days.meter_id = {{ this }}.meter_id
                    and gap_days.local_date = {{ this }}.local_date
            )
        {%- endcall %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- The earliest start an incremental fct_daily_consumption must read when reads loaded since
    its watermark close register gaps (a day before the earliest such gap, or the scope
    window's start if that is earlier), as a SQL literal; none when no new read closes a gap. -#}
{% macro new_gap_days_start(model_name) -%}
    {%- if not (execute and is_incremental()) -%}{{ return(none) }}{%- endif -%}
    {%- set window = scope_window(model_name) -%}
    {%- set query -%}
        select cast(min(gap_start_at) as date)
        from {{ ref('int_register_gap_energy') }}
        where load_id > {{ watermark(model_name) }}
    {%- endset -%}
    {%- set found = run_query(query) -%}
    {%- if not found or found[0][0] is none -%}{{ return(none) }}{%- endif -%}
    {%- set first = modules.datetime.date.fromisoformat(found[0][0] | string) -%}
    {%- set start = first - modules.datetime.timedelta(days=1) -%}
    {{ return("least(" ~ window.start ~ ", cast('" ~ start.isoformat() ~ "' as timestamp))") }}
{%- endmacro %}
