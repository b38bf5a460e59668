-- How much of each meter's published data is estimated, and how much is held back in quarantine
-- or missing in long gaps: where the data is thinnest.
with

published as (

    select
        meter_id,
        count(*) as readings,
        sum(case when is_estimated then 1 else 0 end) as estimated
    from {{ ref('fct_readings') }}
    group by meter_id

),

quarantined as (

    select
        meter_id,
        count(*) as quarantined
    from {{ ref('quarantined_readings') }}
    group by meter_id

)

select
    health.meter_id,
    health.status,
    published.readings,
    published.estimated,
    round(100.0 * published.estimated / published.readings, 2) as estimated_pct,
    coalesce(quarantined.quarantined, 0) as quarantined,
    health.intervals_in_long_gaps
from {{ ref('meter_health') }} as health
inner join published on health.meter_id = published.meter_id
left join quarantined on health.meter_id = quarantined.meter_id
order by estimated_pct desc, health.meter_id asc
