{#- What the alerting layer sends about meters: one row per meter that is not ok. `alert_key`
    changes only when the meter's status or its earliest finding changes, so an alert goes out
    once per episode, not on every run. -#}

with

flagged as (

    select * from {{ ref('meter_health') }}
    where status <> 'ok'

),

final as (

    select
        'meter_' || status || ':' || meter_id || ':'
        || cast(first_finding_at as {{ dbt.type_string() }}) as alert_key,
        meter_id,
        status,
        case when status = 'faulty' then 'critical' else 'warning' end as severity,
        'Meter ' || meter_id || ' is ' || status || ': ' || reasons as message,
        first_finding_at,
        last_finding_at
    from flagged

)

select * from final
