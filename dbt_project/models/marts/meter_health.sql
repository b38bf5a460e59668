{#- One row per meter: ok, suspect (sustained extreme deviations from its own history) or
    faulty (long zero or constant runs), and why; listed in meter_alerts when not ok.

    What analytics leave out: its outlier readings and the readings of its consumption channels
    inside a finding (peaks, profiles, baseloads, fleet demand and forecasts keep its healthy
    periods). The whole meter is left out only by the declared rule: var
    meter_exclusion_min_flagged_share, the share of its time (first to last reading) inside
    consumption findings at which it is excluded for good; null (the default) never. -#}
{%- set min_share = var('meter_exclusion_min_flagged_share') %}
{%- set rule = '' if min_share is none else ' (rule: ' ~ (100 * min_share) ~ '%)' %}

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
        max(case when severity = 'critical' then 1 else 0 end) = 1 as has_critical_finding,
        sum(case when channel_kind = 'consumption' then duration_hours else 0 end)
            as flagged_hours
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
        meters.outlier_readings,
        meters.first_reading_at,
        meters.last_reading_at,
        coalesce(findings.flagged_hours, 0) as flagged_hours,
        least(
            coalesce(findings.flagged_hours, 0) / nullif(
                {{ minutes_between('meters.first_reading_at', 'meters.last_reading_at') }} / 60.0, 0
            ),
            1.0
        ) as flagged_share
    from meters
    left join findings on meters.meter_id = findings.meter_id
    left join gaps on meters.meter_id = gaps.meter_id

),

excluded as (

    select
        final.*,
        {%- if min_share is none %}
            false as is_excluded_from_peaks
        {%- else %}
            coalesce(final.flagged_share >= {{ min_share }}, false) as is_excluded_from_peaks
        {%- endif %}
    from final

)

select
    excluded.*,
    case
        when excluded.is_excluded_from_peaks
            then
                'whole meter: '
                || {{ rounded_text('100 * excluded.flagged_share') }}
                || '% of its time inside findings{{ rule }}'
        when excluded.flagged_hours > 0 or excluded.outlier_readings > 0
            then
                {{ rounded_text('excluded.flagged_hours') }}
                || ' h inside findings and '
                || cast(excluded.outlier_readings as {{ dbt.type_string() }})
                || ' outlier reading(s) left out; healthy periods kept'
        else 'nothing'
    end as excluded_from_analytics
from excluded
