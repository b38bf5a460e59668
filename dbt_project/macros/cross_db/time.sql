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

{% macro utc_to_wall_clock(expr, tz) -%}
    {{ return(adapter.dispatch('utc_to_wall_clock', 'smartmeter')(expr, tz)) }}
{%- endmacro %}

{% macro duckdb__utc_to_wall_clock(expr, tz) -%}
    timezone({{ tz }}, timezone('UTC', {{ expr }}))
{%- endmacro %}

{% macro postgres__utc_to_wall_clock(expr, tz) -%}
    (({{ expr }}) at time zone 'UTC' at time zone {{ tz }})
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

{% macro add_minutes(expr, minutes) -%}
    {{ dbt.dateadd('minute', minutes, expr) }}
{%- endmacro %}

{#- Whole minutes from a to b (both naive UTC, b later). -#}
{% macro minutes_between(a, b) -%}
    cast(({{ epoch_seconds(b) }} - {{ epoch_seconds(a) }}) / 60 as integer)
{%- endmacro %}
