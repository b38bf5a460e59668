{#- What became of each file's values, per UTC day of the value (no day for a value whose time
    could not be read): published in fct_readings, quarantined, or an exact copy of a value
    already delivered. Verdicts change after loading (a late file can turn a published reading
    into a conflict, interpolation fills around new data), but only on the days around new
    data: an incremental build recounts, for every file, the days in the scope window, and the
    timeless values of new loads. -#}
{%- set window = scope_window('int_file_verdicts_counted') %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['file_sha256'], ['value_date']]),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_file_days_touched() }}",
        post_hook="{{ advance_watermark(delivered_values()) }}",
    )
}}

{{ file_verdict_tallies(window) }}
