{#- Which layouts (and so time zones) each meter's data came from, and the newest load of
    each. Incremental: only the newly loaded values are read; a (meter, layout, zone) seen again
    gets its newer load. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['meter_id', 'layout', 'timezone'],
        post_hook=["{{ advance_watermark(ref('int_readings_validated')) }}"],
    )
}}

with

validated as (

    select
        meter_id,
        layout,
        timezone,
        load_id
    from {{ ref('int_readings_validated') }}
    where
        meter_id is not null
        and meter_id <> ''
    {%- if is_incremental() %}
        and load_id > {{ watermark() }}
        {%- endif %}

),

sources as (

    select
        meter_id,
        layout,
        timezone,
        max(load_id) as last_load
    from validated
    group by meter_id, layout, timezone

)

select * from sources
