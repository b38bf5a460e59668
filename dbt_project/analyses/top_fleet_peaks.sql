-- The 10 highest fleet peaks: the fleet's top hours over the whole history, with how many
-- healthy meters contributed. (`dbt compile` renders this to plain SQL under target/.)
select
    peak_rank,
    period_start_at as hour_start_utc,
    round(cast(kw as decimal(18, 6)), 2) as fleet_kw,
    meters
from {{ ref('fct_peak_periods') }}
where peak_type = 'hour'
order by peak_rank
limit 10
