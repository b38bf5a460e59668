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

{#- A long layout: one reading per line, or one line of several value columns (registers, or
    the header fields `value_columns.pattern` picks), each a channel. `selected`: the rows the
    layout's `select` keeps (true), or the others (false: stg_long__unselected_values).
    `file_headers`: raw.file_headers, where a value column found per file (a pattern, column
    groups) takes its value_position from: the field's place in that file's own header, which no
    other file can change (the raw table's columns are every file's union, and grow). -#}
{% macro stage_long_layout(source_relation, layout_name, selected=true, file_headers=none) -%}
    {%- set layout = layout_config(layout_name) -%}
    {%- if not execute -%}
        select 1 as placeholder
    {%- else -%}
    {%- set value_columns = layout_value_columns(layout, source_relation) -%}
    {%- set found_per_file = (layout.value_columns_pattern or layout.column_groups) and not layout.registers -%}
    {%- if found_per_file and value_columns and file_headers is none -%}
        {{ exceptions.raise_compiler_error('layout ' ~ layout_name ~ ': its value columns are found per file, so staging needs raw.file_headers') }}
    {%- endif -%}
    {%- set stamp = stamp_text(layout.timestamp_columns) -%}
    {%- set groups = layout.timestamp_pattern_groups -%}
    {%- if layout.timestamp_pattern -%}
        {%- set nbsp_free = "replace(" ~ stamp ~ ", ' ', ' ')" -%}
        {%- set start_text = regex_group(nbsp_free, layout.timestamp_pattern | replace("'", "''"), groups['start']) -%}
        {%- set end_text = regex_group(nbsp_free, layout.timestamp_pattern | replace("'", "''"), groups['end']) if 'end' in groups else none -%}
    {%- else -%}
        {%- set start_text = stamp -%}
        {%- set end_text = stamp_text(layout.end_timestamp_columns) if layout.end_timestamp_columns else none -%}
    {%- endif -%}
with

source as (

    select * from {{ source_relation }}
    {%- if layout.select_column %}
    where {{ 'not ' if not selected }}{{ is_selected_row(layout) }}
    {%- elif not selected %}
    where 1 = 0
    {%- endif %}

),

registers as (

    {%- if value_columns %}
    -- One row per value column of the line: each is a channel. A column the file does not
    -- have (the table holds several files' headers) is NULL, and no value.
    select * from (
        select
            source.*,
            register.channel_name,
            register.register_unit,
            register.register_interval,
            register.value_text,
            register.{{ 'register_column' if found_per_file else 'value_position' }}
        from source
        {%- set rows = [] %}
        {%- for column in value_columns %}
            {%- set null_text = 'cast(null as ' ~ dbt.type_string() ~ ')' %}
            {%- set unit = 'source.' ~ adapter.quote(column.unit_column) if column.unit_column else (sql_text(column.unit) if column.unit else null_text) %}
            {%- set interval = 'source.' ~ adapter.quote(column.interval_column) if column.interval_column else null_text %}
            {%- do rows.append([sql_text(column.channel), unit, interval, 'source.' ~ adapter.quote(column.column), sql_text(column.column) if found_per_file else loop.index]) %}
        {%- endfor %}
        {{ unpivot_join(rows, 'register', ['channel_name', 'register_unit', 'register_interval', 'value_text', 'register_column' if found_per_file else 'value_position']) }}
    ) as unpivoted
    {%- if found_per_file %}
    -- the column's place in its file's header (the first, where blocks repeat the header);
    -- joined outside the unpivot: Spark takes no join after a lateral view
    left join (
        select
            _file_sha256 as header_file_sha256,
            raw_column as header_column,
            min(position) as value_position
        from {{ file_headers }}
        group by _file_sha256, raw_column
    ) as header_positions
        on
            unpivoted._file_sha256 = header_positions.header_file_sha256
            and unpivoted.register_column = header_positions.header_column
    {%- endif %}
    where value_text is not null
    {%- if layout.column_groups %}
        -- a group left wholly blank on a row (a 30-minute channel beside a 15-minute one)
        -- holds no value there
        and not (
            trim(both ' ' from value_text) = ''
            and coalesce(trim(both ' ' from register_unit), '') = ''
            and coalesce(trim(both ' ' from register_interval), '') = ''
        )
    {%- endif %}
    {%- elif layout.value_columns_pattern or layout.column_groups %}
    -- No file has brought a header field the pattern (or a column group) fits yet.
    select
        source.*,
        cast(null as {{ dbt.type_string() }}) as channel_name,
        cast(null as {{ dbt.type_string() }}) as register_unit,
        cast(null as {{ dbt.type_string() }}) as register_interval,
        cast(null as {{ dbt.type_string() }}) as value_text,
        0 as value_position
    from source
    where 1 = 0
    {%- else %}
    select
        source.*,
        cast(null as {{ dbt.type_string() }}) as channel_name,
        cast(null as {{ dbt.type_string() }}) as register_unit,
        cast(null as {{ dbt.type_string() }}) as register_interval,
        source.{{ adapter.quote(layout.value_column) }} as value_text,
        1 as value_position
    from source
    {%- endif %}

),

stamped as (

    select
        registers.*,
        {{ start_text }} as start_text,
        {%- if end_text %}
        {{ end_text }} as end_text
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as end_text
        {%- endif %}
    from registers

),

renamed as (

    select
        '{{ layout_name }}' as layout,
        nullif(trim(both ' ' from {{ cleaned_text(adapter.quote(layout.meter_id_column), layout.meter_id_clean) }}), '') as meter_id,
        coalesce(
            channel_name,
            {%- if layout.channel_column %}
            nullif(trim(both ' ' from {{ adapter.quote(layout.channel_column) }}), ''),
            {%- endif %}
            {{ sql_text(layout.default_channel) }}
        ) as channel,
        {{ stamp }} as timestamp_text,
        {{ parse_stamp('start_text', layout.timestamp_formats) }} as wall_clock_at,
        {%- if layout.timestamp_format == 'iso8601' %}
        {{ iso8601_offset_minutes('start_text') }} as utc_offset_minutes,
        {%- else %}
        cast(null as integer) as utc_offset_minutes,
        {%- endif %}
        value_text,
        {{ try_to_number(cleaned_text('value_text', layout.value_clean, layout.decimal_mark), layout.decimal_mark) }} as value,
        coalesce(
            register_unit,
            {%- if layout.unit_column %}
            {{ adapter.quote(layout.unit_column) }},
            {%- endif %}
            {{ sql_text(layout.fixed_unit) if layout.fixed_unit else 'cast(null as ' ~ dbt.type_string() ~ ')' }}
        ) as unit_text,
        {%- if 'interval_minutes' in (layout.column_groups.columns or []) %}
        register_interval as interval_text,
        {{ interval_minutes_expr(layout, 'register_interval') }} as interval_minutes,
        {%- elif end_text %}
        end_text as interval_text,
        {{ interval_from_stamps('start_text', 'end_text', layout) }} as interval_minutes,
        {%- elif layout.interval_column %}
        {{ adapter.quote(layout.interval_column) }} as interval_text,
        {{ interval_minutes_expr(layout, adapter.quote(layout.interval_column)) }} as interval_minutes,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as interval_text,
        {{ interval_minutes_expr(layout, none) }} as interval_minutes,
        {%- endif %}
        {{ source_quality_of_row(adapter.quote(layout.source_quality_column) if layout.source_quality_column else none, layout) }} as source_quality_flag,
        cast(null as {{ dbt.type_string() }}) as source_reason_code,
        {%- if layout.version_column %}
        {{ adapter.quote(layout.version_column) }} as version_text,
        {{ version_value(adapter.quote(layout.version_column), layout.version_format) }} as version_value,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as version_text,
        cast(null as {{ type_double() }}) as version_value,
        {%- endif %}
        value_position,
        {{ staged_lineage() }}
    from stamped

)

select * from renamed
    {%- endif -%}
{%- endmacro %}

{#- A text literal for a value from layouts.yml (a channel, a unit, a token). -#}
{% macro sql_text(value) -%}
    {{ return(adapter.dispatch('sql_text', 'smartmeter')(value)) }}
{%- endmacro %}

{% macro default__sql_text(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{#- Spark reads backslashes in string literals as escapes. -#}
{% macro spark__sql_text(value) -%}
    '{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- A stamp written in one column, or in several (a date and a time) joined by one space. -#}
{% macro stamp_text(columns) -%}
    {%- for column in columns -%}
        {{ "trim(both ' ' from " ~ adapter.quote(column) ~ ")" }}{{ " || ' ' || " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The first of the layout's formats that reads the text. -#}
{% macro parse_stamp(expr, formats) -%}
    {%- if formats | length == 1 -%}
        {{ parse_wall_clock(expr, formats[0]) }}
    {%- else -%}
        coalesce(
        {%- for format in formats %}
            {{ parse_wall_clock(expr, format) }}{{ ',' if not loop.last }}
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{#- An interval's length from its declared start and end (minutes, whole): an inclusive end
    (00:00-00:59, 00:00:00-00:14:59) is one minute (or second) short of the next start; an end
    on the next day written with the start's date (23:00-00:00) wraps around midnight. -#}
{% macro interval_from_stamps(start_text, end_text, layout) -%}
    {%- set formats = layout.timestamp_formats -%}
    {%- set step = (1.0 / 60 if '%S' in formats[0] else 1.0) if layout.end_is_inclusive else 0.0 -%}
    {%- set seconds = epoch_seconds(parse_stamp(end_text, formats)) ~ ' - ' ~ epoch_seconds(parse_stamp(start_text, formats)) -%}
    cast(round(
        case
            when ({{ seconds }}) < 0 then ({{ seconds }}) / 60.0 + 1440
            else ({{ seconds }}) / 60.0
        end + {{ step }}
    ) as integer)
{%- endmacro %}

{#- Does a row pass the layout's `select` (its column's value, trimmed, case-insensitive, is
    one of the listed values)? A row without the column is not selected. -#}
{% macro is_selected_row(layout) -%}
    coalesce(lower(trim(both ' ' from {{ adapter.quote(layout.select_column) }})) in (
        {%- for value in layout.select_values -%}
            {{ sql_text(value | lower) }}{{ ", " if not loop.last }}
        {%- endfor -%}
    ), false)
{%- endmacro %}

{#- Cell clean-up a layout declares (`clean` of value or meter_id): an Excel text formula
    ="0123" unwrapped, thousands separators, currency signs and spaces (also non-breaking)
    removed. What is still not a number after it is unparseable_value, as before. -#}
{% macro cleaned_text(expr, rules, decimal_mark='.') -%}
    {%- set text = expr -%}
    {%- if 'excel_text' in rules -%}
        {%- set text = "case when " ~ text ~ " like '=\"%\"' then substring(" ~ text ~ ", 3, length(" ~ text ~ ") - 3) else " ~ text ~ " end" -%}
    {%- endif -%}
    {%- if 'spaces' in rules -%}
        {%- set text = "replace(replace(replace(" ~ text ~ ", ' ', ''), ' ', ''), ' ', '')" -%}
    {%- endif -%}
    {%- if 'currency' in rules -%}
        {%- for sign in ['$', '€', '£', '¥'] -%}
            {%- set text = "replace(" ~ text ~ ", '" ~ sign ~ "', '')" -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if 'thousands_separator' in rules -%}
        {%- set separator = '.' if decimal_mark == ',' else ',' -%}
        {%- set text = "replace(replace(" ~ text ~ ", '" ~ separator ~ "', ''), '''', '')" -%}
    {%- endif -%}
    {{ text }}
{%- endmacro %}

{#- The value columns of a long layout: its `value` column, its declared `registers`, or the
    header fields its `value_columns.pattern` fits (full match, case-insensitive; named groups
    channel and unit), read from every file's header (raw.file_headers) when the model is
    compiled. A field whose unit is not energy or power (kVAR, V, A, $) is never a value. -#}
{% macro layout_value_columns(layout, relation) -%}
    {%- set found = [] -%}
    {%- if layout.registers -%}
        {%- for column, channel_name in layout.registers.items() -%}
            {%- do found.append({'column': column, 'channel': channel_name, 'unit': none}) -%}
        {%- endfor -%}
    {%- elif layout.column_groups -%}
        {%- do found.extend(layout_column_groups(layout, relation)) -%}
    {%- elif layout.value_columns_pattern -%}
        {%- set present = raw_columns(relation) -%}
        {%- set headers_relation = adapter.get_relation(database=target.database | default(none), schema='raw', identifier='file_headers') -%}
        {%- if headers_relation is not none and present -%}
            {%- set rows = run_query("select distinct raw_column, header from " ~ headers_relation ~ " order by raw_column, header") -%}
            {%- set seen = [] -%}
            {%- set channels = {} -%}
            {%- for text, channel_name in layout.value_columns_channels.items() -%}
                {%- do channels.update({text | lower: channel_name}) -%}
            {%- endfor -%}
            {%- for row in rows -%}
                {%- set match = modules.re.fullmatch(layout.value_columns_pattern, (row[1] or '').strip(), modules.re.IGNORECASE) -%}
                {%- if match and row[0] in present and row[0] not in seen -%}
                    {%- set named = match.groupdict() -%}
                    {%- set unit = (named.get('unit') or '').strip() or none -%}
                    {%- set label = (named.get('channel') or '').strip() -%}
                    {%- set channel_name = channels.get(label | lower) or channels.get((row[1] or '').strip() | lower) or (label | lower) or layout.default_channel -%}
                    {%- if unit is none or (unit | lower | replace(' ', '')) in ['w', 'kw', 'mw', 'wh', 'kwh', 'mwh'] -%}
                        {%- do seen.append(row[0]) -%}
                        {%- do found.append({'column': row[0], 'channel': channel_name, 'unit': unit}) -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}


{#- The repeated column groups of a long layout (`column_groups`): from `first` on, every run of
    `columns` (value, and optionally unit and interval_minutes) is one channel, named by its
    value column's header (looked up in `channels`, else lower-cased). Read per file from
    raw.file_headers when the model is compiled: files may hold different numbers of groups. -#}
{% macro layout_column_groups(layout, relation) -%}
    {%- set found = [] -%}
    {%- set headers_relation = adapter.get_relation(database=target.database | default(none), schema='raw', identifier='file_headers') -%}
    {%- set present = raw_columns(relation) -%}
    {%- if headers_relation is not none and present -%}
        {%- set roles = layout.column_groups.columns -%}
        {%- set width = roles | length -%}
        {%- set query -%}
            select _file_sha256, position, raw_column, header from {{ headers_relation }}
            where _file_sha256 in (select distinct _file_sha256 from {{ relation }})
            order by _file_sha256, position
        {%- endset -%}
        {%- set by_file = {} -%}
        {%- for row in run_query(query) -%}
            {%- do by_file.setdefault(row[0], {}).update({row[1] | int: (row[2], (row[3] or '').strip())}) -%}
        {%- endfor -%}
        {%- set seen = [] -%}
        {%- for sha, columns in by_file.items() -%}
            {%- set last = columns.keys() | max -%}
            {%- for start in range(layout.column_groups.first, last + 1, width) -%}
                {%- set group = {} -%}
                {%- for role in roles -%}
                    {%- if columns.get(start + loop.index0) -%}{%- do group.update({role: columns[start + loop.index0]}) -%}{%- endif -%}
                {%- endfor -%}
                {%- if group.value and group.value[0] in present and group.value[0] not in seen -%}
                    {%- do seen.append(group.value[0]) -%}
                    {%- set label = group.value[1] | lower -%}
                    {%- do found.append({
                        'column': group.value[0],
                        'channel': layout.column_groups.channels.get(label) or label or layout.default_channel,
                        'unit': none,
                        'unit_column': group.unit[0] if group.unit else none,
                        'interval_column': group.interval_minutes[0] if group.interval_minutes else none
                    }) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
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
    {%- if column and layout.source_quality_map -%}
        {#- `map`: the first listed text found in the column (case-insensitive) gives the flag #}
        case
        {%- for text, flag in layout.source_quality_map.items() %}
            when position({{ sql_text(text | lower) }} in lower(coalesce({{ column }}, ''))) > 0
                then '{{ flag }}'
        {%- endfor %}
            else 'A'
        end
    {%- elif column and layout.source_quality_estimated -%}
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
