{#- The meters meter_health judges faulty or suspect, why, and what it found; status_order puts
    the faulty ones first. -#}

select
    cast(meter_id as {{ dbt.type_string() }}) as meter_id,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(case when status = 'faulty' then 0 else 1 end as integer) as status_order,
    cast(reasons as {{ dbt.type_string() }}) as reasons,
    cast(zero_runs as bigint) as zero_runs,
    cast(constant_runs as bigint) as constant_runs,
    cast(deviation_episodes as bigint) as deviation_episodes,
    cast(long_gaps as bigint) as long_gaps
from {{ ref('meter_health') }}
where status <> 'ok'
