{#- The local days each long register gap on a consumption channel spans, with the share of its
    known energy that falls in each (in proportion to time) and the load of the read closing it
    (closing_load_id): fct_daily_consumption counts each share in its day, and an incremental
    build of it rebuilds the days of the gaps that newly loaded reads close (its pre-hook and its
    body both read this view). How many days a gap may span is read from
    int_register_gap_energy when this view is built, in the same build. -#}
{%- set max_days = 2 %}
{%- if execute %}
    {%- set energy = ref('int_register_gap_energy') %}
    {%- set relation = adapter.get_relation(
        database=energy.database, schema=energy.schema, identifier=energy.identifier
    ) %}
    {%- if relation is not none %}
        {%- set longest = run_query(
            "select max(" ~ minutes_between('gap_start_at', 'gap_end_at') ~ ") from " ~ relation
        ) %}
        {%- if longest and longest[0][0] is not none %}
            {%- set max_days = (longest[0][0] / 1440) | round(0, 'ceil') | int + 3 %}
        {%- endif %}
    {%- endif %}
{%- endif %}

with

numbers as (

    {{ numbers(max_days) }}

),

gaps as (

    select
        gaps.meter_id,
        coalesce(meters.timezone, 'UTC') as timezone,
        gaps.gap_start_at,
        gaps.gap_end_at,
        gaps.interval_minutes,
        gaps.gap_kwh,
        gaps.load_id as closing_load_id,
        cast(
            {{ utc_to_wall_clock('gaps.gap_start_at', "coalesce(meters.timezone, 'UTC')") }} as date
        ) as first_local_date
    from {{ ref('int_register_gap_energy') }} as gaps
    left join {{ ref('dim_meters') }} as meters
        on gaps.meter_id = meters.meter_id
    where gaps.channel_kind = 'consumption'

),

days as (

    select
        gaps.*,
        cast({{ dbt.dateadd('day', 'numbers.k', 'gaps.first_local_date') }} as date) as local_date
    from gaps
    cross join numbers

),

bounded as (

    select
        days.*,
        {{ wall_clock_to_utc('cast(days.local_date as timestamp)', 'days.timezone') }}
            as day_start_at,
        {{ wall_clock_to_utc(
            dbt.dateadd('day', 1, 'cast(days.local_date as timestamp)'), 'days.timezone'
        ) }} as day_end_at
    from days

)

select
    meter_id,
    timezone,
    local_date,
    interval_minutes,
    closing_load_id,
    gap_kwh
    * {{ minutes_between(
        'case when gap_start_at > day_start_at then gap_start_at else day_start_at end',
        'case when gap_end_at < day_end_at then gap_end_at else day_end_at end'
    ) }}
    / {{ minutes_between('gap_start_at', 'gap_end_at') }} as gap_kwh
from bounded
where day_start_at < gap_end_at and day_end_at > gap_start_at
