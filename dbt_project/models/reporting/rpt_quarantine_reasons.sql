{#- Quarantined readings counted by reason. -#}

select
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(count(*) as bigint) as readings
from {{ ref('quarantined_readings') }}
group by reason
