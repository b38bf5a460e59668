{#- How many meters meter_health judges ok, suspect and faulty. -#}

select
    cast(status as {{ dbt.type_string() }}) as status,
    cast(count(*) as bigint) as meters
from {{ ref('meter_health') }}
group by status
