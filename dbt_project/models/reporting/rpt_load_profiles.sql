{#- The fleet's average kW per healthy meter by local hour of day, per season and day type
    (fct_usage_profiles, scope fleet). -#}

select
    cast(season as {{ dbt.type_string() }}) as season,
    cast(day_type as {{ dbt.type_string() }}) as day_type,
    cast(local_hour as integer) as local_hour,
    cast(avg_kw as {{ type_double() }}) as avg_kw
from {{ ref('fct_usage_profiles') }}
where scope = 'fleet'
