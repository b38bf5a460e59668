{#- What became of each file's values, per file and UTC day of the value (value_date; null for
    a value whose time could not be read): published in fct_readings (estimated fill-ins have
    no file), quarantined, or an exact copy of a value already delivered. `window` (from
    scope_window) limits an incremental build to the days around new data; without it every
    row counts. -#}
{% macro file_verdict_tallies(window=none) -%}
    {%- set measures = ['published', 'quarantined', 'duplicate_copies'] -%}
    {%- set sources = [
        ('published', ref('fct_readings'), 'source_line is not null'),
        ('quarantined', ref('quarantined_readings'), 'true'),
        ('duplicate_copies', ref('int_readings_validated'), 'is_duplicate_copy'),
    ] -%}
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
            where {{ condition }}{% if window %} and {{ in_day_scope(window) }}{% endif %}
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
{%- endmacro %}

{#- The balance of each file: what it holds (int_files_counted) against what became of its values
    (`verdicts`: a relation or subquery with file_sha256, published, quarantined and
    duplicate_copies, any number of rows per file). -#}
{% macro file_balance(verdicts) -%}
    with

    verdicts as (

        select
            file_sha256,
            sum(published) as published,
            sum(quarantined) as quarantined,
            sum(duplicate_copies) as duplicate_copies
        from {{ verdicts }}
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
{%- endmacro %}
