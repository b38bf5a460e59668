{#- NEM12 positions. A 300 record is: 300, IntervalDate, N interval values (N = 1440 / interval
    length: 48, 96 or 288), QualityMethod, ReasonCode, ReasonDescription, UpdateDateTime,
    MSATSLoadDateTime. Only fields the raw table really has (dlt adds them as wider files
    arrive) are referenced. -#}

{% macro nem12_field(position) -%}
    {{ 'field_%03d' % position }}
{%- endmacro %}

{#- The `offset`-th field after the interval values (1 QualityMethod, 2 ReasonCode), whichever
    interval length the row's 200 record declared. -#}
{% macro nem12_after_values(fields, offset) -%}
    {%- set lengths = [] -%}
    {%- for n in [48, 96, 288] if nem12_field(n + 2 + offset) in fields -%}
        {%- do lengths.append(n) -%}
    {%- endfor -%}
    {%- if lengths -%}
        case 1440 / nullif(blocks.interval_minutes, 0)
        {%- for n in lengths %}
            when {{ n }} then nullif(trim(both ' ' from positioned.{{ nem12_field(n + 2 + offset) }}), '')
        {%- endfor %}
        end
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- Rows (interval number, value text) for unpivot_join, one per interval field present; a row
    0 keeps the list valid when there is none (it is filtered out). -#}
{% macro nem12_interval_rows(fields, relation) -%}
    {%- set rows = [] -%}
    {%- for k in range(1, 289) if nem12_field(k + 2) in fields -%}
        {%- do rows.append([k, relation ~ '.' ~ nem12_field(k + 2)]) -%}
    {%- endfor -%}
    {%- do rows.append([0, 'cast(null as ' ~ dbt.type_string() ~ ')']) -%}
    {{ return(rows) }}
{%- endmacro %}

{#- The channel of a NMI suffix: the layout's map (E1 -> general), else the suffix itself. -#}
{% macro nem12_channel(suffix, channel_map) -%}
    case {{ suffix }}
    {%- for code, channel in (channel_map or {}).items() %}
        when '{{ code }}' then '{{ channel }}'
    {%- endfor %}
        else lower({{ suffix }})
    end
{%- endmacro %}
