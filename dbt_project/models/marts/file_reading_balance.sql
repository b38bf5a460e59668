{#- Every delivered file accounted for. Per file (checksum), what it holds (int_files_counted:
    raw_rows, rows_without_values, rows_with_values, raw_values) against what became of its
    values (int_file_verdicts_counted, summed over days: published, quarantined,
    duplicate_copies). The balance holds when raw_values = published + quarantined +
    duplicate_copies and every raw row either yields values or is a record that carries none
    (tests/assert_every_file_balances.sql). Both inputs are small and kept incrementally, so
    this table is rebuilt in full every run. -#}

with

verdicts as (

    select
        file_sha256,
        sum(published) as published,
        sum(quarantined) as quarantined,
        sum(duplicate_copies) as duplicate_copies
    from {{ ref('int_file_verdicts_counted') }}
    group by file_sha256

),

final as (

    select
        files.file_sha256,
        files.source_file,
        files.layout,
        files.raw_rows,
        files.rows_without_values,
        files.rows_with_values,
        files.raw_values,
        coalesce(verdicts.published, 0) as published,
        coalesce(verdicts.quarantined, 0) as quarantined,
        coalesce(verdicts.duplicate_copies, 0) as duplicate_copies
    from {{ ref('int_files_counted') }} as files
    left join verdicts on files.file_sha256 = verdicts.file_sha256

)

select
    final.*,
    final.raw_values = final.published + final.quarantined + final.duplicate_copies
    and final.raw_rows = final.rows_with_values + final.rows_without_values as is_balanced
from final
