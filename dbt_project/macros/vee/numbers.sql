{#- A small inline table of integers 0..n-1 (portable: no generate_series). -#}
{% macro numbers(n) -%}
    select * from (
        values
        {%- for k in range(n) %}
            ({{ k }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as numbers (k)
{%- endmacro %}
