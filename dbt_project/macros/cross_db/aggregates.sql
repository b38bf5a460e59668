{#- Aggregates spelled differently on the two stores. -#}

{% macro median(expr) -%}
    {{ return(adapter.dispatch('median', 'smartmeter')(expr)) }}
{%- endmacro %}

{% macro duckdb__median(expr) -%}
    median({{ expr }})
{%- endmacro %}

{% macro postgres__median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{#- The median of a few expressions in one row (NULLs ignored; NULL when all are NULL). -#}
{% macro median_of(expressions) -%}
    {{ return(adapter.dispatch('median_of', 'smartmeter')(expressions)) }}
{%- endmacro %}

{% macro duckdb__median_of(expressions) -%}
    list_median([{% for e in expressions %}cast({{ e }} as double){{ ", " if not loop.last }}{% endfor %}])
{%- endmacro %}

{% macro postgres__median_of(expressions) -%}
    (
        select percentile_cont(0.5) within group (order by v)
        from unnest(array[
            {%- for e in expressions %}cast({{ e }} as double precision){{ ", " if not loop.last }}{% endfor -%}
        ]) as t (v)
    )
{%- endmacro %}
