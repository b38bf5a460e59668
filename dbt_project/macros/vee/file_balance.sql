{#- What became of each file's values, per file and UTC day of the value (value_date; null for
    a value whose time could not be read): published in fct_readings (`published`; estimated
    fill-ins have no file), quarantined (`quarantined`), an exact copy of a value already
    delivered, a register read whose increase is a long gap's known energy
    (`register_gap_reads`), or an older version of an interval the source has since corrected
    (superseded; these two from `validated`), or in a row the layout's `select` leaves out
    (`unselected`: a gas row of a Green Button download). `scope`, a condition on
    reading_start_at and load_id, limits the count to some rows (an incremental build's days);
    without it every row counts. -#}
{% macro file_verdict_tallies(published, quarantined, validated, register_gap_reads, unselected, scope=none) -%}
    {%- set measures = file_verdicts() -%}
    {%- set sources = [
        ('published', published, 'source_line is not null'),
        ('quarantined', quarantined, 'true'),
        ('duplicate_copies', validated, 'is_duplicate_copy'),
        ('register_gap_reads', register_gap_reads, 'true'),
        ('superseded', validated, 'is_superseded'),
        ('not_selected', not_selected_values(unselected), 'true'),
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
            where {{ condition }}{% if scope %} and {{ scope }}{% endif %}
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

{#- Every delivered value's file and load: those judged in validation (`validated`), and those
    of rows a layout's `select` leaves out (`unselected`). A load of a file whose rows are all left out (a Green Button
    download of gas rows only) is a load like any other: it advances the file tallies'
    watermarks, and a reload of the file replaces its tallies (int_file_verdicts_counted). -#}
{% macro delivered_values(validated, unselected) -%}
    {{ return("(select file_sha256, load_id from " ~ validated
        ~ " union all select file_sha256, load_id from " ~ unselected
        ~ ") as delivered_values") }}
{%- endmacro %}

{#- The values of rows a layout's `select` leaves out (`unselected`; never readings, so never given a day:
    they are counted once, when their file is new). -#}
{% macro not_selected_values(unselected) -%}
    {{ return("(select file_sha256, load_id, cast(null as timestamp) as reading_start_at from "
        ~ unselected ~ ") as not_selected_values") }}
{%- endmacro %}

{#- The balance of each file: what it holds (`files`: int_files_counted) against what became of
    its values (`verdicts`: a relation or subquery with file_sha256 and a count per verdict, any
    number of rows per file). -#}
{% macro file_balance(files, verdicts) -%}
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
        from {{ files }} as files
        left join verdicts on files.file_sha256 = verdicts.file_sha256

    )

    select
        final.*,
        final.raw_values = {% for verdict in file_verdicts() %}final.{{ verdict }}{{ ' + ' if not loop.last }}{% endfor %}
        and final.raw_rows = final.rows_with_values + final.rows_without_values as is_balanced
    from final
{%- endmacro %}
