-- A published interval lasts exactly its interval_minutes.
select *
from {{ ref('fct_readings') }}
where {{ minutes_between('reading_start_at', 'reading_end_at') }} <> interval_minutes
