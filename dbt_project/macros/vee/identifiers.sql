{#- Meter ids and channels: what the pipeline accepts as an identifier.

    Staging trims spaces at both ends ('abc ' and 'abc' are one meter); case is kept ('Abc' and
    'abc' are two meters, as in every MDM). An identifier is refused when it is empty, longer
    than var max_identifier_bytes bytes of UTF-8 (80: 80 ASCII characters or 20 emoji; the
    Parquet archive's folder name of an id, percent-encoded, then stays within the 255-byte
    file-name limit of common file systems), or holds a character that is invisible or
    changes how text around it is shown: C0/C1 control characters, zero-width characters and
    bidirectional overrides (a right-to-left override makes one id look like another). Letters,
    digits, punctuation and emoji of any script are kept as they are. -#}

{% macro invisible_characters_pattern() -%}
    {{ return(adapter.dispatch('invisible_characters_pattern', 'smartmeter')()) }}
{%- endmacro %}

{% macro duckdb__invisible_characters_pattern() -%}
    [\x{0}-\x{1F}\x{7F}-\x{9F}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{206F}\x{FEFF}]
{%- endmacro %}

{% macro postgres__invisible_characters_pattern() -%}
    [\x01-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]
{%- endmacro %}

{% macro spark__invisible_characters_pattern() -%}
    [\x{0}-\x{1F}\x{7F}-\x{9F}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{206F}\x{FEFF}]
{%- endmacro %}

{#- Why an identifier column cannot name a meter (or channel), or NULL when it can. `kind` is
    'meter_id' or 'channel'. -#}
{% macro identifier_problem(expr, kind) -%}
    case
        when {{ expr }} is null or {{ expr }} = '' then 'missing_{{ kind }}'
        when {{ utf8_bytes(expr) }} > {{ var('max_identifier_bytes') }} then 'invalid_{{ kind }}'
        when {{ regex_contains(expr, invisible_characters_pattern()) }} then 'invalid_{{ kind }}'
    end
{%- endmacro %}

{% macro utf8_bytes(expr) -%}
    {{ return(adapter.dispatch('utf8_bytes', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro duckdb__utf8_bytes(expr) -%}
    strlen({{ expr }})
{%- endmacro %}

{% macro postgres__utf8_bytes(expr) -%}
    octet_length({{ expr }})
{%- endmacro %}

{% macro spark__utf8_bytes(expr) -%}
    octet_length({{ expr }})
{%- endmacro %}
