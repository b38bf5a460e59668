{#- Green Button (NAESB ESPI) codes, read by stg_espi__interval_readings. -#}

{#- A whole number of up to 11 digits (epoch seconds, durations), else NULL. -#}
{% macro espi_whole_number(expr) -%}
    case
        when {{ regex_full_match("trim(both ' ' from " ~ expr ~ ")", '[+-]?[0-9]{1,11}') }}
            then cast(trim(both ' ' from {{ expr }}) as bigint)
    end
{%- endmacro %}

{#- powerOfTenMultiplier: absent or empty is 0; a whole number within +-18, else NULL (the value
    is then unread). -#}
{% macro espi_multiplier(expr) -%}
    case
        when {{ expr }} is null or trim(both ' ' from {{ expr }}) = '' then 0
        when {{ regex_full_match("trim(both ' ' from " ~ expr ~ ")", '[+-]?[0-9]{1,2}') }}
            then case
                when abs(cast(trim(both ' ' from {{ expr }}) as integer)) <= 18
                    then cast(trim(both ' ' from {{ expr }}) as integer)
            end
    end
{%- endmacro %}

{#- The ReadingType's unit of measure (uom): the energy and power units this warehouse
    converts by their symbol; anything else named for what it is (never a unit it converts, so
    such a series is judged invalid_unit and never published as a meter). -#}
{% macro espi_unit(uom) -%}
    case trim(both ' ' from {{ uom }})
        when '72' then 'Wh'
        when '38' then 'W'
        when '0' then 'none'
        when '5' then 'A'
        when '29' then 'V'
        when '33' then 'Hz'
        when '42' then 'm3'
        when '61' then 'VA'
        when '63' then 'VAr'
        when '65' then 'cos_theta'
        when '71' then 'VAh'
        when '73' then 'VArh'
        when '106' then 'Ah'
        when '119' then 'ft3'
        when '122' then 'ft3/h'
        when '125' then 'm3/h'
        when '128' then 'US_gal'
        when '129' then 'US_gal/h'
        when '169' then 'therm'
        else 'uom ' || coalesce(trim(both ' ' from {{ uom }}), 'missing')
    end
{%- endmacro %}

{#- accumulationBehaviour: bulkQuantity (1), continuousCumulative (2) and cumulative (3) are
    register totals; the rest (deltaData 4, indicating, instantaneous, absent) interval values. -#}
{% macro espi_value_kind(accumulation_behaviour) -%}
    case
        when trim(both ' ' from {{ accumulation_behaviour }}) in ('1', '2', '3') then 'cumulative'
        else 'interval'
    end
{%- endmacro %}

{#- flowDirection: forward (1, or absent) is the general supply, reverse (19) export, net (4)
    net; any other code keeps its number. -#}
{% macro espi_direction(flow_direction) -%}
    case
        when {{ flow_direction }} is null or trim(both ' ' from {{ flow_direction }}) in ('', '1')
            then 'general'
        when trim(both ' ' from {{ flow_direction }}) = '19' then 'export'
        when trim(both ' ' from {{ flow_direction }}) = '4' then 'net'
        else 'flow_' || trim(both ' ' from {{ flow_direction }})
    end
{%- endmacro %}

{#- ReadingQuality codes (QualityOfReading; several per reading are possible, space-separated
    here) to source_quality_flag: estimated (8 reference day, 9 interpolation, 12 projected,
    13 mixed, 15 weather-normalized) -> E; manually edited (7) -> S (substituted by the data
    custodian); anything else, or none (ESPI's default is valid) -> A. An estimate wins over
    an edit, an edit over a valid code. -#}
{% macro espi_quality_flag(reading_quality) -%}
    case
        {%- for code in ['8', '9', '12', '13', '15'] %}
        when ' ' || coalesce({{ reading_quality }}, '') || ' ' like '% {{ code }} %' then 'E'
        {%- endfor %}
        when ' ' || coalesce({{ reading_quality }}, '') || ' ' like '% 7 %' then 'S'
        else 'A'
    end
{%- endmacro %}

{#- LocalTimeParameters (tzOffset and dstOffset in seconds; the DST rules are kept as written)
    to the IANA zone the local-day marts use: a standard offset with DST is the main zone of the
    region that observes it (-18000 -> America/New_York; 3600 -> Europe/Paris; 36000 ->
    Australia/Sydney), a whole-hour offset without DST a fixed zone (Etc/GMT+5 is UTC-5), a few
    half-hour zones by name; anything else, or no LocalTimeParameters, UTC. -#}
{% macro espi_local_zone(tz_offset, dst_offset) -%}
    {%- set with_dst = {
        -36000: 'America/Adak', -32400: 'America/Anchorage', -28800: 'America/Los_Angeles',
        -25200: 'America/Denver', -21600: 'America/Chicago', -18000: 'America/New_York',
        -14400: 'America/Halifax', -12600: 'America/St_Johns', 0: 'Europe/London',
        3600: 'Europe/Paris', 7200: 'Europe/Athens', 34200: 'Australia/Adelaide',
        36000: 'Australia/Sydney', 43200: 'Pacific/Auckland',
    } -%}
    {%- set fixed_by_name = {
        -34200: 'Pacific/Marquesas', -12600: 'America/St_Johns', 12600: 'Asia/Tehran',
        16200: 'Asia/Kabul', 19800: 'Asia/Kolkata', 20700: 'Asia/Kathmandu',
        23400: 'Asia/Yangon', 34200: 'Australia/Darwin', 0: 'UTC',
    } -%}
    {%- set offset = espi_whole_number(tz_offset) -%}
    {%- set has_dst = 'coalesce(' ~ espi_whole_number(dst_offset) ~ ', 0) <> 0' -%}
    case
        {%- for seconds, zone in with_dst.items() %}
        when {{ offset }} = {{ seconds }} and {{ has_dst }} then '{{ zone }}'
        {%- endfor %}
        {%- for seconds, zone in fixed_by_name.items() %}
        when {{ offset }} = {{ seconds }} then '{{ zone }}'
        {%- endfor %}
        when {{ offset }} between -43200 and 50400 and {{ offset }} % 3600 = 0
            then 'Etc/GMT' || case when {{ offset }} > 0 then '-' else '+' end
            || cast(cast(abs({{ offset }}) / 3600 as integer) as {{ dbt.type_string() }})
        else 'UTC'
    end
{%- endmacro %}
