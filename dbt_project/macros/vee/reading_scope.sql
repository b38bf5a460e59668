{#- Which meter-days an incremental build of a per-interval model must redo: every (meter,
    channel, UTC day) that a value loaded since the model's watermark falls on, and the days on
    either side (a new reading can close a gap that began the day before). The model deletes
    these days (pre-hook) and writes them again, in one transaction. -#}

{% macro days_touched_since_watermark(validated, model_name) -%}
    select distinct
        touched.meter_id,
        touched.channel,
        touched.channel_kind,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_start_at') }} as date)
            as reading_date
    from {{ validated }} as touched
    cross join ({{ numbers(3) }}) as shift
    where
        touched.load_id > {{ watermark(model_name) }}
        and touched.reading_start_at is not null
{%- endmacro %}

{#- The consumption meter-days (local dates) an analytics model must rebuild: the local dates
    around the UTC days touched since its watermark (a local day lies within a day of its UTC
    date), extended `forward_days` ahead for models whose rows look back that far (a forecast
    for day D uses days up to 4 weeks before it, so new data for X changes D up to X + 28). -#}
{% macro local_days_touched(validated, model_name, forward_days=0, kinds=none) -%}
    {%- set kinds = kinds or ['consumption'] -%}
    select distinct
        touched.meter_id,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_date') }} as date) as local_date
    from ({{ days_touched_since_watermark(validated, model_name) }}) as touched
    cross join ({{ numbers(forward_days + 3) }}) as shift
    where touched.channel_kind in ('{{ kinds | join("', '") }}')
{%- endmacro %}

{#- Delete the scope's rows (pre-hook of an incremental analytics model keyed by meter and a
    local date column). -#}
{% macro delete_local_days_touched(
    validated, model_name, date_column='local_date', forward_days=0, kinds=none
) -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            {{ within_window(
                this ~ '.' ~ date_column, scope_window(validated, model_name, 0, forward_days, kinds)
            ) }}
            and exists (
                select 1
                from ({{ local_days_touched(validated, model_name, forward_days, kinds) }}) as scope
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
{% macro meters_touched_since(validated, model_name) -%}
    select
        days.meter_id,
        days.channel,
        cast(min(days.reading_date) as timestamp) as first_at
    from ({{ days_touched_since_watermark(validated, model_name) }}) as days
    group by days.meter_id, days.channel
{%- endmacro %}

{#- Delete the rows of the (meter, channel, UTC day) scope (pre-hook of incremental models
    keyed by a UTC timestamp column). -#}
{% macro delete_utc_days_touched(validated, model_name, timestamp_column) -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}
            {{ within_window(this ~ '.' ~ timestamp_column, scope_window(validated, model_name)) }}
            and exists (
                select 1
                from ({{ days_touched_since_watermark(validated, model_name) }}) as scope
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
    end; start_date, end_date for date columns). `for_scope_view`: asked by a view that holds
    `model_name`'s scope (built before it), not by the model itself. -#}
{% macro scope_window(
    validated, model_name, before_days=0, after_days=0, kinds=none, for_scope_view=false
) -%}
    {#- Empty window: start = end, at a date every timestamp type can hold (a year-9999
        sentinel overflows DuckDB's nanosecond timestamps). -#}
    {%- set never = "cast('" ~ var('earliest_valid_date') ~ "' as timestamp)" -%}
    {%- set never_date = "cast('" ~ var('earliest_valid_date') ~ "' as date)" -%}
    {%- set window = {'start': never, 'end': never, 'start_date': never_date, 'end_date': never_date} -%}
    {#- (a scope view asks for the window of the model it serves: not yet built, or rebuilt in
        full, that model needs none) -#}
    {%- if not for_scope_view -%}
        {%- set needed = is_incremental() -%}
    {%- else -%}
        {%- set watermarks = adapter.get_relation(
            database=target.database | default(none),
            schema=helper_schema() | trim,
            identifier='incremental_watermarks'
        ) if execute else none -%}
        {%- set needed = watermarks is not none and not is_first_build(model_name) -%}
    {%- endif -%}
    {%- if execute and needed -%}
        {%- set query -%}
            select
                cast(min(reading_date) as {{ dbt.type_string() }}),
                cast(max(reading_date) as {{ dbt.type_string() }})
            from ({{ days_touched_since_watermark(validated, model_name) }}) as touched
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
