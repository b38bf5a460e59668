{#- Every staged row keeps where it came from: file, line, checksum and load. The loader sets
    them on every raw row, and validation, the file balance and the archive rely on them. One
    check over every layout (int_readings_unioned holds them all; NEM12 records without values
    are only in stg_nem12__records) instead of a not_null query per column and layout. -#}

{%- for staged_model in ['int_readings_unioned', 'stg_nem12__records'] %}
    select
        '{{ staged_model }}' as staged_model,
        source_file,
        source_line,
        file_sha256,
        load_id
    from {{ ref(staged_model) }}
    where source_file is null or source_line is null or file_sha256 is null or load_id is null
    {%- if not loop.last %}
        union all
    {%- endif %}
{%- endfor %}
