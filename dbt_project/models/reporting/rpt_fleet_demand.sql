{#- Fleet kW per interval start (UTC): the consumption channels of the meters that meter_health
    does not exclude from peaks, outlier readings left out (the same fleet as the peak, profile
    and forecast marts). The report draws it as a load curve and an hour-by-day heatmap in the
    fleet's time zone. -#}

select
    cast(readings.reading_start_at as timestamp) as reading_start_at,
    cast(sum(readings.kw) as {{ type_double() }}) as fleet_kw
from {{ ref('fct_readings') }} as readings
inner join {{ ref('meter_health') }} as health
    on readings.meter_id = health.meter_id
where
    readings.channel_kind = 'consumption'
    and not health.is_excluded_from_peaks
    and not readings.is_outlier
group by readings.reading_start_at
having sum(readings.kw) is not null
