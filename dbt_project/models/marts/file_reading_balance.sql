{#- Every delivered file accounted for. Per file (checksum):
      raw_rows         rows dlt loaded into raw
      raw_values       values in those rows (a line of registers or a wide row holds several)
      rows_without_values  rows that carry no reading by design (NEM12 100/200/400/900 records)
      published        values published as readings in fct_readings
      quarantined      values in quarantined_readings
      duplicate_copies exact copies of a value already published
    The balance holds when raw_values = published + quarantined + duplicate_copies and every raw
    row either yields values or is a record that carries none (tests/assert_file_balance.sql). -#}

{%- set raw_tables = ['canonical', 'lcl_original', 'lcl_kaggle', 'sgsc', 'wide', 'cumulative', 'semicolon_kw', 'nem12'] %}

with

raw_rows as (

    {%- for table in raw_tables %}
        select
            _file_sha256 as file_sha256,
            min(_source_file) as source_file,
            '{{ table }}' as layout,
            count(*) as raw_rows,
            {%- if table == 'nem12' %}
                sum(case when trim(field_001) <> '300' then 1 else 0 end) as rows_without_values
            {%- else %}
                0 as rows_without_values
            {%- endif %}
        from {{ source('raw', table) }}
        group by _file_sha256
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

values_by_file as (

    select
        file_sha256,
        count(*) as raw_values,
        count(distinct source_line) as rows_with_values,
        sum(case when is_duplicate_copy then 1 else 0 end) as duplicate_copies
    from {{ ref('int_readings_validated') }}
    group by file_sha256

),

published as (

    select
        file_sha256,
        count(*) as published
    from {{ ref('fct_readings') }}
    where source_line is not null
    group by file_sha256

),

quarantined as (

    select
        file_sha256,
        count(*) as quarantined
    from {{ ref('quarantined_readings') }}
    group by file_sha256

),

final as (

    select
        raw_rows.file_sha256,
        raw_rows.source_file,
        raw_rows.layout,
        raw_rows.raw_rows,
        raw_rows.rows_without_values,
        coalesce(values_by_file.rows_with_values, 0) as rows_with_values,
        coalesce(values_by_file.raw_values, 0) as raw_values,
        coalesce(published.published, 0) as published,
        coalesce(quarantined.quarantined, 0) as quarantined,
        coalesce(values_by_file.duplicate_copies, 0) as duplicate_copies
    from raw_rows
    left join values_by_file on raw_rows.file_sha256 = values_by_file.file_sha256
    left join published on raw_rows.file_sha256 = published.file_sha256
    left join quarantined on raw_rows.file_sha256 = quarantined.file_sha256

)

select
    final.*,
    final.raw_values = final.published + final.quarantined + final.duplicate_copies
    and final.raw_rows = final.rows_with_values + final.rows_without_values as is_balanced
from final
