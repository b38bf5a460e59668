{#- The report's headline numbers, one row: the meters, what became of the readings (published,
    estimated here, estimated by the source, quarantined), the span of the published readings,
    the long gaps, and the time zone most meters keep (the fleet's day is drawn in it). -#}

with

readings as (

    select
        count(*) as readings_published,
        sum(case when quality_flag = 'E' then 1 else 0 end) as readings_estimated,
        -- delivered as the source's own estimate or substitute (NEM12 E/S/F, a layout's
        -- declared source_quality column)
        sum(
            case
                when quality_flag = 'A' and source_quality_flag in ('E', 'S', 'F') then 1
                else 0
            end
        ) as readings_source_estimated,
        min(reading_start_at) as first_reading_at,
        max(reading_end_at) as last_reading_at
    from {{ ref('fct_readings') }}

),

meters as (

    select count(*) as meters
    from {{ ref('dim_meters') }}

),

quarantined as (

    select count(*) as readings_quarantined
    from {{ ref('quarantined_readings') }}

),

gaps as (

    select
        count(*) as long_gaps,
        count(distinct meter_id) as gap_meters,
        sum(intervals_missing) as intervals_missing
    from {{ ref('meter_gaps') }}

),

zones as (

    select
        timezone,
        row_number() over (order by count(*) desc, timezone) as zone_rank
    from {{ ref('dim_meters') }}
    where timezone is not null
    group by timezone

),

fleet_zone as (

    select timezone
    from zones
    where zone_rank = 1

)

select
    cast(meters.meters as bigint) as meters,
    cast(readings.readings_published as bigint) as readings_published,
    cast(coalesce(readings.readings_estimated, 0) as bigint) as readings_estimated,
    cast(coalesce(readings.readings_source_estimated, 0) as bigint) as readings_source_estimated,
    cast(quarantined.readings_quarantined as bigint) as readings_quarantined,
    cast(readings.first_reading_at as timestamp) as first_reading_at,
    cast(readings.last_reading_at as timestamp) as last_reading_at,
    cast(gaps.long_gaps as bigint) as long_gaps,
    cast(gaps.gap_meters as bigint) as gap_meters,
    cast(coalesce(gaps.intervals_missing, 0) as {{ type_double() }}) as intervals_missing,
    cast(fleet_zone.timezone as {{ dbt.type_string() }}) as fleet_timezone
from readings
cross join meters
cross join quarantined
cross join gaps
left join fleet_zone on 1 = 1
