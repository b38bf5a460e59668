{#- Published interval readings: one row per meter, channel and interval, actual (A) or
    estimated (E), with outlier flags and lineage.

    Outliers are flagged, not dropped: kW above var max_plausible_kw, or a spike (Oracle MDM's
    check: the day's highest interval above spike_ratio x its third highest, and at least
    spike_min_kw). Estimation (VEE): between two neighbouring clean readings (valid, not outliers)
    every missing interval is filled by point-to-point linear interpolation when the span between
    them is at most var max_interpolation_gap_minutes (California's 2 hours); longer spans are
    left empty and listed in meter_gaps.

    Incremental: the meter-days touched by newly validated values (and their neighbours) are
    deleted and rebuilt with a day of context on each side; the Parquet export queue gets the
    dates that changed.
-#}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['meter_id', 'channel', 'reading_start_at'], ['reading_start_at'], ['reading_date']]),
        incremental_strategy='append',
        partition_by=spark_partition_column('reading_date', 'reading_month'),
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_utc_days_touched(ref('int_readings_validated'), 'fct_readings', 'reading_start_at') }}",
        post_hook=[
            "{{ store_in_time_order('reading_start_at') }}",
            "{{ queue_parquet_export(ref('int_readings_validated'), 'fct_readings') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'reading_start_at') }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}
{%- set context = var('incremental_context_days') %}
{%- set window = scope_window(ref('int_readings_validated'), 'fct_readings', context, context) %}
{%- set max_gap = var('max_interpolation_gap_minutes') %}
{%- set context_days = var('incremental_context_days') %}

with

numbers as (

    {{ numbers(max_gap) }}

),

{% if is_incremental() %}
scope_days as (

    {{ days_touched_since_watermark(ref('int_readings_validated'), 'fct_readings') }}

),

context_days as (

    select distinct
        scope_days.meter_id,
        scope_days.channel,
        cast({{ dbt.dateadd('day', 'shift.k - ' ~ context_days, 'scope_days.reading_date') }} as date)
            as reading_date
    from scope_days
    cross join ({{ numbers(2 * context_days + 1) }}) as shift

),
{% endif %}

standardized as (

    select
        standardized.*,
        cast(standardized.reading_start_at as date) as reading_date
    from {{ ref('int_readings_standardized') }} as standardized
    {%- if is_incremental() %}
    inner join context_days
        on
            standardized.meter_id = context_days.meter_id
            and standardized.channel = context_days.channel
            and cast(standardized.reading_start_at as date) = context_days.reading_date
    {%- endif %}
    where
        standardized.quarantine_reason is null
        and standardized.gap_kwh is null
    {%- if is_incremental() %}
        and standardized.reading_start_at >= {{ window.start }}
        and standardized.reading_start_at < {{ window.end }}
        {%- endif %}

),

ranked_in_day as (

    select
        standardized.*,
        row_number() over (
            partition by meter_id, channel, reading_date order by kw desc, reading_start_at asc
        ) as rank_in_day
    from standardized

),

day_peaks as (

    select
        meter_id,
        channel,
        reading_date,
        max(case when rank_in_day = 1 then kw end) as highest_kw,
        max(case when rank_in_day = 3 then kw end) as third_highest_kw
    from ranked_in_day
    group by meter_id, channel, reading_date

),

flagged as (

    select
        ranked_in_day.*,
        case
            when ranked_in_day.kw > {{ var('max_plausible_kw') }} then 'above_max_plausible_kw'
            when
                ranked_in_day.rank_in_day = 1
                and day_peaks.highest_kw >= {{ var('spike_min_kw') }}
                and day_peaks.highest_kw > {{ var('spike_ratio') }} * day_peaks.third_highest_kw
                then 'spike'
        end as outlier_reason
    from ranked_in_day
    inner join day_peaks
        on
            ranked_in_day.meter_id = day_peaks.meter_id
            and ranked_in_day.channel = day_peaks.channel
            and ranked_in_day.reading_date = day_peaks.reading_date

),

clean_spans as (

    -- Consecutive clean readings; where one ends before the next starts there is a span to
    -- estimate (it may hold outlier readings, which stay published as they are).
    select
        meter_id,
        channel,
        channel_kind,
        interval_minutes,
        lag(reading_start_at) over clean_order as previous_start_at,
        lag(reading_end_at) over clean_order as previous_end_at,
        lag(kw) over clean_order as previous_kw,
        reading_start_at as next_start_at,
        kw as next_kw,
        -- an estimate's lineage is the reading that closed the span (same file and load)
        layout,
        source_file,
        file_sha256,
        load_id
    from flagged
    where outlier_reason is null
    window clean_order as (partition by meter_id, channel order by reading_start_at)

),

fillable_spans as (

    select * from clean_spans
    where
        previous_end_at < next_start_at
        and {{ minutes_between('previous_end_at', 'next_start_at') }} <= {{ max_gap }}

),

span_points as (

    select
        fillable_spans.*,
        {{ add_minutes(
            'fillable_spans.previous_end_at', 'numbers.k * fillable_spans.interval_minutes'
        ) }} as reading_start_at
    from fillable_spans
    inner join numbers
        on
            numbers.k * fillable_spans.interval_minutes
            < {{ minutes_between(
                'fillable_spans.previous_end_at', 'fillable_spans.next_start_at'
            ) }}

),

estimated as (

    select
        span_points.meter_id,
        span_points.channel,
        span_points.channel_kind,
        span_points.reading_start_at,
        {{ add_minutes('span_points.reading_start_at', 'span_points.interval_minutes') }}
            as reading_end_at,
        span_points.interval_minutes,
        span_points.previous_kw + (span_points.next_kw - span_points.previous_kw)
        * (
            {{ epoch_seconds('span_points.reading_start_at') }}
            - {{ epoch_seconds('span_points.previous_start_at') }}
        )
        / (
            {{ epoch_seconds('span_points.next_start_at') }}
            - {{ epoch_seconds('span_points.previous_start_at') }}
        )
            as kw,
        'E' as quality_flag,
        'linear_interpolation' as estimation_method,
        span_points.layout,
        span_points.source_file,
        span_points.file_sha256,
        span_points.load_id
    from span_points
    where not exists (
        select 1
        from flagged
        where
            flagged.outlier_reason is not null
            and flagged.meter_id = span_points.meter_id
            and flagged.channel = span_points.channel
            and flagged.reading_start_at = span_points.reading_start_at
    )

),

published as (

    select
        meter_id,
        channel,
        channel_kind,
        reading_start_at,
        reading_end_at,
        interval_minutes,
        kw,
        kwh,
        quality_flag,
        quality_flag = 'E' as is_estimated,
        estimation_method,
        outlier_reason is not null as is_outlier,
        outlier_reason,
        source_quality_flag,
        source_reason_code,
        layout,
        source_file,
        source_line,
        file_sha256,
        load_id
    from flagged

    union all

    select
        meter_id,
        channel,
        channel_kind,
        reading_start_at,
        reading_end_at,
        interval_minutes,
        kw,
        kw * interval_minutes / 60.0 as kwh,
        quality_flag,
        true as is_estimated,
        estimation_method,
        false as is_outlier,
        cast(null as {{ dbt.type_string() }}) as outlier_reason,
        cast(null as {{ dbt.type_string() }}) as source_quality_flag,
        cast(null as {{ dbt.type_string() }}) as source_reason_code,
        layout,
        source_file,
        cast(null as bigint) as source_line,
        file_sha256,
        load_id
    from estimated

),

final as (

    select
        published.*,
        cast(published.reading_start_at as date) as reading_date,
        cast({{ dbt.date_trunc('month', 'published.reading_start_at') }} as date) as reading_month
    from published
    {%- if is_incremental() %}
    inner join scope_days
        on
            published.meter_id = scope_days.meter_id
            and published.channel = scope_days.channel
            and cast(published.reading_start_at as date) = scope_days.reading_date
    {%- endif %}

)

select * from final
