{#- What became of each file's values, per file and UTC day of the value (value_date; null for
    a value whose time could not be read): published in fct_readings (estimated fill-ins have
    no file), quarantined, an exact copy of a value already delivered, a register read whose
    increase is a long gap's known energy (register_gap_reads), or an older version of an
    interval the source has since corrected (superseded), or in a row the layout's `select`
    leaves out (not_selected: a gas row of a Green Button download). `window` (from
    scope_window) limits an incremental build to the days around new data; without it every
    row counts. -#}
{% macro file_verdict_tallies(window=none) -%}
    {%- set measures = file_verdicts() -%}
    {%- set sources = [
        ('published', ref('fct_readings'), 'source_line is not null'),
        ('quarantined', ref('quarantined_readings'), 'true'),
        ('duplicate_copies', ref('int_readings_validated'), 'is_duplicate_copy'),
        ('register_gap_reads', ref('int_register_gap_energy'), 'true'),
        ('superseded', ref('int_readings_validated'), 'is_superseded'),
        ('not_selected', not_selected_values(), 'true'),
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

{#- The verdicts a delivered value can get; every value gets exactly one. -#}
{% macro file_verdicts() -%}
    {{ return(['published', 'quarantined', 'duplicate_copies', 'register_gap_reads', 'superseded', 'not_selected']) }}
{%- endmacro %}

{#- Every delivered value's file and load: those judged in validation, and those of rows a
    layout's `select` leaves out. A load of a file whose rows are all left out (a Green Button
    download of gas rows only) is a load like any other: it advances the file tallies'
    watermarks, and a reload of the file replaces its tallies (delete_file_days_touched). -#}
{% macro delivered_values() -%}
    {{ return("(select file_sha256, load_id from " ~ ref('int_readings_validated')
        ~ " union all select file_sha256, load_id from " ~ ref('stg_long__unselected_values')
        ~ ") as delivered_values") }}
{%- endmacro %}

{#- The values of rows a layout's `select` leaves out (never readings, so never given a day:
    they are counted once, when their file is new). -#}
{% macro not_selected_values() -%}
    {{ return("(select file_sha256, load_id, cast(null as timestamp) as reading_start_at from "
        ~ ref('stg_long__unselected_values') ~ ") as not_selected_values") }}
{%- endmacro %}

{#- The balance of each file: what it holds (int_files_counted) against what became of its values
    (`verdicts`: a relation or subquery with file_sha256, published, quarantined and
    duplicate_copies, any number of rows per file). -#}
{% macro file_balance(verdicts) -%}
    with

    verdicts as (

        select
            file_sha256,
            {%- for verdict in file_verdicts() %}
            sum({{ verdict }}) as {{ verdict }}{{ ',' if not loop.last }}
            {%- endfor %}
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
            {%- for verdict in file_verdicts() %}
            coalesce(verdicts.{{ verdict }}, 0) as {{ verdict }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ ref('int_files_counted') }} as files
        left join verdicts on files.file_sha256 = verdicts.file_sha256

    )

    select
        final.*,
        final.raw_values = {% for verdict in file_verdicts() %}final.{{ verdict }}{{ ' + ' if not loop.last }}{% endfor %}
        and final.raw_rows = final.rows_with_values + final.rows_without_values as is_balanced
    from final
{%- endmacro %}
