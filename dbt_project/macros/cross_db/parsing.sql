{#- Parsing text without ever raising: each macro yields NULL for text it cannot read, with the
    same rules on DuckDB and PostgreSQL. -#}

{% macro regex_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'smartmeter')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_full_match(expr, pattern) -%}
    ({{ expr }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}


{#- Does the pattern match anywhere in the text? -#}
{% macro regex_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_contains', 'smartmeter')(expr, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_contains(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_contains(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}


{#- A plain decimal number (optional sign, digits, one decimal mark, optional exponent). 'nan',
    'inf', hex and thousands separators are not numbers here. -#}
{% macro number_pattern() -%}
    [+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?
{%- endmacro %}

{% macro normalized_number_text(expr, decimal_mark='.') -%}
    {%- if decimal_mark == ',' -%}
        replace(trim({{ expr }}, ' '), ',', '.')
    {%- else -%}
        trim({{ expr }}, ' ')
    {%- endif -%}
{%- endmacro %}

{#- A number both stores hold as a double and compare without overflow or underflow: at most 30
    integer digits (after leading zeros), an exponent of at most two digits, 100 characters in
    all. Its magnitude lies between 1e-200 and 1e130 (or it is zero). Text the number pattern
    accepts beyond that is a value no meter measures (implausible_value), and never reaches a
    cast that could fail. -#}
{% macro holdable_number_pattern() -%}
    [+-]?0*([0-9]{1,30}([.][0-9]*)?|[.][0-9]+)([eE][+-]?0*[0-9]{1,2})?
{%- endmacro %}

{% macro try_to_number(expr, decimal_mark='.') -%}
    {%- set text = normalized_number_text(expr, decimal_mark) -%}
    case
        when
            length({{ text }}) <= 100
            and {{ regex_full_match(text, holdable_number_pattern()) }}
            {#- + 0.0 turns a negative zero ('-0') into zero #}
            then cast({{ text }} as double precision) + 0.0
    end
{%- endmacro %}

{#- Text shaped like a number (either decimal mark) that try_to_number would not hold: too large
    or too small for any meter (1e308, -1e400, 1e-400, 40-digit integers). -#}
{% macro is_unholdable_number(expr) -%}
    (
        {{ regex_full_match(normalized_number_text(expr, ','), number_pattern()) }}
        and not (
            length({{ normalized_number_text(expr, ',') }}) <= 100
            and {{ regex_full_match(normalized_number_text(expr, ','), holdable_number_pattern()) }}
        )
    )
{%- endmacro %}

{% macro try_to_integer(expr) -%}
    case
        when {{ regex_full_match('trim(' ~ expr ~ ", ' ')", '[+-]?[0-9]{1,9}') }}
            then cast(trim({{ expr }}, ' ') as integer)
    end
{%- endmacro %}

{#- Is this text one of the tokens that mean "no value" (var missing_value_tokens)? -#}
{% macro is_missing_token(expr) -%}
    (
        {{ expr }} is null
        or lower(trim({{ expr }}, ' ')) in (
            {%- for token in var('missing_value_tokens') %}'{{ token }}'{{ ", " if not loop.last }}{% endfor -%}
        )
    )
{%- endmacro %}


{#- strptime-style parsing (%Y %m %d %H %M %S %f %n %y). DuckDB has try_strptime; PostgreSQL
    gets the format compiled here into a regex plus a field order, read by
    smartmeter_timestamp_from_parts (created on run start). -#}
{% macro try_strptime(expr, format) -%}
    {{ return(adapter.dispatch('try_strptime', 'smartmeter')(expr, format)) }}
{%- endmacro %}

{% macro duckdb__try_strptime(expr, format) -%}
    {#- %f/%n parse to nanosecond timestamps in DuckDB; keep microseconds, as PostgreSQL does #}
    cast(try_strptime(trim({{ expr }}, ' '), '{{ format }}') as timestamp)
{%- endmacro %}

{% macro postgres__try_strptime(expr, format) -%}
    {%- set compiled = strptime_to_regex(format) -%}
    {{ helper_schema() }}.smartmeter_timestamp_from_parts(
        regexp_match(trim({{ expr }}, ' '), '^{{ compiled.regex }}$'), '{{ compiled.fields }}'
    )
{%- endmacro %}

{% macro strptime_to_regex(format) -%}
    {%- set codes = {
        'Y': ('([0-9]{4})', 'Y'), 'y': ('([0-9]{2})', 'y'), 'm': ('([0-9]{1,2})', 'm'),
        'd': ('([0-9]{1,2})', 'd'), 'H': ('([0-9]{1,2})', 'H'), 'M': ('([0-9]{2})', 'M'),
        'S': ('([0-9]{2})', 'S'), 'f': ('([0-9]{1,9})', 'f'), 'n': ('([0-9]{1,9})', 'f')
    } -%}
    {%- set ns = namespace(regex='', fields='', escaped=false) -%}
    {%- for ch in format -%}
        {%- if ns.escaped -%}
            {%- if ch not in codes -%}
                {{ exceptions.raise_compiler_error("unsupported timestamp format code %" ~ ch ~ " in " ~ format) }}
            {%- endif -%}
            {%- set ns.regex = ns.regex ~ codes[ch][0] -%}
            {%- set ns.fields = ns.fields ~ codes[ch][1] -%}
            {%- set ns.escaped = false -%}
        {%- elif ch == '%' -%}
            {%- set ns.escaped = true -%}
        {%- elif ch in '.^$*+?()[]{}|\\' -%}
            {%- set ns.regex = ns.regex ~ '[' ~ ch ~ ']' -%}
        {%- else -%}
            {%- set ns.regex = ns.regex ~ ch -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'regex': ns.regex, 'fields': ns.fields}) }}
{%- endmacro %}


{% macro regex_group(expr, pattern, group) -%}
    {{ return(adapter.dispatch('regex_group', 'smartmeter')(expr, pattern, group)) }}
{%- endmacro %}

{% macro duckdb__regex_group(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{% macro postgres__regex_group(expr, pattern, group) -%}
    (regexp_match({{ expr }}, '{{ pattern }}'))[{{ group }}]
{%- endmacro %}


{#- ISO 8601: `YYYY-MM-DD[T ]HH:MM[:SS[.fffffffff]]` with an optional `Z` or `+HH[:MM]` offset
    between -14:00 and +14:00 (the offsets in use on Earth; `+99:99` is no time at all).
    iso8601_local gives the wall-clock part, iso8601_offset_minutes the offset (NULL if none).
    Seconds carry at most 9 fractional digits, kept to the microsecond (truncated). -#}
{% macro iso8601_pattern() -%}
    ^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?) *(Z|z|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?)?$
{%- endmacro %}

{% macro iso8601_local(expr) -%}
    {%- set wall = "(" ~ regex_group('trim(' ~ expr ~ ", ' ')", iso8601_pattern(), 1) ~ " || ' ' || "
        ~ regex_group('trim(' ~ expr ~ ", ' ')", iso8601_pattern(), 2) ~ ")" -%}
    coalesce(
        {#- the most common spelling first: one strptime, no regex (only NULLs fall through) #}
        {{ try_strptime(expr, '%Y-%m-%dT%H:%M:%SZ') }},
        {{ try_strptime(wall, '%Y-%m-%d %H:%M:%S') }},
        {{ try_strptime(wall, '%Y-%m-%d %H:%M') }},
        {{ try_strptime(wall, '%Y-%m-%d %H:%M:%S.%n') }}
    )
{%- endmacro %}

{% macro iso8601_offset_minutes(expr) -%}
    {%- set offset = regex_group('trim(' ~ expr ~ ", ' ')", iso8601_pattern(), 5) -%}
    case
        when right(trim({{ expr }}, ' '), 1) in ('Z', 'z') then 0
        when {{ offset }} is not null then
            (case when left({{ offset }}, 1) = '-' then -1 else 1 end) * (
                cast(substring({{ offset }}, 2, 2) as integer) * 60
                + case
                    when length(replace({{ offset }}, ':', '')) = 5
                        then cast(right({{ offset }}, 2) as integer)
                    else 0
                end
            )
    end
{%- endmacro %}


{#- A layout's timestamp format: iso8601 or strptime codes. Returns the wall-clock timestamp. -#}
{% macro parse_wall_clock(expr, format) -%}
    {%- if format == 'iso8601' -%}
        {{ iso8601_local(expr) }}
    {%- else -%}
        {{ try_strptime(expr, format) }}
    {%- endif -%}
{%- endmacro %}

{#- A number as text with `digits` decimals (for human-readable messages). -#}
{% macro rounded_text(expr, digits=1) -%}
    cast(round(cast({{ expr }} as {{ dbt.type_numeric() }}), {{ digits }}) as varchar)
{%- endmacro %}
