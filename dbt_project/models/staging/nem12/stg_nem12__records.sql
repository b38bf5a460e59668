{#- NEM12 records, one row per record, fields kept by position: what a field means depends on
    the record type and, for 300 records, on the interval length of the 200 record above it,
    so the fields are named in int_nem12_intervals_unpivoted. -#}
{%- set fields = raw_columns(source('raw', 'nem12'), 'field_') %}

with

source as (

    select * from {{ source('raw', 'nem12') }}

),

renamed as (

    select
        trim(both ' ' from field_001) as record_indicator,
        {%- for field in fields if field != 'field_001' %}
            {{ field }},
        {%- endfor %}
        {{ staged_lineage() }}
    from source

)

select * from renamed
