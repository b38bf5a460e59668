{#- Baseload: what a meter draws when the household sleeps. Per meter and local month, the
    median over complete nights (their healthy hours: int_meter_hours_screened) of the lowest hourly demand among the local hours in
    var baseload_night_hours. A jump from one month to the next is worth a look (a new
    always-on appliance, or a fault). -#}

with

night_hours as (

    select
        meter_id,
        local_date,
        local_hour,
        kw
    from {{ ref('int_meter_hours_screened') }}
    where local_hour in ({{ var('baseload_night_hours') | join(', ') }})

),

nights as (

    select
        meter_id,
        local_date,
        min(kw) as night_minimum_kw
    from night_hours
    group by meter_id, local_date
    having count(*) = {{ var('baseload_night_hours') | length }}

),

final as (

    select
        meter_id,
        cast({{ dbt.date_trunc('month', 'local_date') }} as date) as local_month,
        {{ median('night_minimum_kw') }} as baseload_kw,
        min(night_minimum_kw) as lowest_night_kw,
        count(*) as nights
    from nights
    group by meter_id, cast({{ dbt.date_trunc('month', 'local_date') }} as date)

)

select * from final
