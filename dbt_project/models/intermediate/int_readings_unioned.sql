{#- Every layout's readings in one canonical long form on the UTC time line: one row per value
    in a delivered file (a line of a long layout, a register, a wide cell, a NEM12 interval).
    Every layout declared in dlt_pipelines/layouts.yml is here, read from its shape's staging
    model and placed on the time line with its own zone and conventions. -#}
{#- Spark keeps a view's text in its metastore, which the embedded Derby one limits to 32,700
    characters; this view, a block per layout, outgrows it. On Spark it is a table that each
    build appends its new loads to (read as the view is: by load id after the watermark). -#}
{{ config(
    materialized='incremental' if target.type == 'spark' else 'view',
    incremental_strategy='append',
    partition_by='load_id',
    post_hook=["{{ advance_watermark(this) if target.type == 'spark' }}"],
) }}
{%- set staged_by_shape = {
    'long': ref('stg_long__readings'),
    'wide': ref('stg_wide__readings'),
    'nem12': ref('int_nem12_intervals_unpivoted'),
    'espi': ref('stg_espi__interval_readings'),
} %}
{#- the zones a data home sets for some files (read only when it sets any) -#}
{%- set file_zones = source('raw', 'file_zones') %}
{%- set staged_layouts = [] %}
{%- for shape, relation in staged_by_shape.items() %}
    {%- for name in layouts_of_shape(shape) %}
        {%- do staged_layouts.append((name, relation)) %}
    {%- endfor %}
{%- endfor %}

with

{% for name, relation in staged_layouts %}
    {{ name }}_readings as (

        {{ readings_in_utc(
            "(select * from " ~ relation ~ " where layout = '" ~ name ~ "')",
            layout_config(name),
            file_zones
        ) }}

    ),

{% endfor %}
unioned as (

    {%- for name, _ in staged_layouts %}
        select * from {{ name }}_readings
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- else %}
        -- (no layout: only when the project is parsed without a warehouse)
        select * from {{ ref('stg_long__readings') }}
    {%- endfor %}

)

select * from unioned
{{ where_not_held_back('file_sha256') }}
{%- if is_incremental() %}
    {{ 'and' if var('hold_back_files', false) else 'where' }} load_id > {{ watermark() }}
{%- endif %}
