{#- NEM12 records to interval readings. A 300 record holds one day of N = 1440 / interval
    values for the meter of the 200 record above it; the 400 records below a 300 record give
    per-interval quality. Output follows the staging contract (see stage_layouts.sql). -#}
{%- set layout = layout_config('nem12') %}
{%- set fields = raw_columns(ref('stg_nem12__records'), 'field_') %}

with

records as (

    select * from {{ ref('stg_nem12__records') }}

),

positioned as (

    -- Every record learns the 200 (meter) and 300 (day) record above it in its own file.
    select
        records.*,
        max(case when record_indicator = '200' then source_line end) over (
            partition by file_sha256 order by source_line
            rows between unbounded preceding and current row
        ) as block_line,
        max(case when record_indicator = '300' then source_line end) over (
            partition by file_sha256 order by source_line
            rows between unbounded preceding and current row
        ) as day_line
    from records

),

blocks as (

    select
        file_sha256,
        source_line as block_line,
        nullif(trim(both ' ' from field_002), '') as nmi,
        trim(both ' ' from field_005) as nmi_suffix,
        field_008 as unit_text,
        field_009 as interval_text,
        {{ try_to_integer('field_009') }} as interval_minutes
    from positioned
    where record_indicator = '200'

),

days as (

    select
        positioned.*,
        blocks.nmi,
        blocks.nmi_suffix,
        blocks.unit_text,
        blocks.interval_text,
        blocks.interval_minutes,
        1440 / nullif(blocks.interval_minutes, 0) as intervals_per_day,
        {{ nem12_after_values(fields, 1) }} as quality_method,
        {{ nem12_after_values(fields, 2) }} as reason_code,
        {{ nem12_after_values(fields, 4) }} as update_datetime,
        {{ try_strptime('positioned.field_002', '%Y%m%d') }} as interval_date
    from positioned
    inner join blocks
        on
            positioned.file_sha256 = blocks.file_sha256
            and positioned.block_line = blocks.block_line
    where positioned.record_indicator = '300'

),

intervals as (

    select
        days.*,
        day_value.interval_number,
        day_value.value_text
    from days
    {{ unpivot_join(
        nem12_interval_rows(fields, 'days'), 'day_value', ['interval_number', 'value_text']
    ) }}
    -- A day under a 200 record whose IntervalLength is unusable (empty, 0, negative, huge) is
    -- one value, its first, judged invalid_interval: every record gets a verdict.
    where
        day_value.interval_number
        between 1 and (case when days.intervals_per_day >= 1 then days.intervals_per_day else 1 end)

),

interval_events as (

    select
        file_sha256,
        day_line,
        {{ try_to_integer('field_002') }} as start_interval,
        {{ try_to_integer('field_003') }} as end_interval,
        nullif(trim(both ' ' from field_004), '') as quality_method,
        nullif(trim(both ' ' from field_005), '') as reason_code
    from positioned
    where record_indicator = '400'

),

with_events as (

    select
        intervals.*,
        interval_events.quality_method as event_quality_method,
        interval_events.reason_code as event_reason_code,
        row_number() over (
            partition by intervals.file_sha256, intervals.source_line, intervals.interval_number
            order by interval_events.start_interval
        ) as event_rank
    from intervals
    left join interval_events
        on
            intervals.file_sha256 = interval_events.file_sha256
            and intervals.source_line = interval_events.day_line
            and intervals.interval_number
            between interval_events.start_interval and interval_events.end_interval

),

readings as (

    select
        'nem12' as layout,
        nmi as meter_id,
        {{ nem12_channel('nmi_suffix', layout.channel_map) }} as channel,
        field_002 || ' #' || cast(interval_number as {{ dbt.type_string() }}) as timestamp_text,
        {{ add_minutes('interval_date', '(interval_number - 1) * interval_minutes') }}
            as wall_clock_at,
        cast(null as integer) as utc_offset_minutes,
        value_text,
        {{ try_to_number('value_text', layout.decimal_mark) }} as value,
        unit_text,
        interval_text,
        interval_minutes,
        left(coalesce(event_quality_method, quality_method), 1) as source_quality_flag,
        coalesce(event_reason_code, reason_code) as source_reason_code,
        {%- if layout.version_format %}
        -- The 300 record's UpdateDateTime: when the meter data provider last changed the day.
            update_datetime as version_text,
            {{ version_value('update_datetime', layout.version_format) }} as version_value,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as version_text,
        cast(null as {{ type_double() }}) as version_value,
        {%- endif %}
        interval_number as value_position,
        source_file,
        source_line,
        file_sha256,
        load_id
    from with_events
    where event_rank = 1

)

select * from readings
