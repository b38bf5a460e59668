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
        incremental_strategy='append',
        pre_hook="{{ delete_file_days_touched() }}",
        post_hook="{{ advance_watermark(ref('int_readings_validated')) }}",
    )
}}

{%- set measures = ['published', 'quarantined', 'duplicate_copies'] %}
{%- set sources = [
    ('published', ref('fct_readings'), 'source_line is not null'),
    ('quarantined', ref('quarantined_readings'), 'true'),
    ('duplicate_copies', ref('int_readings_validated'), 'is_duplicate_copy'),
] %}

with

tallies as (

    {%- for measure, relation, condition in sources %}
        select
            file_sha256,
            cast(reading_start_at as date) as value_date,
            {%- for column in measures %}
                {{ 'count(*)' if column == measure else '0' }} as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }}
        where {{ condition }} and {{ in_day_scope(window) }}
        group by file_sha256, cast(reading_start_at as date)
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select
    file_sha256,
    value_date,
    {%- for column in measures %}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
from tallies
group by file_sha256, value_date
