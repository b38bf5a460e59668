{#- The audit of corrections: every delivered value that a newer version of the same meter,
    channel and interval replaced (the layout declares what marks a version: NEM12's
    UpdateDateTime, a revised-at column), beside the version that won. -#}

with

superseded as (

    select * from {{ ref('int_readings_validated') }}
    where is_superseded

),

final as (

    select
        superseded.meter_id,
        superseded.channel,
        superseded.reading_start_at,
        superseded.interval_minutes,
        superseded.layout,
        superseded.value as superseded_value,
        superseded.version_text as superseded_version,
        newest.value as published_value,
        newest.version_text as published_version,
        'newer version (' || coalesce(newest.version_text, '?') || ' after '
        || coalesce(superseded.version_text, '?') || ')' as reason,
        superseded.source_file,
        superseded.source_line,
        superseded.value_position,
        superseded.file_sha256,
        superseded.load_id,
        newest.source_file as published_source_file,
        newest.source_line as published_source_line,
        newest.file_sha256 as published_file_sha256
    from superseded
    left join {{ ref('int_readings_validated') }} as newest
        on
            superseded.superseded_by_file_sha256 = newest.file_sha256
            and superseded.superseded_by_source_line = newest.source_line
            and superseded.superseded_by_value_position = newest.value_position

)

select * from final
