{#- What each delivered file holds, counted once, when its load is new: a file's raw rows and the
    values they yield never change after loading (their verdicts do; see
    int_file_verdicts_counted). A file whose raw rows are loaded again (after a crashed ingest)
    gets a new load id, so it is counted again and its counts replaced.
      raw_rows             rows dlt loaded into raw
      rows_without_values  rows that carry no reading by design (NEM12 100/200/400/900 records)
      rows_with_values     rows that yielded at least one value
      raw_values           values in those rows (a line of registers or a wide row holds several),
                           also those of rows a layout's `select` leaves out -#}
{#- Every declared layout's raw table (raw.layouts lists them). #}
{%- set layouts = [] %}
{%- for shape in ['long', 'wide', 'nem12', 'espi'] %}
    {%- for name in layouts_of_shape(shape, source('raw', 'layouts')) %}
        {%- do layouts.append(layout_config(name, source('raw', 'layouts'))) %}
    {%- endfor %}
{%- endfor %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['file_sha256']]),
        incremental_strategy='delete+insert',
        unique_key='file_sha256',
        post_hook="{{ advance_watermark(delivered_values(
            ref('int_readings_validated'), ref('stg_long__unselected_values')
        )) }}",
    )
}}

with

raw_rows as (

    {%- for layout in layouts %}
        select
            _file_sha256 as file_sha256,
            min(_source_file) as source_file,
            '{{ layout.layout }}' as layout,
            count(*) as raw_rows,
            {%- if layout.shape == 'nem12' %}
                sum(case when trim(both ' ' from field_001) <> '300' then 1 else 0 end)
                    as rows_without_values
            {%- else %}
                0 as rows_without_values
            {%- endif %}
        from {{ layout_raw_relation(layout) }}
        {%- if is_incremental() %}
        where _dlt_load_id > {{ watermark() }}
        {%- endif %}
        group by _file_sha256
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

values_by_file as (

    -- every value: those judged in validation, and those of rows a layout's `select` leaves
    -- out. A raw row is a line, except in Green Button XML, where it is an IntervalReading
    -- (many may share a line): its position in the file.
    {%- set readings_by_position = layouts | selectattr('shape', 'equalto', 'espi')
        | map(attribute='layout') | list %}
    select
        file_sha256,
        count(*) as raw_values,
        {%- if readings_by_position %}
            count(
                distinct case
                    when layout in ('{{ readings_by_position | join("', '") }}') then value_position
                    else source_line
                end
            ) as rows_with_values
        {%- else %}
        count(distinct source_line) as rows_with_values
        {%- endif %}
    from (
        select
            file_sha256,
            layout,
            source_line,
            value_position,
            load_id
        from {{ ref('int_readings_validated') }}
        union all
        select
            file_sha256,
            layout,
            source_line,
            value_position,
            load_id
        from {{ ref('stg_long__unselected_values') }}
    ) as delivered_values
    {%- if is_incremental() %}
    where load_id > {{ watermark() }}
    {%- endif %}
    group by file_sha256

)

select
    raw_rows.file_sha256,
    raw_rows.source_file,
    raw_rows.layout,
    raw_rows.raw_rows,
    raw_rows.rows_without_values,
    coalesce(values_by_file.rows_with_values, 0) as rows_with_values,
    coalesce(values_by_file.raw_values, 0) as raw_values
from raw_rows
left join values_by_file on raw_rows.file_sha256 = values_by_file.file_sha256
