{#- Anomalies counted by level and reason (fct_anomalies). -#}

select
    cast(anomaly_level as {{ dbt.type_string() }}) as anomaly_level,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(count(*) as bigint) as anomalies
from {{ ref('fct_anomalies') }}
group by anomaly_level, reason
