{#- What became of each file's values, per UTC day of the value (no day for a value whose time
    could not be read): published in fct_readings, quarantined, or an exact copy of a value
    already delivered. Verdicts change after loading (a late file can turn a published reading
    into a conflict, interpolation fills around new data), but only on the days around new
    data: an incremental build recounts, for every file, the days in the scope window, and the
    timeless values of new loads. -#}
{%- set window = scope_window(ref('int_readings_validated'), 'int_file_verdicts_counted') %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['file_sha256'], ['value_date']]),
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{% call delete_scope() %}
            {{ within_window(
                this ~ '.value_date',
                scope_window(ref('int_readings_validated'), 'int_file_verdicts_counted')
            ) }}
            or (
                {{ this }}.value_date is null
                and {{ this }}.file_sha256 in (
                    select file_sha256
                    from {{ delivered_values(
                        ref('int_readings_validated'), ref('stg_long__unselected_values')
                    ) }}
                    where load_id > {{ watermark() }}
                )
            )
        {% endcall %}",
        post_hook="{{ advance_watermark(delivered_values(
            ref('int_readings_validated'), ref('stg_long__unselected_values')
        )) }}",
    )
}}
{#- An incremental build recounts the values in the window, whole UTC days, and those of new
    loads whose time could not be read (their verdict never changes after; they have no day). #}
{%- set scope -%}
    (
        {{ within_window('reading_start_at', window) }}
        or (reading_start_at is null and load_id > {{ watermark() }})
    )
{%- endset %}

{{ file_verdict_tallies(
    published=ref('fct_readings'),
    quarantined=ref('quarantined_readings'),
    validated=ref('int_readings_validated'),
    register_gap_reads=ref('int_register_gap_energy'),
    unselected=ref('stg_long__unselected_values'),
    scope=scope if is_incremental() else none,
) }}
