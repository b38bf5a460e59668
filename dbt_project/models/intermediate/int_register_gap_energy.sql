{#- The known energy of each long register gap: a cumulative register read more than
    var max_interpolation_gap_minutes after the one before it. The increase between the two
    reads is exact; only its timing is unknown, so it is published as the gap's energy
    (meter_gaps, fct_daily_consumption) and not as intervals. -#}

select
    meter_id,
    channel,
    channel_kind,
    gap_start_at,
    reading_end_at as gap_end_at,
    interval_minutes,
    gap_kwh,
    is_register_rollover,
    reading_start_at,
    layout,
    source_file,
    source_line,
    value_position,
    file_sha256,
    load_id
from {{ ref('int_readings_standardized') }}
where gap_kwh is not null
