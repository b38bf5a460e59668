{#- The local meter-hours analytics learn from: int_meter_hours_localized (complete days,
    outlier readings left out) without the hours that overlap a finding on one of the meter's
    consumption channels (meter_faults: zero and constant runs, deviation episodes) and without
    the meters meter_health excludes whole (its declared rule). A meter's healthy hours stay in.
    A view: findings and the rule change with every build, and nothing here is stored. -#}

with

meter_hours as (

    select * from {{ ref('int_meter_hours_localized') }}

),

findings as (

    select
        meter_id,
        started_at,
        ended_at
    from {{ ref('meter_faults') }}
    where channel_kind = 'consumption'

),

excluded_meters as (

    select meter_id from {{ ref('meter_health') }}
    where is_excluded_from_peaks

),

screened as (

    select meter_hours.*
    from meter_hours
    where
        not exists (
            select 1
            from findings
            where
                findings.meter_id = meter_hours.meter_id
                and findings.started_at < meter_hours.hour_end_at
                and findings.ended_at > meter_hours.hour_start_at
        )
        and meter_hours.meter_id not in (select meter_id from excluded_meters)

)

select * from screened
