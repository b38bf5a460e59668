{#- One row per entry of `rows` for each row of the query: the join clause that follows
    `from <relation>`, naming the new columns `alias`.`columns`. Each entry of `rows` is a list of
    SQL expressions, one per column (they may name the relation's columns). -#}
{% macro unpivot_join(rows, alias, columns) -%}
    {{ return(adapter.dispatch('unpivot_join', 'smartmeter')(rows, alias, columns)) }}
{%- endmacro %}

{% macro default__unpivot_join(rows, alias, columns) -%}
    cross join lateral (
        values
        {%- for row in rows %}
            ({{ row | join(', ') }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as {{ alias }} ({{ columns | join(', ') }})
{%- endmacro %}

{#- Spark has no VALUES that reads the outer row; its stack() generator does the same. -#}
{% macro spark__unpivot_join(rows, alias, columns) -%}
    lateral view stack(
        {{ rows | length }},
        {%- for row in rows %}
        {{ row | join(', ') }}{{ "," if not loop.last }}
        {%- endfor %}
    ) {{ alias }} as {{ columns | join(', ') }}
{%- endmacro %}
