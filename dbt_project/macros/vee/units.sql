{#- Units, matched case- and space-insensitively (` kw `, `KWH`):
      power   W, kW, MW        -> kW as written (average demand over the interval)
      energy  Wh, kWh, MWh     -> kWh in the interval; average kW = kWh x 60 / interval minutes
    Anything else is not a unit this warehouse converts (invalid_unit). -#}

{% macro normalized_unit(expr) -%}
    lower(replace(trim(both ' ' from {{ expr }}), ' ', ''))
{%- endmacro %}

{% macro unit_kind(expr) -%}
    case
        when {{ normalized_unit(expr) }} in ('w', 'kw', 'mw') then 'power'
        when {{ normalized_unit(expr) }} in ('wh', 'kwh', 'mwh') then 'energy'
    end
{%- endmacro %}

{#- Factor from the unit to its kilo- form (W -> kW, Wh -> kWh, ...). -#}
{% macro unit_scale(expr) -%}
    case
        when {{ normalized_unit(expr) }} in ('w', 'wh') then 0.001
        when {{ normalized_unit(expr) }} in ('kw', 'kwh') then 1.0
        when {{ normalized_unit(expr) }} in ('mw', 'mwh') then 1000.0
    end
{%- endmacro %}

{#- Average demand in kW over the interval. -#}
{% macro to_kw(value, kind, scale, interval_minutes) -%}
    case
        when {{ kind }} = 'power' then {{ value }} * {{ scale }}
        when {{ kind }} = 'energy' then {{ value }} * {{ scale }} * 60.0 / {{ interval_minutes }}
    end
{%- endmacro %}

{#- Energy in kWh in the interval. -#}
{% macro to_kwh(value, kind, scale, interval_minutes) -%}
    case
        when {{ kind }} = 'power' then {{ value }} * {{ scale }} * {{ interval_minutes }} / 60.0
        when {{ kind }} = 'energy' then {{ value }} * {{ scale }}
    end
{%- endmacro %}
