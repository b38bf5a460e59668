{#- Meteorological season of a month, flipped for southern-hemisphere zones
    (var southern_hemisphere_zones). -#}
{% macro season(month, timezone) -%}
    {%- set southern -%}
        (
            {%- for prefix in var('southern_hemisphere_zones') %}
            {{ timezone }} like '{{ prefix }}%'{{ " or" if not loop.last }}
            {%- endfor %}
        )
    {%- endset -%}
    case
        when {{ month }} in (12, 1, 2) then case when {{ southern }} then 'summer' else 'winter' end
        when {{ month }} in (3, 4, 5) then case when {{ southern }} then 'autumn' else 'spring' end
        when {{ month }} in (6, 7, 8) then case when {{ southern }} then 'winter' else 'summer' end
        else case when {{ southern }} then 'spring' else 'autumn' end
    end
{%- endmacro %}
