{#- Average load profiles by local hour of day, from the healthy hours of complete days
    (int_meter_hours_screened: no outliers, nothing inside a fault or suspect episode): per meter
    and for the fleet (the mean of the meters' profiles, each meter counting once), for weekdays,
    weekends and all days, per season and over all seasons. -#}

with

readings as (

    select * from {{ ref('int_meter_hours_screened') }}

),

hour_sums as (

    -- One pass over the hours, at the finest grain the buckets below roll up from.
    select
        meter_id,
        season,
        is_weekend,
        local_hour,
        sum(kw) as kw_sum,
        count(*) as hours
    from readings
    group by meter_id, season, is_weekend, local_hour

),

buckets as (

    {%- for season_expr, day_expr in [
        ('season', "case when is_weekend then 'weekend' else 'weekday' end"),
        ('season', "'all'"),
        ("'all'", "case when is_weekend then 'weekend' else 'weekday' end"),
        ("'all'", "'all'"),
    ] %}
        select
            meter_id,
            {{ season_expr }} as season,
            {{ day_expr }} as day_type,
            local_hour,
            sum(kw_sum) / cast(sum(hours) as {{ type_double() }}) as avg_kw,
            cast(sum(hours) as bigint) as hours
        from hour_sums
        group by
            meter_id,
            {%- for expr in [season_expr, day_expr] if not expr.startswith("'") %}
                {{ expr }},
            {%- endfor %}
            local_hour
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

meters as (

    select
        'meter' as scope,
        meter_id,
        season,
        day_type,
        local_hour,
        avg_kw,
        hours,
        1 as meters
    from buckets

),

fleet as (

    select
        'fleet' as scope,
        cast(null as {{ dbt.type_string() }}) as meter_id,
        buckets.season,
        buckets.day_type,
        buckets.local_hour,
        avg(buckets.avg_kw) as avg_kw,
        sum(buckets.hours) as hours,
        count(*) as meters
    from buckets
    group by buckets.season, buckets.day_type, buckets.local_hour

),

final as (

    select * from meters
    union all
    select * from fleet

)

select * from final
