{#- Every long layout declared in dlt_pipelines/layouts.yml (shape: long), each read from its own
    raw table (raw.<raw_table>, listed in raw.layouts) and renamed to the staging contract by
    stage_long_layout: a layout added to layouts.yml is staged here with no other change. The
    `layout` column says which layout (and so which raw table) each row comes from. -#}
-- depends_on: {{ source('raw', 'layouts') }}
{{ stage_layouts_of_shape('long') }}
