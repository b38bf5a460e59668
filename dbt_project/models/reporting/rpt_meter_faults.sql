{#- The findings behind the meters' verdicts (meter_faults). -#}

select
    cast(meter_id as {{ dbt.type_string() }}) as meter_id,
    cast(fault_kind as {{ dbt.type_string() }}) as fault_kind,
    cast(started_at as timestamp) as started_at,
    cast(ended_at as timestamp) as ended_at,
    cast(duration_hours as {{ type_double() }}) as duration_hours,
    cast(severity as {{ dbt.type_string() }}) as severity,
    cast(detail as {{ dbt.type_string() }}) as detail
from {{ ref('meter_faults') }}
