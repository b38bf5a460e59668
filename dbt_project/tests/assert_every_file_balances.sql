-- Every delivered file is accounted for: each raw value is published, quarantined or an exact
-- duplicate copy, and each raw row yields values or is a record that carries none.
select *
from {{ ref('file_reading_balance') }}
where not is_balanced
