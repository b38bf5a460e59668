{#- Every loaded file's values: published, quarantined, duplicates, and whether they balance
    (file_reading_balance). -#}

select
    cast(source_file as {{ dbt.type_string() }}) as source_file,
    cast(layout as {{ dbt.type_string() }}) as layout,
    cast(raw_values as bigint) as raw_values,
    cast(published as bigint) as published,
    cast(quarantined as bigint) as quarantined,
    cast(duplicate_copies as bigint) as duplicate_copies,
    cast(is_balanced as boolean) as is_balanced
from {{ ref('file_reading_balance') }}
