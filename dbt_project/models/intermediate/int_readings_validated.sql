{#- Validation: every value in every delivered file, with the verdict on it.

    One row per raw value (file_sha256, source_line, value_position). `row_reason` is what is
    wrong with the row on its own; `quarantine_reason` adds the verdict of comparing it with
    every other version of the same meter, channel and interval: identical versions are exact
    duplicates (the first delivered is kept, the others are `is_duplicate_copy`), differing
    versions are all quarantined as `conflicting_duplicate`. Where the layout declares a version
    marker (NEM12's UpdateDateTime, a revised-at column) and the versions' markers differ, the
    newest is judged alone and the older ones are `is_superseded` (superseded_by_* name the
    version that won and its marker).

    Incremental: a run takes the raw loads newer than its watermark and re-judges the older rows
    that share an interval with them (a late file can turn a published reading into a conflict).
-#}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['load_id'], ['meter_id', 'channel', 'reading_start_at'], ['file_sha256', 'source_line', 'value_position']]),
        incremental_strategy='delete+insert',
        partition_by='load_id',
        unique_key=['file_sha256', 'source_line', 'value_position'],
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ store_in_time_order('reading_start_at') }}",
            "{{ record_test_scope(this, 'reading_start_at', new_loads=true) }}",
            "{{ advance_watermark(this) }}",
        ],
    )
}}

{%- set valid_intervals = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60] %}

with

new_readings as (

    select * from {{ ref('int_readings_unioned') }}
    {%- if is_incremental() %}
    where load_id > {{ watermark() }}
    {%- endif %}

),

row_checked as (

    select
        new_readings.*,
        {{ unit_kind('unit_text') }} as unit_kind,
        {{ unit_scale('unit_text') }} as unit_scale,
        coalesce(
            {{ identifier_problem('meter_id', 'meter_id') }},
            {{ identifier_problem('channel', 'channel') }},
            timestamp_problem,
            case
                when
                    interval_minutes is null
                    or interval_minutes not in ({{ valid_intervals | join(', ') }})
                    then 'invalid_interval'
                when
                    reading_start_at < cast('{{ var("earliest_valid_date") }}' as timestamp)
                    or reading_start_at > {{ add_minutes(
                        load_time('load_id'), 'interval_minutes') }}
                    then 'out_of_range_timestamp'
                when
                    {{ epoch_seconds('wall_clock_at') }}
                    <> floor({{ epoch_seconds('wall_clock_at') }})
                    or mod(
                        cast({{ epoch_seconds('wall_clock_at') }} as bigint), interval_minutes * 60
                    ) <> 0
                    then 'off_grid_timestamp'
                when
                    {{ is_missing_token('value_text') }}
                    or {{ is_declared_missing_token('layout', 'value_text') }}
                    then 'missing_value'
                when value is null and {{ is_unholdable_number('value_text') }}
                    then 'implausible_value'
                when value is null then 'unparseable_value'
                when {{ unit_kind('unit_text') }} is null then 'invalid_unit'
                when value_kind = 'cumulative' and {{ unit_kind('unit_text') }} <> 'energy'
                    then 'invalid_unit'
                when value < 0 then 'negative_value'
                -- Beyond what any meter measures (not an outlier: those stay published, flagged).
                when
                    value_kind = 'cumulative'
                    and value * {{ unit_scale('unit_text') }} > {{ var('max_register_kwh') }}
                    then 'implausible_value'
                when
                    value_kind <> 'cumulative'
                    and {{ to_kw('value', unit_kind('unit_text'), unit_scale('unit_text'),
                        'interval_minutes') }} > {{ var('max_physical_kw') }}
                    then 'implausible_value'
            end
        ) as row_reason
    from new_readings

),

slim as (

    select
        {{ column_list(validated_base_columns()[:-3]) }},
        case when row_reason is not null then timestamp_text end as timestamp_text,
        case when row_reason is not null then value_text end as value_text,
        case when row_reason is not null then interval_text end as interval_text
    from row_checked

),

{% if is_incremental() %}
affected_intervals as (

    select distinct meter_id, channel, reading_start_at
    from slim
    where row_reason is null

),

earlier_versions as (

    -- Rows judged before whose interval a new row shares; re-judged with the new ones. A file
    -- loaded again (after a crash) is judged from its new rows only. (By file, not by row: the
    -- distinct files are a short list PostgreSQL hashes once, where a row-by-row anti-join
    -- against the new rows became a nested loop of 48,000 x 48,000 on a resent day.)
    select {{ column_list(validated_base_columns(), 'previous') }}
    from {{ this }} as previous
    inner join affected_intervals
        on
            previous.meter_id = affected_intervals.meter_id
            and previous.channel = affected_intervals.channel
            and previous.reading_start_at = affected_intervals.reading_start_at
    where
        previous.row_reason is null
        and previous.file_sha256 not in (
            select distinct slim.file_sha256 from slim
            where slim.file_sha256 is not null
        )

),
{% endif %}

pool as (

    select {{ column_list(validated_base_columns()) }}
    from slim
    {%- if is_incremental() %}
    union all
    select * from earlier_versions
    {%- endif %}

),

compared as (

    select
        pool.*,
        -- What two versions must agree on: kW for interval values, the register for reads.
        -- (rows that failed a row check may hold values no numeric type can; they are never
        -- compared)
        case when row_reason is null then round(cast(
            case
                when value_kind = 'cumulative' then value * unit_scale
                else {{ to_kw('value', 'unit_kind', 'unit_scale', 'interval_minutes') }}
            end as {{ dbt.type_numeric() }}
        ), 6) end as comparable_value
    from pool

),

repeated_intervals as (

    -- Intervals delivered more than once (rare): a hash aggregate, no sort of every reading.
    -- Revised: every version carries the layout's version marker and they differ.
    select
        meter_id,
        channel,
        reading_start_at,
        count(*) as versions,
        count(version_value) = count(*) and min(version_value) < max(version_value)
            as is_revised,
        max(version_value) as newest_version
    from compared
    where row_reason is null
    group by meter_id, channel, reading_start_at
    having count(*) > 1

),

repeated_versions as (

    select
        compared.file_sha256,
        compared.source_line,
        compared.value_position,
        compared.comparable_value,
        compared.load_id,
        compared.version_text,
        compared.meter_id,
        compared.channel,
        compared.reading_start_at,
        repeated_intervals.versions,
        coalesce(
            repeated_intervals.is_revised
            and compared.version_value < repeated_intervals.newest_version,
            false
        ) as is_superseded
    from compared
    inner join repeated_intervals
        on
            compared.meter_id = repeated_intervals.meter_id
            and compared.channel = repeated_intervals.channel
            and compared.reading_start_at = repeated_intervals.reading_start_at
    where compared.row_reason is null

),

judged_versions as (

    -- Superseded versions step aside; the rest are judged as before: identical ones keep the
    -- first delivered, differing ones conflict. newest_* is the version that stands.
    select
        repeated_versions.*,
        min(comparable_value) over current_versions
        <> max(comparable_value) over current_versions as is_conflicting,
        row_number() over (
            partition by meter_id, channel, reading_start_at, is_superseded
            order by load_id, file_sha256, source_line, value_position
        ) as version_rank,
        first_value(file_sha256) over newest_first as newest_file_sha256,
        first_value(source_line) over newest_first as newest_source_line,
        first_value(value_position) over newest_first as newest_value_position,
        first_value(version_text) over newest_first as newest_version_text
    from repeated_versions
    window
        current_versions as (partition by meter_id, channel, reading_start_at, is_superseded),
        newest_first as (
            partition by meter_id, channel, reading_start_at
            order by is_superseded, load_id, file_sha256, source_line, value_position
            rows between unbounded preceding and unbounded following
        )

),

final as (

    select
        {{ column_list(validated_base_columns(), 'compared') }},
        compared.comparable_value,
        coalesce(
            compared.row_reason,
            case
                when not judged_versions.is_superseded and judged_versions.is_conflicting
                    then 'conflicting_duplicate'
            end
        ) as quarantine_reason,
        coalesce(
            not judged_versions.is_superseded
            and not judged_versions.is_conflicting
            and judged_versions.version_rank > 1,
            false
        ) as is_duplicate_copy,
        coalesce(judged_versions.is_superseded, false) as is_superseded,
        {%- for column in ['file_sha256', 'source_line', 'value_position', 'version_text'] %}
            case when judged_versions.is_superseded then judged_versions.newest_{{ column }} end
                as superseded_by_{{ column }},
        {%- endfor %}
        coalesce(judged_versions.versions, 1) as versions
    from compared
    left join judged_versions
        on
            compared.file_sha256 = judged_versions.file_sha256
            and compared.source_line = judged_versions.source_line
            and compared.value_position = judged_versions.value_position

)

select * from final
