{#- Custom schemas are used as given (staging, intermediate, marts), not prefixed with the
    target schema: analysts query marts.fct_readings on either store. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
