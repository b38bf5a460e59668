{#- Staging for the declared layouts. Each staging model calls one of these with its raw source
    and its layout name; the layout's declaration (raw.layouts) says which raw column holds what
    and how to read it. The output is the staging contract every layout shares:

      layout, meter_id, channel, timestamp_text, wall_clock_at, utc_offset_minutes,
      value_text, value, unit_text, interval_text, interval_minutes,
      source_quality_flag, source_reason_code, version_text, version_value, value_position,
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
            when {{ column }} is null or trim(both ' ' from {{ column }}) = '' then {{ default }}
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
    {%- set rows = [] %}
    {%- for column, channel_name in value_columns %}
        {%- do rows.append(["'" ~ channel_name ~ "'", 'source.' ~ column, loop.index]) %}
    {%- endfor %}
    {{ unpivot_join(rows, 'register', ['channel_name', 'value_text', 'value_position']) }}
    {%- else %}
    select
        source.*,
        cast(null as {{ dbt.type_string() }}) as channel_name,
        source.{{ layout.value_column }} as value_text,
        1 as value_position
    from source
    {%- endif %}

),

renamed as (

    select
        '{{ layout_name }}' as layout,
        nullif(trim(both ' ' from {{ layout.meter_id_column }}), '') as meter_id,
        coalesce(
            channel_name,
            {%- if layout.channel_column %}
            nullif(trim(both ' ' from {{ layout.channel_column }}), ''),
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
        cast(null as {{ dbt.type_string() }}) as interval_text,
        {%- endif %}
        {{ interval_minutes_expr(layout, layout.interval_column) }} as interval_minutes,
        {{ source_quality_of_row(layout.source_quality_column, layout) }} as source_quality_flag,
        cast(null as {{ dbt.type_string() }}) as source_reason_code,
        {%- if layout.version_column %}
        {{ layout.version_column }} as version_text,
        {{ version_value(layout.version_column, layout.version_format) }} as version_value,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as version_text,
        cast(null as {{ type_double() }}) as version_value,
        {%- endif %}
        value_position,
        {{ staged_lineage() }}
    from registers

)

select * from renamed
    {%- endif -%}
{%- endmacro %}


{#- A wide layout: one row per timestamp, one column per meter (and channel). The raw table keeps
    the fields by position (field_0001, ...); the loader recorded, per file, what each position's
    header is (raw.file_headers: role timestamp, meter, quality or ignored, and a meter's id
    and channel, from the layout's `columns` declaration). Only meter columns become readings;
    the timestamp and the source's quality flags are read from their own positions. Headers
    loaded before roles were recorded: the first field is the timestamp, the others meters. -#}
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

    select
        _file_sha256,
        raw_column,
        header,
        coalesce(
            role, case when raw_column = 'field_0001' then 'timestamp' else 'meter' end
        ) as role,
        nullif(trim(both ' ' from coalesce(meter_id, header)), '') as meter_id,
        coalesce(channel, '{{ layout.default_channel }}') as channel
    from {{ headers_relation }}

),

file_positions as (

    -- Per file, which field holds the timestamp and which the source's quality flags.
    select
        _file_sha256,
        max(case when role = 'timestamp' then raw_column end) as timestamp_column,
        max(case when role = 'quality' then raw_column end) as quality_column
    from headers
    group by _file_sha256

),

located as (

    select
        source.*,
        {{ wide_field_at('file_positions.timestamp_column', fields, 'source') }} as timestamp_text,
        {{ wide_field_at('file_positions.quality_column', fields, 'source') }} as quality_text
    from source
    inner join file_positions on source._file_sha256 = file_positions._file_sha256

),

cells as (

    select
        located.*,
        cell.raw_column,
        cell.value_text,
        cell.value_position
    from located
    {%- set rows = [] %}
    {%- for field in fields %}
        {%- do rows.append(["'" ~ field ~ "'", 'located.' ~ field, loop.index]) %}
    {%- else %}
        {%- set no_text = 'cast(null as ' ~ dbt.type_string() ~ ')' %}
        {%- do rows.append([no_text, no_text, 0]) %}
    {%- endfor %}
    {{ unpivot_join(rows, 'cell', ['raw_column', 'value_text', 'value_position']) }}

),

renamed as (

    select
        '{{ layout_name }}' as layout,
        headers.meter_id,
        headers.channel,
        cells.timestamp_text,
        {{ parse_wall_clock('cells.timestamp_text', layout.timestamp_format) }} as wall_clock_at,
        {%- if layout.timestamp_format == 'iso8601' %}
        {{ iso8601_offset_minutes('cells.timestamp_text') }} as utc_offset_minutes,
        {%- else %}
        cast(null as integer) as utc_offset_minutes,
        {%- endif %}
        cells.value_text,
        {{ try_to_number('cells.value_text', layout.decimal_mark) }} as value,
        '{{ layout.fixed_unit }}' as unit_text,
        cast(null as {{ dbt.type_string() }}) as interval_text,
        {{ layout.default_interval_minutes or 'null' }} as interval_minutes,
        {{ source_quality_of_cell('cells.quality_text', 'headers.header', layout) }}
            as source_quality_flag,
        cast(null as {{ dbt.type_string() }}) as source_reason_code,
        cast(null as {{ dbt.type_string() }}) as version_text,
        cast(null as {{ type_double() }}) as version_value,
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
    where headers.role = 'meter'

)

select * from renamed
    {%- endif -%}
{%- endmacro %}

{#- The text of the field named by `column_expr` (a raw column name held in a column). -#}
{% macro wide_field_at(column_expr, fields, relation) -%}
    case {{ column_expr }}
    {%- for field in fields %}
        when '{{ field }}' then {{ relation }}.{{ field }}
    {%- endfor %}
    end
{%- endmacro %}

{#- The source's own quality verdict on a value, where the layout names a column for it
    (`source_quality`): 'E' when the source estimated the value, 'A' otherwise; NULL when the
    layout has no such column. A long layout's column holds a flag per row (`estimated` lists
    the flags meaning estimated); a wide layout's may instead list the columns the source
    estimated in that row (`separator`), matched against the cell's header. -#}
{% macro source_quality_of_row(column, layout) -%}
    {%- if column and layout.source_quality_estimated -%}
        case
            when upper(trim(both ' ' from {{ column }})) in (
                {%- for flag in layout.source_quality_estimated -%}
                    '{{ flag | upper }}'{{ ", " if not loop.last }}
                {%- endfor -%}
            ) then 'E'
            else 'A'
        end
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{% macro source_quality_of_cell(quality_text, header, layout) -%}
    {%- set separator = layout.source_quality_separator -%}
    {%- if layout.source_quality_column and separator -%}
        case
            when position(
                '{{ separator }}' || replace(trim(both ' ' from {{ header }}), ' ', '') || '{{ separator }}'
                in '{{ separator }}' || replace(coalesce({{ quality_text }}, ''), ' ', '')
                || '{{ separator }}'
            ) > 0 then 'E'
            else 'A'
        end
    {%- else -%}
        {{ source_quality_of_row(quality_text if layout.source_quality_column else none, layout) }}
    {%- endif -%}
{%- endmacro %}

{#- What orders a layout's versions of one interval (its declared `version`): a timestamp read
    with `format` (as seconds), or a number. NULL where the text does not read. -#}
{% macro version_value(expr, format) -%}
    {%- if format == 'number' -%}
        cast({{ try_to_number(expr) }} as {{ type_double() }})
    {%- else -%}
        cast({{ epoch_seconds(parse_wall_clock(expr, format)) }} as {{ type_double() }})
    {%- endif -%}
{%- endmacro %}
