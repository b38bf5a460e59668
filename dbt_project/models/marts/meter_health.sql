{#- One row per meter: ok, suspect (sustained extreme deviations from its own history) or
    faulty (long zero or constant runs), and why. Meters that are not ok are left out of peak
    figures and listed in meter_alerts. -#}

with

meters as (

    select * from {{ ref('dim_meters') }}

),

findings as (

    select
        meter_id,
        sum(case when fault_kind = 'zero_run' then 1 else 0 end) as zero_runs,
        sum(case when fault_kind = 'constant_run' then 1 else 0 end) as constant_runs,
        sum(case when fault_kind = 'deviation' then 1 else 0 end) as deviation_episodes,
        max(case when fault_kind = 'zero_run' then duration_hours end) as longest_zero_run_hours,
        max(case when fault_kind = 'constant_run' then duration_hours end)
            as longest_constant_run_hours,
        min(started_at) as first_finding_at,
        max(ended_at) as last_finding_at,
        max(case when severity = 'critical' then 1 else 0 end) = 1 as has_critical_finding
    from {{ ref('meter_faults') }}
    group by meter_id

),

gaps as (

    select
        meter_id,
        count(*) as long_gaps,
        sum(intervals_missing) as intervals_in_long_gaps
    from {{ ref('meter_gaps') }}
    group by meter_id

),

final as (

    select
        meters.meter_id,
        case
            when findings.has_critical_finding then 'faulty'
            when findings.deviation_episodes > 0 then 'suspect'
            else 'ok'
        end as status,
        case
            when findings.meter_id is null then 'no findings'
            else
                trim(
                    both ' ' from
                    case
                        when findings.zero_runs > 0
                            then
                                cast(findings.zero_runs as {{ dbt.type_string() }})
                                || ' zero run(s), longest '
                                || {{ rounded_text('findings.longest_zero_run_hours') }}
                                || ' h; '
                        else ''
                    end
                    || case
                        when findings.constant_runs > 0
                            then
                                cast(findings.constant_runs as {{ dbt.type_string() }})
                                || ' constant run(s), longest '
                                || {{ rounded_text('findings.longest_constant_run_hours') }}
                                || ' h; '
                        else ''
                    end
                    || case
                        when findings.deviation_episodes > 0
                            then
                                cast(findings.deviation_episodes as {{ dbt.type_string() }})
                                || ' deviation episode(s); '
                        else ''
                    end
                )
        end as reasons,
        coalesce(findings.zero_runs, 0) as zero_runs,
        coalesce(findings.constant_runs, 0) as constant_runs,
        coalesce(findings.deviation_episodes, 0) as deviation_episodes,
        findings.first_finding_at,
        findings.last_finding_at,
        coalesce(gaps.long_gaps, 0) as long_gaps,
        coalesce(gaps.intervals_in_long_gaps, 0) as intervals_in_long_gaps,
        meters.published_readings,
        meters.estimated_readings,
        meters.first_reading_at,
        meters.last_reading_at
    from meters
    left join findings on meters.meter_id = findings.meter_id
    left join gaps on meters.meter_id = gaps.meter_id

)

select
    final.*,
    final.status <> 'ok' as is_excluded_from_peaks
from final
