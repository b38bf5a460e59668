{#- Green Button XML (NAESB ESPI): one row per IntervalReading, as the loader wrote it
    (dlt_pipelines/espi_xml.py: each reading with its ReadingType, LocalTimeParameters,
    UsagePoint and MeterReading), turned into the staging contract (stage_layouts.sql) plus
    each row's own zone and value kind, which readings_in_utc takes for this shape:

      - the value is value x 10^powerOfTenMultiplier in the ReadingType's unit (espi_unit);
        a multiplier that is not a whole number within +-18 leaves the value unread;
      - stamps are the timePeriod's start, epoch seconds (UTC); the interval its duration in
        minutes (the ReadingType's intervalLength when a reading has none); a duration that is
        not whole minutes is judged invalid_interval;
      - the meter is the UsagePoint (its resource path), the channel the flow direction, with
        the MeterReading's id where a UsagePoint has several MeterReadings of energy or power
        in one direction;
      - ReadingQuality codes give source_quality_flag (espi_quality_flag). -#}

with

source as (

    select * from {{ source('raw', 'espi') }}

),

parsed as (

    select
        source.*,
        {{ espi_whole_number('time_period_start') }} as start_epoch,
        coalesce(
            {{ espi_whole_number('time_period_duration') }},
            {{ espi_whole_number('interval_length') }}
        ) as duration_seconds,
        {{ espi_multiplier('power_of_ten_multiplier') }} as multiplier,
        {{ espi_direction('flow_direction') }} as direction,
        nullif(trim(both ' ' from meter_reading), '') as meter_reading_id,
        coalesce(trim(both ' ' from uom) in ('72', '38'), false) as is_metered
    from source

),

channelled as (

    select
        parsed.*,
        -- several MeterReadings of energy or power in one direction (a voltage series beside
        -- them renames nothing; count distinct is no window function on PostgreSQL)
        coalesce(
            min(meter_reading_id)
                over (
                    partition by _file_sha256, usage_point, direction, is_metered
                )
            <> max(meter_reading_id) over (
                partition by _file_sha256, usage_point, direction, is_metered
            ),
            false
        ) as shares_direction
    from parsed

),

renamed as (

    select
        'espi' as layout,
        nullif(trim(both ' ' from usage_point), '') as meter_id,
        case
            when shares_direction
                then direction || coalesce('_' || meter_reading_id, '')
            else direction
        end as channel,
        time_period_start as timestamp_text,
        case
            when start_epoch between 0 and 253402300799 then {{ from_epoch_seconds('start_epoch') }}
        end as wall_clock_at,
        cast(null as integer) as utc_offset_minutes,
        value as value_text,
        {{ try_to_number('value') }} * power(10.0, multiplier) as value,
        {{ espi_unit('uom') }} as unit_text,
        coalesce(time_period_duration, interval_length) as interval_text,
        case
            when duration_seconds % 60 = 0 and abs(duration_seconds) <= 2000000000
                then cast(duration_seconds / 60 as integer)
            when duration_seconds is not null then -1
        end as interval_minutes,
        {{ espi_quality_flag('reading_quality') }} as source_quality_flag,
        reading_quality as source_reason_code,
        cast(null as {{ dbt.type_string() }}) as version_text,
        cast(null as {{ type_double() }}) as version_value,
        cast(reading_ordinal as integer) as value_position,
        {{ staged_lineage() }},
        {{ espi_local_zone('tz_offset', 'dst_offset') }} as row_timezone,
        {{ espi_value_kind('accumulation_behaviour') }} as row_value_kind
    from channelled

)

select * from renamed
