{#- Net demand per site and interval, where a site (meter id) has both import (channels of kind
    consumption) and export channels: what the site drew from the grid minus what it sent back.
    An interval is listed when both sides are published for it; negative net demand is a net
    export. -#}

with

channel_energy as (

    select
        meter_id,
        channel_kind,
        reading_start_at,
        reading_end_at,
        interval_minutes,
        sum(kwh) as kwh,
        max(case when is_estimated then 1 else 0 end) as any_estimated
    from {{ ref('fct_readings') }}
    where channel_kind in ('consumption', 'export')
    group by meter_id, channel_kind, reading_start_at, reading_end_at, interval_minutes

),

imported as (

    select * from channel_energy
    where channel_kind = 'consumption'

),

exported as (

    select * from channel_energy
    where channel_kind = 'export'

),

final as (

    select
        imported.meter_id,
        imported.reading_start_at,
        imported.reading_end_at,
        imported.interval_minutes,
        imported.kwh as import_kwh,
        exported.kwh as export_kwh,
        imported.kwh - exported.kwh as net_kwh,
        (imported.kwh - exported.kwh) * 60.0 / imported.interval_minutes as net_kw,
        imported.any_estimated + exported.any_estimated > 0 as is_estimated,
        cast(imported.reading_start_at as date) as reading_date
    from imported
    inner join exported
        on
            imported.meter_id = exported.meter_id
            and imported.reading_start_at = exported.reading_start_at
            and imported.reading_end_at = exported.reading_end_at

)

select * from final
