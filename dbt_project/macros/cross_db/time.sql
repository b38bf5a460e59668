{#- Time-zone arithmetic on naive timestamps (wall clock in, UTC out, or back), the same on both
    stores. `tz` is SQL: a quoted literal ('Europe/London') or a column. A wall-clock time that
    does not exist or exists twice is resolved by the caller (see readings_in_utc.sql); these
    macros only convert. -#}

{% macro wall_clock_to_utc(expr, tz) -%}
    {{ return(adapter.dispatch('wall_clock_to_utc', 'smartmeter')(expr, tz)) }}
{%- endmacro %}

{% macro duckdb__wall_clock_to_utc(expr, tz) -%}
    timezone('UTC', timezone({{ tz }}, {{ expr }}))
{%- endmacro %}

{% macro postgres__wall_clock_to_utc(expr, tz) -%}
    (({{ expr }}) at time zone {{ tz }} at time zone 'UTC')
{%- endmacro %}

{#- Spark's timestamps are instants shown in the session time zone, which is UTC
    (profiles.yml), so a naive UTC timestamp is what they show. -#}
{% macro spark__wall_clock_to_utc(expr, tz) -%}
    to_utc_timestamp({{ expr }}, {{ tz }})
{%- endmacro %}

{% macro utc_to_wall_clock(expr, tz) -%}
    {{ return(adapter.dispatch('utc_to_wall_clock', 'smartmeter')(expr, tz)) }}
{%- endmacro %}

{% macro duckdb__utc_to_wall_clock(expr, tz) -%}
    timezone({{ tz }}, timezone('UTC', {{ expr }}))
{%- endmacro %}

{% macro postgres__utc_to_wall_clock(expr, tz) -%}
    (({{ expr }}) at time zone 'UTC' at time zone {{ tz }})
{%- endmacro %}

{% macro spark__utc_to_wall_clock(expr, tz) -%}
    from_utc_timestamp({{ expr }}, {{ tz }})
{%- endmacro %}

{#- Seconds since the epoch of a naive UTC timestamp (for grid arithmetic). -#}
{% macro epoch_seconds(expr) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro duckdb__epoch_seconds(expr) -%}
    epoch({{ expr }})
{%- endmacro %}

{% macro postgres__epoch_seconds(expr) -%}
    extract(epoch from {{ expr }})
{%- endmacro %}

{% macro spark__epoch_seconds(expr) -%}
    (cast(unix_micros({{ expr }}) as double) / 1000000)
{%- endmacro %}

{#- A naive UTC timestamp from epoch seconds. -#}
{% macro from_epoch_seconds(expr) -%}
    {{ return(adapter.dispatch('from_epoch_seconds', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro duckdb__from_epoch_seconds(expr) -%}
    make_timestamp(cast(({{ expr }}) * 1000000 as bigint))
{%- endmacro %}

{% macro postgres__from_epoch_seconds(expr) -%}
    (to_timestamp({{ expr }}) at time zone 'UTC')
{%- endmacro %}

{#- (Spark's cast to bigint truncates; DuckDB's rounds, and so does this.) -#}
{% macro spark__from_epoch_seconds(expr) -%}
    timestamp_micros(cast(round(({{ expr }}) * 1000000) as bigint))
{%- endmacro %}

{% macro add_minutes(expr, minutes) -%}
    {{ dbt.dateadd('minute', minutes, expr) }}
{%- endmacro %}

{#- Whole minutes from a to b (both naive UTC, b later). -#}
{% macro minutes_between(a, b) -%}
    cast(({{ epoch_seconds(b) }} - {{ epoch_seconds(a) }}) / 60 as integer)
{%- endmacro %}

{#- The ISO day of the week of a date or timestamp: 1 Monday to 7 Sunday. -#}
{% macro iso_weekday(expr) -%}
    {{ return(adapter.dispatch('iso_weekday', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro default__iso_weekday(expr) -%}
    cast(extract(isodow from {{ expr }}) as integer)
{%- endmacro %}

{% macro spark__iso_weekday(expr) -%}
    (weekday({{ expr }}) + 1)
{%- endmacro %}
