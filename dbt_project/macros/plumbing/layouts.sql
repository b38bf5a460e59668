{#- The layout declarations, as the loader recorded them in raw.layouts (copied from
    dlt_pipelines/layouts.yml at every ingest). Read at compile time, so each staging model is
    compiled for its layout's format, time zone and units. `layouts`: that table, as the model
    names it (source('raw', 'layouts')), so that dbt's lineage shows it; raw.layouts if none. -#}

{% macro layouts_table(layouts=none) -%}
    {{ return(adapter.get_relation(
        database=target.database | default(none),
        schema=layouts.schema if layouts is not none else 'raw',
        identifier=layouts.identifier if layouts is not none else 'layouts'
    )) }}
{%- endmacro %}

{% macro layout_config(name, layouts=none) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set relation = layouts_table(layouts) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "raw.layouts does not exist yet: run `smartmeter init` (or `smartmeter ingest`) first") }}
    {%- endif -%}
    {%- set rows = run_query("select * from " ~ relation ~ " where layout = '" ~ name ~ "'") -%}
    {%- if rows | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "layout '" ~ name ~ "' is not in raw.layouts: is it declared in dlt_pipelines/layouts.yml, "
            ~ "and has `smartmeter ingest` run since?") }}
    {%- endif -%}
    {%- set config = {} -%}
    {%- for column in rows.column_names -%}
        {%- do config.update({column: rows[0][column]}) -%}
    {%- endfor -%}
    {%- do config.update({
        'registers': fromjson(config['registers'] or '{}'),
        'channel_map': fromjson(config['channel_map'] or '{}'),
        'channel_kinds': fromjson(config.get('channel_kinds') or '{}'),
        'channel_kind_prefixes': fromjson(config.get('channel_kind_prefixes') or '{}'),
        'default_channel_kind': config.get('default_channel_kind') or 'consumption',
        'source_quality_estimated': fromjson(config.get('source_quality_estimated') or '[]'),
        'source_quality_map': fromjson(config.get('source_quality_map') or '{}'),
        'timestamp_columns': fromjson(config.get('timestamp_columns') or '[]')
            or ([config['timestamp_column']] if config.get('timestamp_column') else []),
        'timestamp_formats': fromjson(config.get('timestamp_formats') or '[]')
            or ([config['timestamp_format']] if config.get('timestamp_format') else []),
        'timestamp_pattern_groups': fromjson(config.get('timestamp_pattern_groups') or '{}'),
        'end_timestamp_columns': fromjson(config.get('end_timestamp_columns') or '[]'),
        'end_is_inclusive': config.get('end_is_inclusive') == 'true',
        'meter_id_clean': fromjson(config.get('meter_id_clean') or '[]'),
        'value_missing': fromjson(config.get('value_missing') or '[]'),
        'value_clean': fromjson(config.get('value_clean') or '[]'),
        'value_columns_channels': fromjson(config.get('value_columns_channels') or '{}'),
        'select_values': fromjson(config.get('select_values') or '[]'),
        'column_groups': fromjson(config.get('column_groups') or '{}')
    }) -%}
    {{ return(config) }}
{%- endmacro %}

{#- The columns a raw table really has (dlt adds columns as wider files arrive). -#}
{% macro raw_columns(relation, prefix='') -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if column.name.startswith(prefix) -%}{%- do names.append(column.name) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names | sort) }}
{%- endmacro %}

{#- `a, b, c` (optionally `alias.a, ...`): a select list from a list of column names. -#}
{% macro column_list(columns, relation=none) -%}
    {%- for column in columns -%}
        {{ relation ~ '.' if relation else '' }}{{ column }}{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The kind of energy a channel carries (consumption, export, generation, submeter), from the
    layout's declaration: its name, else its first letters, else the layout's default. -#}
{% macro channel_kind(channel, layout) -%}
    case
    {%- for name, kind in layout.channel_kinds.items() %}
        when lower({{ channel }}) = '{{ name }}' then '{{ kind }}'
    {%- endfor %}
    {%- for prefix, kind in layout.channel_kind_prefixes.items() %}
        when lower({{ channel }}) like '{{ prefix }}%' then '{{ kind }}'
    {%- endfor %}
        else '{{ layout.default_channel_kind }}'
    end
{%- endmacro %}

{#- {layout: value} for every layout that declares `key` (a column of raw.layouts), read when
    a model is compiled; {} before any layout declares it. -#}
{% macro layout_settings(key) -%}
    {%- set settings = {} -%}
    {%- if execute -%}
        {%- set relation = adapter.get_relation(database=target.database | default(none), schema='raw', identifier='layouts') -%}
        {%- if relation is not none -%}
            {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
            {%- if key in columns -%}
                {%- set rows = run_query(
                    "select layout, " ~ key ~ " from " ~ relation ~ " where " ~ key ~ " is not null"
                ) -%}
                {%- for row in rows -%}
                    {%- do settings.update({row[0]: row[1]}) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(settings) }}
{%- endmacro %}

{#- The declared layouts of a shape (long, wide, nem12), from raw.layouts, by name. -#}
{% macro layouts_of_shape(shape, layouts=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set relation = layouts_table(layouts) -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error(
            "raw.layouts does not exist yet: run `smartmeter init` (or `smartmeter ingest`) first") }}
    {%- endif -%}
    {%- set rows = run_query(
        "select layout from " ~ relation ~ " where shape = '" ~ shape ~ "' order by layout"
    ) -%}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}

{#- A layout's raw table (created by `smartmeter init` / ingest for every declared layout). -#}
{% macro layout_raw_relation(layout) -%}
    {{ return(api.Relation.create(
        database=target.database | default(none), schema='raw', identifier=layout.raw_table
    )) }}
{%- endmacro %}

{#- The raw tables of a shape's layouts declared in the repository (declared_layout_tables), as
    sources: a staging model passes them to stage_layouts_of_shape, so dbt's lineage shows each
    raw table flowing into it. -#}
{% macro declared_layout_sources(shape) -%}
    {%- set relations = {} -%}
    {%- for table in declared_layout_tables(shape) -%}
        {%- do relations.update({table: source('raw', table)}) -%}
    {%- endfor -%}
    {{ return(relations) }}
{%- endmacro %}

{#- Every layout of one shape, staged and stacked; no rows (but the contract's columns) when
    none is declared. `sources`: the declared layouts' raw tables (declared_layout_sources) by
    name; a layout the data home added later is read from its raw table directly. `layouts`:
    raw.layouts; `file_headers`: raw.file_headers (the wide layouts' header roles, and where a
    long layout's per-file value columns sit), both as the model names them. -#}
{% macro stage_layouts_of_shape(shape, sources, layouts, selected=true, file_headers=none) -%}
    {%- set names = [] -%}
    {%- for name in layouts_of_shape(shape, layouts) -%}
        {#- the rows a layout's `select` leaves out: only layouts that declare one #}
        {%- if selected or layout_config(name, layouts).select_column -%}{%- do names.append(name) -%}{%- endif -%}
    {%- endfor -%}
    {%- if not names %}
    select
        cast(null as {{ dbt.type_string() }}) as layout,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        cast(null as {{ dbt.type_string() }}) as channel,
        cast(null as {{ dbt.type_string() }}) as timestamp_text,
        cast(null as timestamp) as wall_clock_at,
        cast(null as integer) as utc_offset_minutes,
        cast(null as {{ dbt.type_string() }}) as value_text,
        cast(null as {{ type_double() }}) as value,
        cast(null as {{ dbt.type_string() }}) as unit_text,
        cast(null as {{ dbt.type_string() }}) as interval_text,
        cast(null as integer) as interval_minutes,
        cast(null as {{ dbt.type_string() }}) as source_quality_flag,
        cast(null as {{ dbt.type_string() }}) as source_reason_code,
        cast(null as {{ dbt.type_string() }}) as version_text,
        cast(null as {{ type_double() }}) as version_value,
        cast(null as integer) as value_position,
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as bigint) as source_line,
        cast(null as {{ dbt.type_string() }}) as file_sha256,
        cast(null as {{ dbt.type_string() }}) as load_id
    where false
    {%- endif %}
    {%- for name in names %}
        {%- set layout = layout_config(name, layouts) %}
        {%- set relation = sources[layout.raw_table] if layout.raw_table in sources else layout_raw_relation(layout) %}
    select * from (
        {%- if shape == 'wide' %}
        {{ stage_wide_layout(relation, file_headers, name) }}
        {%- else %}
        {{ stage_long_layout(relation, name, selected, file_headers) }}
        {%- endif %}
    ) as {{ name }}_rows
        {%- if not loop.last %}
    union all
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{#- Is the text one of the tokens its layout declares as "no value" (`value.missing`: `?`,
    `-`), compared trimmed and case-insensitively? Read from raw.layouts when compiled. -#}
{% macro is_declared_missing_token(layout_expr, expr) -%}
    {%- set declared = [] -%}
    {%- for name, tokens in layout_settings('value_missing').items() -%}
        {%- if fromjson(tokens or '[]') -%}{%- do declared.append((name, fromjson(tokens))) -%}{%- endif -%}
    {%- endfor -%}
    (
    {%- for name, tokens in declared %}
        ({{ layout_expr }} = '{{ name }}' and lower(trim(both ' ' from {{ expr }})) in (
            {%- for token in tokens -%}
                {{ sql_text(token | lower) }}{{ ", " if not loop.last }}
            {%- endfor -%}
        )) or
    {%- endfor %} 1 = 0
    )
{%- endmacro %}
