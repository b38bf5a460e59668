{#- Every anomaly with its strength_rank: 1 for the largest |score|, ties broken by start and
    meter (a NULL score last); the report shows the strongest. -#}

select
    cast(meter_id as {{ dbt.type_string() }}) as meter_id,
    cast(anomaly_level as {{ dbt.type_string() }}) as anomaly_level,
    cast(period_start_at as timestamp) as period_start_at,
    cast(period_end_at as timestamp) as period_end_at,
    cast(observed as {{ type_double() }}) as observed,
    cast(expected as {{ type_double() }}) as expected,
    cast(unit as {{ dbt.type_string() }}) as unit,
    cast(score as {{ type_double() }}) as score,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(
        row_number() over (
            order by
                abs(score) desc nulls last,
                period_start_at asc,
                meter_id asc,
                anomaly_level asc,
                reason asc
        ) as bigint
    ) as strength_rank
from {{ ref('fct_anomalies') }}
