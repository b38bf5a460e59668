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

{#- Spark's percentile is exact and interpolates, as percentile_cont does. -#}
{% macro spark__median(expr) -%}
    percentile({{ expr }}, 0.5)
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
            {%- for e in expressions %}cast({{ e }} as {{ type_double() }}){{ ", " if not loop.last }}{% endfor -%}
        ]) as t (v)
    )
{%- endmacro %}

{#- Spark: the non-NULL values sorted, bound to `s` by a one-element transform, then the middle
    one (or the mean of the middle two; arrays are indexed from 0). -#}
{% macro spark__median_of(expressions) -%}
    transform(
        array(array_sort(filter(
            array({% for e in expressions %}cast({{ e }} as double){{ ", " if not loop.last }}{% endfor %}),
            v -> v is not null
        ))),
        s -> case
            when size(s) = 0 then null
            when size(s) % 2 = 1 then s[size(s) div 2]
            else (s[size(s) div 2 - 1] + s[size(s) div 2]) / 2
        end
    )[0]
{%- endmacro %}
