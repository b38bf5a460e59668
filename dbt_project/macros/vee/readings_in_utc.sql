{#- Place one layout's staged readings on the UTC time line.

    - An explicit offset (ISO 8601 `Z` or `+10:00`) wins.
    - A UTC layout needs no conversion.
    - Otherwise the wall-clock time is read in the layout's zone. Of the instants that show this
      wall-clock time (none in the hour skipped at a DST start, two in the hour repeated at a DST
      end), the first occurrence of a label in a file takes the earlier instant and a second
      occurrence the later one, so a repeated hour written twice, in order, is not a duplicate.
      A label that names no instant is left without one (`nonexistent_local_time`).
    - dst_folded_labels_zone: the source's standard-time labels went through that zone's DST
      rules, which moved the skipped hour's labels back an hour onto the hour before. A second
      occurrence of a label whose next hour does not exist there is moved forward an hour.

    Then a stamp that marks the interval end is turned into the interval start. -#}

{#- The columns every staged layout yields (stage_layouts.sql). -#}
{% macro staging_contract_columns() -%}
    {{ return([
        'layout', 'meter_id', 'channel', 'timestamp_text', 'wall_clock_at', 'utc_offset_minutes',
        'value_text', 'value', 'unit_text', 'interval_text', 'interval_minutes',
        'source_quality_flag', 'source_reason_code', 'version_text', 'version_value',
        'value_position', 'source_file', 'source_line', 'file_sha256', 'load_id'
    ]) }}
{%- endmacro %}

{#- The columns of a judged reading that int_readings_validated keeps (and carries between
    runs). The delivered text of timestamp, value and interval is kept only for rows that fail a
    row check: for the rest the parsed values say it, and the lineage points at the raw row. -#}
{% macro validated_base_columns() -%}
    {{ return([
        'layout', 'meter_id', 'channel', 'channel_kind', 'reading_start_at', 'reading_end_at',
        'interval_minutes', 'value', 'value_kind', 'unit_text', 'unit_kind', 'unit_scale',
        'timezone',
        'source_quality_flag', 'source_reason_code', 'version_text', 'version_value',
        'value_position', 'source_file', 'source_line', 'file_sha256', 'load_id', 'row_reason',
        'timestamp_text', 'value_text', 'interval_text'
    ]) }}
{%- endmacro %}

{#- The layout's zone or value kind, or, for Green Button XML (shape espi), whose files say
    their own local zone and mix interval and register series, the staged row's. -#}
{% macro row_or_layout(relation, setting, declared, layout) -%}
    {%- if layout.shape == 'espi' -%}
        {{ relation }}.row_{{ setting }}
    {%- else -%}
        '{{ declared }}'
    {%- endif -%}
{%- endmacro %}

{% macro is_utc_zone(tz) -%}
    {{ return(tz in ('UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Z')) }}
{%- endmacro %}

{% macro wall_clock_exists(wall, tz) -%}
    ({{ utc_to_wall_clock(wall_clock_to_utc(wall, tz), tz) }} = {{ wall }})
{%- endmacro %}

{#- The zones a data home sets for files of this layout (raw.file_zones, from
    <home>/layout_zones.yml), read when the model is compiled: none, usually. -#}
{% macro home_zones_of(layout) -%}
    {%- set zones = [] -%}
    {%- set relation = adapter.get_relation(database=target.database | default(none), schema='raw', identifier='file_zones') -%}
    {%- if relation is not none -%}
        {%- for row in run_query("select distinct timezone from " ~ relation ~ " where layout = " ~ sql_text(layout.layout)) -%}
            {%- do zones.append(row[0]) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(zones) }}
{%- endmacro %}

{#- One layout's staged rows on the UTC time line, read in its zone (or the zone its data home
    sets for a file) with its conventions. `file_zones`: source('raw', 'file_zones'), passed by
    the model so that its lineage shows it. -#}
{% macro readings_in_utc(relation, layout, file_zones) -%}
    {%- if not execute -%}{{ return('select 1 as placeholder') }}{%- endif -%}
    {%- set home_zones = home_zones_of(layout) -%}
    {%- if home_zones -%}
        {#- A file the home sets a zone for is read in it; the others in the layout's. -#}
        {%- set relation -%}
            (select
                zoned.*,
                coalesce(file_zones.timezone, {{ sql_text(layout.timezone) }}) as file_timezone
            from {{ relation }} as zoned
            left join (
                select _file_sha256, max(timezone) as timezone
                from {{ file_zones }}
                where layout = {{ sql_text(layout.layout) }}
                group by _file_sha256
            ) as file_zones
                on zoned.file_sha256 = file_zones._file_sha256)
        {%- endset -%}
        {%- set tz = 'per file' -%}
        {%- set tz_sql = 'adjusted.file_timezone' -%}
        {%- set tz_column = 'candidates.file_timezone' -%}
    {%- else -%}
        {%- set tz = layout.timezone -%}
        {%- set tz_sql = "'" ~ tz ~ "'" -%}
        {%- set tz_column = tz_sql -%}
    {%- endif -%}
    {%- set shifts = [-60, -30, 0, 30, 60] -%}
    select
        located.*,
        {%- if layout.timestamp_marks == 'end' %}
        {{ add_minutes('located.stamp_at', '-located.interval_minutes') }} as reading_start_at,
        located.stamp_at as reading_end_at
        {%- else %}
        located.stamp_at as reading_start_at,
        {{ add_minutes('located.stamp_at', 'located.interval_minutes') }} as reading_end_at
        {%- endif %}
    from (
        {%- if is_utc_zone(tz) %}
        select
            {%- for column in staging_contract_columns() %}
            staged.{{ column }},
            {%- endfor %}
            {{ row_or_layout('staged', 'timezone', tz, layout) }} as timezone,
            {{ row_or_layout('staged', 'value_kind', layout.value_kind, layout) }} as value_kind,
            {{ channel_kind('staged.channel', layout) }} as channel_kind,
            case
                when staged.utc_offset_minutes is not null
                    then {{ add_minutes('staged.wall_clock_at', '-staged.utc_offset_minutes') }}
                else staged.wall_clock_at
            end as stamp_at,
            case
                when staged.wall_clock_at is null then 'unparseable_timestamp'
            end as timestamp_problem
        from {{ relation }} as staged
        {%- else %}
        select
            {%- for column in staging_contract_columns() %}
            candidates.{{ column }},
            {%- endfor %}
            {%- if layout.shape == 'espi' %}
            candidates.row_timezone as timezone,
            {%- else %}
            {{ tz_column }} as timezone,
            {%- endif %}
            {{ row_or_layout('candidates', 'value_kind', layout.value_kind, layout) }} as value_kind,
            {{ channel_kind('candidates.channel', layout) }} as channel_kind,
            case
                when candidates.utc_offset_minutes is not null
                    then {{ add_minutes('candidates.wall_clock_at', '-candidates.utc_offset_minutes') }}
                when candidates.label_occurrence >= 2
                    then coalesce(
                        {%- for i in range(shifts | length) | reverse %}
                        candidates.c{{ i }}{{ "," if not loop.last }}
                        {%- endfor %}
                    )
                else coalesce(
                    {%- for i in range(shifts | length) %}
                    candidates.c{{ i }}{{ "," if not loop.last }}
                    {%- endfor %}
                )
            end as stamp_at,
            case
                when candidates.wall_clock_at is null then 'unparseable_timestamp'
                when candidates.utc_offset_minutes is null
                    and coalesce({% for i in range(shifts | length) %}candidates.c{{ i }}{{ ", " if not loop.last }}{% endfor %}) is null
                    then 'nonexistent_local_time'
            end as timestamp_problem
        from (
            select
                adjusted.*,
                {%- for shift in shifts %}
                {%- set instant = add_minutes(wall_clock_to_utc('adjusted.adjusted_wall_clock_at', tz_sql), shift) %}
                case
                    when {{ utc_to_wall_clock(instant, tz_sql) }} = adjusted.adjusted_wall_clock_at
                        then {{ instant }}
                end as c{{ loop.index0 }}{{ "," if not loop.last }}
                {%- endfor %}
            from (
                select
                    ranked.*,
                    {%- if layout.dst_folded_labels_zone %}
                    case
                        when ranked.label_occurrence = 2
                            and not {{ wall_clock_exists(add_minutes('ranked.wall_clock_at', 60), "'" ~ layout.dst_folded_labels_zone ~ "'") }}
                            then {{ add_minutes('ranked.wall_clock_at', 60) }}
                        else ranked.wall_clock_at
                    end as adjusted_wall_clock_at
                    {%- else %}
                    ranked.wall_clock_at as adjusted_wall_clock_at
                    {%- endif %}
                from (
                    select
                        staged.*,
                        row_number() over (
                            partition by
                                staged.file_sha256, staged.meter_id, staged.channel,
                                staged.wall_clock_at
                            order by staged.source_line, staged.value_position
                        ) as label_occurrence
                    from {{ relation }} as staged
                ) as ranked
            ) as adjusted
        ) as candidates
        {%- endif %}
    ) as located
{%- endmacro %}
