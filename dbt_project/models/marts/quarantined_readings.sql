{#- Every raw value that is not published, with the reason, the text as delivered and where it
    came from. Exact duplicate copies are not quarantine: they are counted in
    file_reading_balance. -#}

with

rejected_at_validation as (

    select
        meter_id,
        channel,
        reading_start_at,
        interval_minutes,
        quarantine_reason as reason,
        -- rows that passed the row checks (conflicting duplicates) keep parsed values, not text
        coalesce(timestamp_text, cast(reading_start_at as {{ dbt.type_string() }}))
            as timestamp_text,
        coalesce(value_text, cast(value as {{ dbt.type_string() }})) as value_text,
        unit_text,
        layout,
        source_file,
        source_line,
        value_position,
        file_sha256,
        load_id
    from {{ ref('int_readings_validated') }}
    where quarantine_reason is not null

),

rejected_at_standardization as (

    select
        validated.meter_id,
        validated.channel,
        validated.reading_start_at,
        validated.interval_minutes,
        standardized.quarantine_reason as reason,
        coalesce(
            validated.timestamp_text, cast(validated.reading_start_at as {{ dbt.type_string() }})
        ) as timestamp_text,
        coalesce(validated.value_text, cast(validated.value as {{ dbt.type_string() }}))
            as value_text,
        validated.unit_text,
        validated.layout,
        validated.source_file,
        validated.source_line,
        validated.value_position,
        validated.file_sha256,
        validated.load_id
    from {{ ref('int_readings_standardized') }} as standardized
    inner join {{ ref('int_readings_validated') }} as validated
        on
            standardized.file_sha256 = validated.file_sha256
            and standardized.source_line = validated.source_line
            and standardized.value_position = validated.value_position
    where standardized.quarantine_reason is not null

),

quarantined as (

    select * from rejected_at_validation
    union all
    select * from rejected_at_standardization

)

select * from quarantined
