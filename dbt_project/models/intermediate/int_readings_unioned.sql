{#- Every layout's readings in one canonical long form on the UTC time line: one row per value
    in a delivered file (a line of a long layout, a register, a wide cell, a NEM12 interval).

    A new layout's staging model is added to this list. -#}
{%- set staged_layouts = [
    ('canonical', ref('stg_canonical__readings')),
    ('lcl_original', ref('stg_lcl_original__readings')),
    ('lcl_kaggle', ref('stg_lcl_kaggle__readings')),
    ('sgsc', ref('stg_sgsc__readings')),
    ('wide', ref('stg_wide__readings')),
    ('cumulative', ref('stg_cumulative__readings')),
    ('semicolon_kw', ref('stg_semicolon_kw__readings')),
    ('nem12', ref('int_nem12_intervals_unpivoted')),
] %}

with

{% for name, relation in staged_layouts %}
    {{ name }}_readings as (

        {{ readings_in_utc(relation, layout_config(name)) }}

    ),

{% endfor %}
unioned as (

    {%- for name, _ in staged_layouts %}
        select * from {{ name }}_readings
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

)

select * from unioned
{{ where_not_held_back('file_sha256') }}
