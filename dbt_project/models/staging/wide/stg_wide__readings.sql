{#- Every wide layout declared in dlt_pipelines/layouts.yml (shape: wide), each read from its own
    raw table (raw.<raw_table>) with the file's header roles (raw.file_headers), one row per
    meter cell, in the staging contract (stage_wide_layout). The `layout` column says which
    layout each row comes from. -#}
{{ stage_layouts_of_shape(
    'wide',
    declared_layout_sources('wide'),
    source('raw', 'layouts'),
    file_headers=source('raw', 'file_headers'),
) }}
