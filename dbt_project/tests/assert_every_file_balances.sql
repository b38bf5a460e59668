{#- Every delivered file is accounted for: each raw value is published, quarantined, an exact
    duplicate copy or a register read closing a long gap (its increase is the gap's energy),
    and each raw row yields values or is a record that carries none.

    Inside `dbt build` (with var test_new_data_only) this reads file_reading_balance, whose
    verdict counts are kept incrementally. `dbt test` / `smartmeter test` recount the verdicts
    from fct_readings, quarantined_readings and int_readings_validated themselves, so a row
    added or removed behind dbt's back, on any day, shows as an imbalance. -#}
{#- (every input is named before the branch, so dbt sees them all whichever command parses it) #}
{%- set balance = ref('file_reading_balance') %}
{%- set files = ref('int_files_counted') %}
{%- set tallies = file_verdict_tallies(
    published=ref('fct_readings'),
    quarantined=ref('quarantined_readings'),
    validated=ref('int_readings_validated'),
    register_gap_reads=ref('int_register_gap_energy'),
    unselected=ref('stg_long__unselected_values'),
) %}
{%- if flags.WHICH == 'build' and var('test_new_data_only') %}
    select *
    from {{ balance }}
    where not is_balanced
{%- else %}
    with

    recounted as (

        {{ file_balance(files, '(' ~ tallies ~ ') as tallies') }}

    )

    select *
    from recounted
    where not is_balanced
{%- endif %}
