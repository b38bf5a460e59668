{#- Every delivered file accounted for. Per file (checksum), what it holds (int_files_counted:
    raw_rows, rows_without_values, rows_with_values, raw_values) against what became of its
    values (int_file_verdicts_counted, summed over days: published, quarantined,
    duplicate_copies, register_gap_reads). The balance holds when raw_values is their sum and every raw row either yields values or is a record that carries none
    (tests/assert_every_file_balances.sql). Both inputs are small and kept incrementally, so
    this table is rebuilt in full every run. -#}

{{ file_balance(ref('int_files_counted'), ref('int_file_verdicts_counted')) }}
