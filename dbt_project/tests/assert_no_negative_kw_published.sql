-- Negative readings are quarantined and interpolation between non-negative neighbours cannot
-- go below zero: nothing negative is ever published.
select *
from {{ ref('fct_readings') }}
where kw < 0 or kwh < 0
