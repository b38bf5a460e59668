-- Meters whose night baseload jumped: the month-on-month rise of the median night minimum,
-- largest first (a new always-on appliance, a heater left on, or a metering fault).
with

monthly as (

    select
        meter_id,
        local_month,
        baseload_kw,
        lag(baseload_kw) over (partition by meter_id order by local_month) as previous_kw
    from {{ ref('fct_meter_baseload') }}
    where nights >= 7

)

select
    meter_id,
    local_month,
    round(cast(previous_kw as decimal(18, 6)), 3) as previous_baseload_kw,
    round(cast(baseload_kw as decimal(18, 6)), 3) as baseload_kw,
    round(cast(baseload_kw / nullif(previous_kw, 0) as decimal(18, 6)), 2) as ratio
from monthly
where
    previous_kw is not null and baseload_kw > 1.5 * previous_kw and baseload_kw - previous_kw > 0.05
order by baseload_kw - previous_kw desc
