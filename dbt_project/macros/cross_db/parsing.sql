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

{#- Spark: Java regular expressions in string literals that read backslashes as escapes (so
    they are doubled); `$` also matches before a final line break in Java, `\z` does not. -#}
{% macro spark__regex_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ spark__regex_literal(pattern) }})\\z')
{%- endmacro %}

{% macro spark__regex_literal(pattern) -%}
    {%- set escaped = pattern | replace('\\', '\\\\') -%}
    {{- escaped[:-1] ~ '\\\\z' if escaped.endswith('$') else escaped -}}
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

{% macro spark__regex_contains(expr, pattern) -%}
    ({{ expr }} rlike '{{ spark__regex_literal(pattern) }}')
{%- endmacro %}


{#- A plain decimal number (optional sign, digits, one decimal mark, optional exponent). 'nan',
    'inf', hex and thousands separators are not numbers here. -#}
{% macro number_pattern() -%}
    [+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?
{%- endmacro %}

{% macro normalized_number_text(expr, decimal_mark='.') -%}
    {%- if decimal_mark == ',' -%}
        replace(trim(both ' ' from {{ expr }}), ',', '.')
    {%- else -%}
        trim(both ' ' from {{ expr }})
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
            then cast({{ text }} as {{ type_double() }}) + 0.0
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
        when {{ regex_full_match("trim(both ' ' from " ~ expr ~ ")", '[+-]?[0-9]{1,9}') }}
            then cast(trim(both ' ' from {{ expr }}) as integer)
    end
{%- endmacro %}

{#- Is this text one of the tokens that mean "no value" (var missing_value_tokens)? -#}
{% macro is_missing_token(expr) -%}
    (
        {{ expr }} is null
        or lower(trim(both ' ' from {{ expr }})) in (
            {%- for token in var('missing_value_tokens') %}'{{ token }}'{{ ", " if not loop.last }}{% endfor -%}
        )
    )
{%- endmacro %}


{#- strptime-style parsing (%Y %m %d %H %M %S %f %n %y). DuckDB has try_strptime; PostgreSQL
    gets the format compiled here into plain SQL (see postgres__try_strptime). -#}
{% macro try_strptime(expr, format) -%}
    {{ return(adapter.dispatch('try_strptime', 'smartmeter')(expr, format)) }}
{%- endmacro %}

{% macro duckdb__try_strptime(expr, format) -%}
    {#- %f/%n parse to nanosecond timestamps in DuckDB; keep microseconds, as PostgreSQL does #}
    cast(try_strptime(trim(both ' ' from {{ expr }}), '{{ format }}') as timestamp)
{%- endmacro %}

{#- PostgreSQL: set-based, no function call per row, never raising. The text is read once (a
    scalar subquery; OFFSET 0 keeps each step from being inlined and so re-evaluated):
    1. the usual spelling, every field at its full width ('2024-03-05 07:30'), is recognized
       by its length, a LIKE pattern and its digits, and its fields are read by position
       (substr: PostgreSQL's regular expressions cost microseconds a row, this does not);
    2. any other text goes through the format's regular expression (one digit for a month,
       day or hour is allowed there), which also rejects what does not match;
    3. the fields are range-checked (month, day of that month in the Gregorian calendar, hour,
       minute, second) before make_timestamp, so it cannot raise: an impossible date such as
       2024-02-30 or 2024-13-01 is NULL. Year 0 is 1 BC, as on DuckDB; %n, which DuckDB reads
       into a nanosecond timestamp, holds 1677-09-22 to 2262-04-11 23:47:16.854775806, and
       before 1970 its digits beyond the microsecond round up (DuckDB's cast to microseconds
       truncates toward 1970). -#}
{% macro postgres__try_strptime(expr, format) -%}
    {%- set plan = strptime_to_regex(format) -%}
    {%- set parts = {'Y': 'year', 'y': 'year', 'm': 'month', 'd': 'day', 'H': 'hour', 'M': 'minute', 'S': 'second', 'f': 'fraction', 'n': 'fraction'} -%}
    {%- set defaults = {'year': '1970', 'month': '1', 'day': '1', 'hour': '0', 'minute': '0', 'second': '0', 'fraction': '0'} -%}
    {%- set found = {} -%}
    {%- for field in plan.fields -%}
        {%- do found.update({parts[field]: (field, loop.index)}) -%}
    {%- endfor -%}
    (
        select
            case
                when not parsed.is_match then null
                when
                    parsed.month not between 1 and 12 or parsed.day < 1
                    or parsed.hour > 23 or parsed.minute > 59 or parsed.second > 59
                    then null
                when parsed.day > {{ days_in_month('parsed.year', 'parsed.month') }} then null
                {%- if 'n' in plan.fields %}
                {{ postgres__nanosecond_wall_clock_cases(
                    'parsed.year', 'parsed.month', 'parsed.day', 'parsed.hour', 'parsed.minute',
                    'parsed.second + parsed.fraction', 'parsed.nanoseconds'
                ) }}
                {%- endif %}
                {#- year 0 is 1 BC, as on DuckDB #}
                else make_timestamp(
                    {{ 'case when parsed.year = 0 then -1 else parsed.year end' if 'Y' in plan.fields else 'parsed.year' }},
                    parsed.month, parsed.day,
                    parsed.hour, parsed.minute, parsed.second + parsed.fraction
                )
            end
        from (
            select
                coalesce(matched.is_full_width or matched.groups is not null, false) as is_match
                {%- for name in ['year', 'month', 'day', 'hour', 'minute', 'second', 'fraction'] %},
                {%- if name not in found %}
                {{ defaults[name] }} as {{ name }}
                {%- else %}
                {%- set field, group = found[name] %}
                {%- set at = plan.positions[group - 1] %}
                {%- if field in 'fn' %}
                {#- microseconds; for %n the digits beyond them in nanoseconds #}
                cast('0.' || left(case
                    when matched.is_full_width then substr(matched.t, {{ at[0] }})
                    else matched.groups[{{ group }}]
                end, 6) as {{ type_double() }}) as {{ name }}
                {%- if field == 'n' %},
                cast(rpad(substr(case
                    when matched.is_full_width then substr(matched.t, {{ at[0] }})
                    else matched.groups[{{ group }}]
                end, 7), 3, '0') as integer) as nanoseconds
                {%- endif %}
                {%- else %}
                {{ '2000 + ' if field == 'y' }}cast(case
                    when matched.is_full_width then substr(matched.t, {{ at[0] }}, {{ at[1] }})
                    else matched.groups[{{ group }}]
                end as integer) as {{ name }}
                {%- endif %}
                {%- endif %}
                {%- endfor %}
            from (
                select
                    shaped.t,
                    shaped.is_full_width,
                    case
                        when not shaped.is_full_width
                            then regexp_match(shaped.t, '^{{ plan.regex }}$')
                    end as groups
                from (
                    select
                        text_in.t,
                        coalesce(
                            {%- if plan.full_width_ok %}
                            {%- if plan.fraction_digits %}
                            length(text_in.t)
                            between {{ plan.length + 1 }} and {{ plan.length + plan.fraction_digits }}
                            {%- else %}
                            length(text_in.t) = {{ plan.length }}
                            {%- endif %}
                            and text_in.t like '{{ plan.like }}'
                            and ltrim(
                                {%- for at in plan.positions %}
                                {%- if at[1] %}substr(text_in.t, {{ at[0] }}, {{ at[1] }})
                                {%- else %}substr(text_in.t, {{ at[0] }}){% endif %}
                                {{- ' || ' if not loop.last }}
                                {%- endfor %}{{ "''" if not plan.positions }}, '0123456789'
                            ) = '',
                            {%- else %}
                            false,
                            {%- endif %}
                            false
                        ) as is_full_width
                    from (select trim(both ' ' from {{ expr }}) as t offset 0) as text_in
                    offset 0
                ) as shaped
                offset 0
            ) as matched
            offset 0
        ) as parsed
    )
{%- endmacro %}

{#- Spark: the format's regular expression (strptime_to_regex, as on PostgreSQL); its groups,
    read in one pass (regexp_replace to a comma-separated list), are range-checked before
    make_timestamp, which would raise on year 0 or take second 60 as the next minute. The text
    and the groups are bound to `t` and `g` by one-element transforms, so each appears once in
    the SQL (the nested ISO 8601 parsers would otherwise repeat them thousands of times). -#}
{#- The view text Spark keeps in its metastore is limited (32,700 characters in the embedded
    Derby one), so each format's parser is a SQL function, created for every format in use by
    on-run-start (spark__create_strptime_functions: concurrent threads must not race to create
    one). -#}
{% macro spark__try_strptime(expr, format) -%}
    {%- if execute and format not in spark__builtin_strptime_formats() and format not in spark__strptime_formats() -%}
        {{ exceptions.raise_compiler_error(
            "no Spark parser for the timestamp format " ~ format ~ ": add it to spark__builtin_strptime_formats") }}
    {%- endif -%}
    {{ spark__strptime_function(format) }}({{ expr }})
{%- endmacro %}

{% macro spark__strptime_function(format) -%}
    {{ helper_schema() }}.smartmeter_strptime_{{ local_md5(format ~ spark__strptime_expression('t', format))[:16] }}
{%- endmacro %}

{#- The formats the macros spell out (the ISO 8601 parser's, NEM12's dates): parsers of these
    exist whatever the layouts declare, so a call with one of them reads nothing at compile time
    (each read of raw.layouts is a Spark job, and the ISO 8601 parser calls four of them). -#}
{% macro spark__builtin_strptime_formats() -%}
    {{ return(['%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d %H:%M:%S.%n', '%Y%m%d']) }}
{%- endmacro %}

{#- Every format a model parses: those above and the layouts' (raw.layouts, in one query; a
    layout may list several formats, timestamp_formats, a JSON list). -#}
{% macro spark__strptime_formats() -%}
    {%- set formats = spark__builtin_strptime_formats() -%}
    {%- set layouts = run_query('select * from raw.layouts') -%}
    {%- set found = [] -%}
    {%- for row in layouts.rows -%}
        {%- for column in ['timestamp_format', 'version_format'] if column in layouts.column_names -%}
            {%- do found.append(row[column]) -%}
        {%- endfor -%}
        {%- if 'timestamp_formats' in layouts.column_names -%}
            {%- do found.extend(fromjson(row['timestamp_formats'] or '[]')) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for format in found -%}
        {%- if format and format not in ('iso8601', 'number') and format not in formats -%}
            {%- do formats.append(format) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(formats) }}
{%- endmacro %}

{% macro spark__create_strptime_functions() -%}
    {%- for format in spark__strptime_formats() -%}
        {%- do run_query(
            'create function if not exists ' ~ spark__strptime_function(format)
            ~ '(t string) returns timestamp return ' ~ spark__strptime_expression('t', format)
        ) -%}
    {%- endfor -%}
{%- endmacro %}

{% macro spark__strptime_expression(expr, format) -%}
    {%- set plan = strptime_to_regex(format) -%}
    {%- set regex = spark__regex_literal('^' ~ plan.regex ~ '$') -%}
    {%- set fields = {'year': '1970', 'month': '1', 'day': '1', 'hour': '0', 'minute': '0', 'second': '0', 'fraction': '0'} -%}
    {%- set names = {'Y': 'year', 'y': 'year', 'm': 'month', 'd': 'day', 'H': 'hour', 'M': 'minute', 'S': 'second', 'f': 'fraction', 'n': 'fraction'} -%}
    {%- set groups = [] -%}
    {%- for code in plan.fields -%}
        {%- do groups.append('$' ~ loop.index) -%}
        {%- set group = 'g[' ~ loop.index0 ~ ']' -%}
        {%- if code in 'fn' -%}
            {#- microseconds, the rest cut off (as DuckDB's cast of %n does) #}
            {%- do fields.update({'fraction': "cast(concat('0.', left(" ~ group ~ ", 6)) as decimal(8, 6))"}) -%}
        {%- else -%}
            {%- do fields.update({names[code]: ('2000 + ' if code == 'y' else '') ~ 'cast(' ~ group ~ ' as int)'}) -%}
        {%- endif -%}
    {%- endfor -%}
    transform(array(trim(both ' ' from {{ expr }})), t -> case
        when t rlike '{{ regex }}' then transform(
            array(split(regexp_replace(t, '{{ regex }}', '{{ groups | join(",") }}'), ',')),
            g -> case
                when
                    {{ fields.year }} < 1 or {{ fields.month }} not between 1 and 12
                    or {{ fields.day }} < 1 or {{ fields.hour }} > 23 or {{ fields.minute }} > 59
                    or {{ fields.second }} > 59
                    then null
                when {{ fields.day }} > {{ days_in_month(fields.year, fields.month) }} then null
                {%- if 'n' in plan.fields %}
                {#- DuckDB reads %n into a nanosecond timestamp, which ends in 1677 and 2262 #}
                when
                    make_date({{ fields.year }}, {{ fields.month }}, {{ fields.day }})
                    not between date '1677-09-22' and date '2262-04-11'
                    then null
                {%- endif %}
                else make_timestamp(
                    {{ fields.year }}, {{ fields.month }}, {{ fields.day }},
                    {{ fields.hour }}, {{ fields.minute }},
                    cast({{ fields.second }} as decimal(8, 6)) + {{ fields.fraction }}
                )
            end
        )[0]
    end)[0]
{%- endmacro %}

{#- The days of a month in the Gregorian calendar (year and month are SQL integers). -#}
{% macro days_in_month(year, month) -%}
    case
        when {{ month }} in (4, 6, 9, 11) then 30
        when {{ month }} <> 2 then 31
        when
            mod({{ year }}, 4) = 0
            and (mod({{ year }}, 100) <> 0 or mod({{ year }}, 400) = 0)
            then 29
        else 28
    end
{%- endmacro %}

{#- A strptime format compiled for PostgreSQL: `regex` (one group per field, `fields` their
    codes in order), read as DuckDB reads it: 1-4 digits for %Y, 1-2 for the others, 1-6 for
    %f and 1-9 for %n, each field taking as many digits as it can (a field followed directly by
    another takes all its digits: 2024111 is 2024-11-1 for %Y%m%d); and the full-width form:
    each field's (start, width) in `positions` (width none: a trailing %f/%n of up to
    `fraction_digits` digits), the text's `length` without it and its `like` pattern.
    `full_width_ok` is false when a %f/%n is not last (such text always takes the regex). -#}
{% macro strptime_to_regex(format) -%}
    {%- set codes = {
        'Y': ('Y', 4), 'y': ('y', 2), 'm': ('m', 2), 'd': ('d', 2), 'H': ('H', 2),
        'M': ('M', 2), 'S': ('S', 2), 'f': ('f', 6), 'n': ('n', 9)
    } -%}
    {%- set ns = namespace(
        like='', length=0, escaped=false, fraction_at=none, fraction_digits=0,
        full_width_ok=true, follows_field=false
    ) -%}
    {%- set pieces = [] -%}
    {%- set fields = [] -%}
    {%- set positions = [] -%}
    {%- for ch in format -%}
        {%- if ns.escaped -%}
            {%- if ch not in codes -%}
                {{ exceptions.raise_compiler_error("unsupported timestamp format code %" ~ ch ~ " in " ~ format) }}
            {%- endif -%}
            {%- set code, width = codes[ch] -%}
            {%- if ns.fraction_at is not none -%}
                {%- set ns.full_width_ok = false -%}
            {%- endif -%}
            {%- if ns.follows_field -%}
                {%- do pieces.append(pieces.pop() | replace('{1,', '{')) -%}
            {%- endif -%}
            {%- do pieces.append('([0-9]{1,' ~ width ~ '})') -%}
            {%- do fields.append(code) -%}
            {%- if code in 'fn' -%}
                {%- do positions.append((ns.length + 1, none)) -%}
                {%- set ns.fraction_at = ns.length + 1 -%}
                {%- set ns.fraction_digits = width -%}
            {%- else -%}
                {%- do positions.append((ns.length + 1, width)) -%}
                {%- set ns.like = ns.like ~ ('_' * width) -%}
                {%- set ns.length = ns.length + width -%}
            {%- endif -%}
            {%- set ns.escaped = false -%}
            {%- set ns.follows_field = true -%}
        {%- elif ch == '%' -%}
            {%- set ns.escaped = true -%}
        {%- else -%}
            {%- if ns.fraction_at is not none -%}
                {%- set ns.full_width_ok = false -%}
            {%- endif -%}
            {%- do pieces.append('[' ~ ch ~ ']' if ch in '.^$*+?()[]{}|\\' else ch) -%}
            {%- set ns.like = ns.like ~ ('\\' ~ ch if ch in '%_\\' else ch) -%}
            {%- set ns.length = ns.length + 1 -%}
            {%- set ns.follows_field = false -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({
        'regex': pieces | join(''), 'fields': fields | join(''), 'positions': positions,
        'length': ns.length, 'like': ns.like, 'fraction_digits': ns.fraction_digits,
        'full_width_ok': ns.full_width_ok
    }) }}
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

{% macro spark__regex_group(expr, pattern, group) -%}
    nullif(regexp_extract({{ expr }}, '{{ spark__regex_literal(pattern) }}', {{ group }}), '')
{%- endmacro %}


{#- ISO 8601: `YYYY-MM-DD[T ]HH:MM[:SS[.fffffffff]]` with an optional `Z` or `+HH[:MM]` offset
    between -14:00 and +14:00 (the offsets in use on Earth; `+99:99` is no time at all).
    iso8601_local gives the wall-clock part, iso8601_offset_minutes the offset (NULL if none).
    Seconds carry at most 9 fractional digits, kept to the microsecond (truncated). -#}
{% macro iso8601_pattern() -%}
    ^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?) *(Z|z|[+-](0[0-9]|1[0-3])(:?[0-5][0-9])?|[+-]14(:?00)?)?$
{%- endmacro %}

{% macro iso8601_local(expr) -%}
    {{ return(adapter.dispatch('iso8601_local', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro default__iso8601_local(expr) -%}
    {%- set wall = "(" ~ regex_group("trim(both ' ' from " ~ expr ~ ")", iso8601_pattern(), 1) ~ " || ' ' || "
        ~ regex_group("trim(both ' ' from " ~ expr ~ ")", iso8601_pattern(), 2) ~ ")" -%}
    coalesce(
        {#- the most common spelling first: one strptime, no regex (only NULLs fall through) #}
        {{ try_strptime(expr, '%Y-%m-%dT%H:%M:%SZ') }},
        {{ try_strptime(wall, '%Y-%m-%d %H:%M:%S') }},
        {{ try_strptime(wall, '%Y-%m-%d %H:%M') }},
        {{ try_strptime(wall, '%Y-%m-%d %H:%M:%S.%n') }}
    )
{%- endmacro %}

{#- PostgreSQL: the WHEN branches that read a wall clock with a fraction as DuckDB does, into a
    nanosecond timestamp: NULL outside 1677-09-22 to 2262-04-11 23:47:16.854775806, and before
    1970 the digits past the microsecond round up (DuckDB's cast to microseconds truncates toward
    1970). The arguments are SQL expressions; `seconds` holds the microseconds as a fraction,
    `nanoseconds` the digits beyond them. Shared by postgres__try_strptime (%n) and
    postgres__iso8601_local. -#}
{% macro postgres__nanosecond_wall_clock_cases(year, month, day, hour, minute, seconds, nanoseconds) -%}
    {%- set wall_clock = 'make_timestamp(' ~ [year, month, day, hour, minute, seconds] | join(', ') ~ ')' -%}
    when {{ year }} not between 1677 and 2262 then null
    when {{ year }} in (1677, 2262) and (
        make_timestamp({{ year }}, {{ month }}, {{ day }}, 0, 0, 0) < '1677-09-22'
        or {{ wall_clock }} > '2262-04-11 23:47:16.854775'
        or {{ wall_clock }} = '2262-04-11 23:47:16.854775' and {{ nanoseconds }} > 806
    ) then null
    when {{ year }} < 1970 and {{ nanoseconds }} > 0
        then {{ wall_clock }} + interval '1 microsecond'
{%- endmacro %}

{#- PostgreSQL: ISO 8601 read by position (postgres__iso8601_shape), no regular expression
    per row, with DuckDB's verdicts: what iso8601_pattern matches gets its wall clock checked
    as DuckDB's try_strptime checks it (a fraction only between 1677-09-22 and 2262-04-11
    23:47:16.854775806, DuckDB's nanosecond timestamps, and before 1970 the digits past the
    microsecond round up, as DuckDB's cast does; year 0 is 1 BC); other text ending in `Z`
    goes to strptime's `%Y-%m-%dT%H:%M:%SZ` (1-digit fields, the whitespace DuckDB skips). -#}
{% macro postgres__iso8601_local(expr) -%}
    {%- set whitespace = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)" -%}
    (
        select
            case
                when iso.is_iso then case
                    when
                        iso.month not between 1 and 12 or iso.day < 1 or iso.hour > 23
                        or iso.minute > 59 or iso.second > 59
                        then null
                    when iso.day > {{ days_in_month('iso.year', 'iso.month') }} then null
                    when iso.fraction is null then make_timestamp(
                        case when iso.year = 0 then -1 else iso.year end, iso.month, iso.day,
                        iso.hour, iso.minute, iso.second
                    )
                    {{ postgres__nanosecond_wall_clock_cases(
                        'iso.year', 'iso.month', 'iso.day', 'iso.hour', 'iso.minute',
                        'iso.second + iso.fraction / 1000000.0', 'iso.nanoseconds'
                    ) }}
                    else make_timestamp(
                        iso.year, iso.month, iso.day, iso.hour, iso.minute,
                        iso.second + iso.fraction / 1000000.0
                    )
                end
                when rtrim(iso.t, {{ whitespace }}) like '%Z'
                    then {{ postgres__try_strptime('btrim(iso.t, ' ~ whitespace ~ ')', '%Y-%m-%dT%H:%M:%SZ') }}
            end
        from (
            select
                shape.t,
                shape.is_iso,
                case when shape.is_iso then cast(substr(shape.t, 1, 4) as integer) end as year,
                case when shape.is_iso then cast(substr(shape.t, 6, 2) as integer) end as month,
                case when shape.is_iso then cast(substr(shape.t, 9, 2) as integer) end as day,
                case when shape.is_iso then cast(substr(shape.t, 12, 2) as integer) end as hour,
                case when shape.is_iso then cast(substr(shape.t, 15, 2) as integer) end as minute,
                case
                    when shape.is_iso and shape.time_end >= 19
                        then cast(substr(shape.t, 18, 2) as integer)
                    else 0
                end as second,
                {#- the fraction's first six digits in microseconds, the rest in nanoseconds #}
                case
                    when shape.is_iso and shape.time_end > 20
                        then cast(rpad(substr(shape.t, 21, least(shape.time_end - 20, 6)), 6, '0') as integer)
                end as fraction,
                case
                    when shape.is_iso and shape.time_end > 26
                        then cast(rpad(substr(shape.t, 27, shape.time_end - 26), 3, '0') as integer)
                    else 0
                end as nanoseconds
            from ({{ postgres__iso8601_shape(expr) }}) as shape
            offset 0
        ) as iso
    )
{%- endmacro %}

{% macro iso8601_offset_minutes(expr) -%}
    {{ return(adapter.dispatch('iso8601_offset_minutes', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro default__iso8601_offset_minutes(expr) -%}
    {%- set offset = regex_group("trim(both ' ' from " ~ expr ~ ")", iso8601_pattern(), 5) -%}
    case
        when right(trim(both ' ' from {{ expr }}), 1) in ('Z', 'z') then 0
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

{#- PostgreSQL: the offset read by position (postgres__iso8601_shape); 0 for any text ending in
    `Z` or `z`, as on DuckDB. -#}
{% macro postgres__iso8601_offset_minutes(expr) -%}
    (
        select
            case
                when right(shape.t, 1) in ('Z', 'z') then 0
                when shape.is_iso and shape.zone <> '' then
                    (case when left(shape.zone, 1) = '-' then -1 else 1 end) * (
                        cast(substr(shape.zone, 2, 2) as integer) * 60
                        + case
                            when length(shape.zone) > 3 then cast(right(shape.zone, 2) as integer)
                            else 0
                        end
                    )
            end
        from ({{ postgres__iso8601_shape(expr) }}) as shape
    )
{%- endmacro %}

{#- The text (trimmed, `t`), whether iso8601_pattern matches it (`is_iso`), where its time of
    day ends (`time_end`: 16, 19 or 20 + the fraction's digits) and its offset (`zone`, '' if
    none), found by position: LIKE patterns, substr and digit checks (ltrim of the digits
    leaves nothing), no regular expression. A query for a FROM clause. -#}
{% macro postgres__iso8601_shape(expr) -%}
    {%- set digits = "'0123456789'" -%}
    select
        timed.t,
        timed.time_end,
        timed.zone,
        coalesce(
            timed.t like '____-__-_____:__%'
            and substr(timed.t, 11, 1) in ('T', ' ')
            and ltrim(
                substr(timed.t, 1, 4) || substr(timed.t, 6, 2) || substr(timed.t, 9, 2)
                || substr(timed.t, 12, 2) || substr(timed.t, 15, 2), {{ digits }}
            ) = ''
            {#- seconds: two digits; a fraction: 1-9 digits #}
            and (
                timed.time_end = 16
                or length(timed.t) >= 19 and ltrim(substr(timed.t, 18, 2), {{ digits }}) = ''
            )
            and timed.time_end <> 20 and timed.time_end < 30
            {#- the offset: Z, z, +hh, +hhmm or +hh:mm between -14:00 and +14:00 #}
            and (
                timed.zone in ('', 'Z', 'z')
                or (
                    left(timed.zone, 1) in ('+', '-')
                    and (
                        length(timed.zone) = 3
                        or (length(timed.zone) = 5 and ltrim(right(timed.zone, 2), {{ digits }}) = '')
                        or (
                            length(timed.zone) = 6 and substr(timed.zone, 4, 1) = ':'
                            and ltrim(right(timed.zone, 2), {{ digits }}) = ''
                        )
                    )
                    and (
                        (
                            substr(timed.zone, 2, 2) in (
                                '00', '01', '02', '03', '04', '05', '06',
                                '07', '08', '09', '10', '11', '12', '13'
                            )
                            and (
                                length(timed.zone) = 3
                                or substr(timed.zone, length(timed.zone) - 1, 1) in ('0', '1', '2', '3', '4', '5')
                            )
                        )
                        or (
                            substr(timed.zone, 2, 2) = '14'
                            and (length(timed.zone) = 3 or right(timed.zone, 2) = '00')
                        )
                    )
                )
            ),
            false
        ) as is_iso
    from (
        select
            ended.t,
            ended.time_end,
            ltrim(substr(ended.t, ended.time_end + 1), ' ') as zone
        from (
            select
                text_in.t,
                case
                    when substr(text_in.t, 17, 1) <> ':' then 16
                    when substr(text_in.t, 20, 1) <> '.' then 19
                    else 20 + length(substr(text_in.t, 21))
                        - length(ltrim(substr(text_in.t, 21), {{ digits }}))
                end as time_end
            from (select trim(both ' ' from {{ expr }}) as t offset 0) as text_in
            offset 0
        ) as ended
        offset 0
    ) as timed
    offset 0
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
    cast(round(cast({{ expr }} as {{ dbt.type_numeric() }}), {{ digits }}) as {{ dbt.type_string() }})
{%- endmacro %}
