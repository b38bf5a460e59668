{#- The fleet's peaks the report marks on its load curve: each month's peak interval (with the
    share of the month's fleet energy left out of it) and the highest hours of the whole
    history. -#}

select
    cast(peak_type as {{ dbt.type_string() }}) as peak_type,
    cast(period_month as date) as period_month,
    cast(period_start_at as timestamp) as period_start_at,
    cast(period_end_at as timestamp) as period_end_at,
    cast(kw as {{ type_double() }}) as kw,
    cast(peak_rank as bigint) as peak_rank,
    cast(excluded_energy_share as {{ type_double() }}) as excluded_energy_share
from {{ ref('fct_peak_periods') }}
where scope = 'fleet' and peak_type in ('interval', 'hour')
