{#- Every long layout declared in dlt_pipelines/layouts.yml (shape: long), each read from its own
    raw table (raw.<raw_table>, listed in raw.layouts) and renamed to the staging contract by
    stage_long_layout: a layout added to layouts.yml is staged here with no other change. The
    `layout` column says which layout (and so which raw table) each row comes from. -#}
{#- Spark keeps a view's text in its metastore, which the embedded Derby one limits to 32,700
    characters; a block per long layout outgrows it (a few vendor layouts with long header
    names did). On Spark it is a table, rebuilt at each build. #}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}
{{ stage_layouts_of_shape(
    'long',
    declared_layout_sources('long'),
    source('raw', 'layouts'),
    file_headers=source('raw', 'file_headers'),
) }}
