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

{#- PostgreSQL: up to four values (the weeks of a baseline) by order statistics in the row, a
    NULL counting as +Infinity: with s1 <= s2 <= s3 the smallest three, s2 is the smallest of the
    pairwise maxima and s3 the largest of the pairwise minima. The median of the k non-NULL values
    is then the middle one, or lo / 2 + hi / 2: DuckDB's list_median to the last bit (its
    percentile_cont rounds lo + (hi - lo) * 0.5 differently). A sorting subquery per row cost
    tens of microseconds. More values: percentile_cont. -#}
{% macro postgres__median_of(expressions) -%}
    {%- if expressions | length > 4 -%}
    (
        select percentile_cont(0.5) within group (order by v)
        from unnest(array[
            {%- for e in expressions %}cast({{ e }} as {{ type_double() }}){{ ", " if not loop.last }}{% endfor -%}
        ]) as t (v)
    )
    {%- else -%}
        {%- set values = [] -%}
        {%- for e in expressions -%}
            {%- do values.append("coalesce(cast(" ~ e ~ " as double precision), 'Infinity')") -%}
        {%- endfor -%}
        {%- for _ in range(4 - expressions | length) -%}
            {%- do values.append("double precision 'Infinity'") -%}
        {%- endfor -%}
        {%- set maxima, minima = [], [] -%}
        {%- for i in range(4) -%}{%- for j in range(i + 1, 4) -%}
            {%- do maxima.append('greatest(' ~ values[i] ~ ', ' ~ values[j] ~ ')') -%}
            {%- do minima.append('least(' ~ values[i] ~ ', ' ~ values[j] ~ ')') -%}
        {%- endfor -%}{%- endfor -%}
        {%- set first = 'least(' ~ values | join(', ') ~ ')' -%}
        {%- set second = 'least(' ~ maxima | join(', ') ~ ')' -%}
        {%- set third = 'greatest(' ~ minima | join(', ') ~ ')' -%}
        (case (
            {%- for e in expressions %}(case when {{ e }} is null then 0 else 1 end){{ ' + ' if not loop.last }}{% endfor -%}
        )
            when 1 then {{ first }}
            when 2 then {{ first }} / 2 + {{ second }} / 2
            when 3 then {{ second }}
            when 4 then {{ second }} / 2 + {{ third }} / 2
        end)
    {%- endif -%}
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
