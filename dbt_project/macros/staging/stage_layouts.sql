{#- Staging for the declared layouts. Each staging model calls one of these with its raw source
    and its layout name; the layout's declaration (raw.layouts) says which raw column holds what
    and how to read it. The output is the staging contract every layout shares:

      layout, meter_id, channel, timestamp_text, wall_clock_at, utc_offset_minutes,
      value_text, value, unit_text, interval_text, interval_minutes,
      source_quality_flag, source_reason_code, value_position,
      source_file, source_line, file_sha256, load_id

    Renaming and casting only: nothing is rejected here; unreadable text casts to NULL and the
    original text travels along so validation can say why. -#}

{% macro staged_lineage() -%}
    _source_file as source_file,
    _source_line as source_line,
    _file_sha256 as file_sha256,
    _dlt_load_id as load_id
{%- endmacro %}

{% macro interval_minutes_expr(layout, column) -%}
    {%- set default = layout.default_interval_minutes or 'null' -%}
    {%- if column -%}
        case
            when {{ column }} is null or trim({{ column }}, ' ') = '' then {{ default }}
            else {{ try_to_integer(column) }}
        end
    {%- else -%}
        {{ default }}
    {%- endif -%}
{%- endmacro %}

{#- A long layout: one reading per line, or one line of several registers (each a channel). -#}
{% macro stage_long_layout(source_relation, layout_name) -%}
    {%- set layout = layout_config(layout_name) -%}
    {%- if not execute -%}
        select 1 as placeholder
    {%- else -%}
    {%- set registers = layout.registers -%}
    {%- set value_columns = registers.items() | list -%}
with

source as (

    select * from {{ source_relation }}

),

registers as (

    {%- if registers %}
    -- One row per register of the line: each register is a channel.
    select
        source.*,
        register.channel_name,
        register.value_text,
        register.value_position
    from source
    cross join lateral (
        values
        {%- for column, channel_name in value_columns %}
            ('{{ channel_name }}', source.{{ column }}, {{ loop.index }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as register (channel_name, value_text, value_position)
    {%- else %}
    select
        source.*,
        cast(null as varchar) as channel_name,
        source.{{ layout.value_column }} as value_text,
        1 as value_position
    from source
    {%- endif %}

),

renamed as (

    select
        '{{ layout_name }}' as layout,
        nullif(trim({{ layout.meter_id_column }}, ' '), '') as meter_id,
        coalesce(
            channel_name,
            {%- if layout.channel_column %}
            nullif(trim({{ layout.channel_column }}, ' '), ''),
            {%- endif %}
            '{{ layout.default_channel }}'
        ) as channel,
        {{ layout.timestamp_column }} as timestamp_text,
        {{ parse_wall_clock(layout.timestamp_column, layout.timestamp_format) }} as wall_clock_at,
        {%- if layout.timestamp_format == 'iso8601' %}
        {{ iso8601_offset_minutes(layout.timestamp_column) }} as utc_offset_minutes,
        {%- else %}
        cast(null as integer) as utc_offset_minutes,
        {%- endif %}
        value_text,
        {{ try_to_number('value_text', layout.decimal_mark) }} as value,
        {%- if layout.unit_column %}
        {{ layout.unit_column }} as unit_text,
        {%- else %}
        '{{ layout.fixed_unit }}' as unit_text,
        {%- endif %}
        {%- if layout.interval_column %}
        {{ layout.interval_column }} as interval_text,
        {%- else %}
        cast(null as varchar) as interval_text,
        {%- endif %}
        {{ interval_minutes_expr(layout, layout.interval_column) }} as interval_minutes,
        cast(null as varchar) as source_quality_flag,
        cast(null as varchar) as source_reason_code,
        value_position,
        {{ staged_lineage() }}
    from registers

)

select * from renamed
    {%- endif -%}
{%- endmacro %}


{#- A wide layout: a timestamp in the first column, then one column per meter. The raw table
    keeps the fields by position (field_0001, ...); the file's own header row (raw.file_headers)
    names the meter of each position. -#}
{% macro stage_wide_layout(source_relation, headers_relation, layout_name) -%}
    {%- set layout = layout_config(layout_name) -%}
    {%- set fields = raw_columns(source_relation, 'field_') -%}
    {%- if not execute -%}
        select 1 as placeholder
    {%- else -%}
with

source as (

    select * from {{ source_relation }}

),

headers as (

    select _file_sha256, raw_column, header from {{ headers_relation }}

),

cells as (

    select
        source.*,
        cell.raw_column,
        cell.value_text,
        cell.value_position
    from source
    cross join lateral (
        values
        {%- for field in fields if field != 'field_0001' %}
            ('{{ field }}', source.{{ field }}, {{ loop.index + 1 }}){{ "," if not loop.last }}
        {%- else %}
            (cast(null as varchar), cast(null as varchar), 0)
        {%- endfor %}
    ) as cell (raw_column, value_text, value_position)

),

renamed as (

    select
        '{{ layout_name }}' as layout,
        nullif(trim(headers.header, ' '), '') as meter_id,
        '{{ layout.default_channel }}' as channel,
        cells.field_0001 as timestamp_text,
        {{ parse_wall_clock('cells.field_0001', layout.timestamp_format) }} as wall_clock_at,
        {%- if layout.timestamp_format == 'iso8601' %}
        {{ iso8601_offset_minutes('cells.field_0001') }} as utc_offset_minutes,
        {%- else %}
        cast(null as integer) as utc_offset_minutes,
        {%- endif %}
        cells.value_text,
        {{ try_to_number('cells.value_text', layout.decimal_mark) }} as value,
        '{{ layout.fixed_unit }}' as unit_text,
        cast(null as varchar) as interval_text,
        {{ layout.default_interval_minutes or 'null' }} as interval_minutes,
        cast(null as varchar) as source_quality_flag,
        cast(null as varchar) as source_reason_code,
        cells.value_position,
        cells._source_file as source_file,
        cells._source_line as source_line,
        cells._file_sha256 as file_sha256,
        cells._dlt_load_id as load_id
    from cells
    inner join headers
        on
            cells._file_sha256 = headers._file_sha256
            and cells.raw_column = headers.raw_column

)

select * from renamed
    {%- endif -%}
{%- endmacro %}
