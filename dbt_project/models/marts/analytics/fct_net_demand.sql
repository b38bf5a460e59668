{#- Net demand per site and interval, where a site (meter id) has both import (channels of kind
    consumption) and export channels: what the site drew from the grid minus what it sent back.
    An interval is listed when both sides are published for it; negative net demand is a net
    export.

    Incremental: the meter-days (UTC) that fct_readings rewrites for new data on either side are
    deleted and built again from it, so a build reads the readings of the sites and days it
    touches, not every reading. -#}
{%- set kinds = ['consumption', 'export'] %}
{%- set window = scope_window(ref('int_readings_validated'), 'fct_net_demand', kinds=kinds) %}
{{
    config(
        materialized='incremental',
        indexes=lookup_indexes([['meter_id', 'reading_start_at'], ['reading_date']]),
        incremental_strategy='append',
        partition_by=spark_partition_column('reading_date', 'reading_month'),
        on_schema_change='append_new_columns',
        pre_hook="{% call delete_scope() %}
            {{ within_window(this ~ '.reading_start_at', scope_window(ref('int_readings_validated'), 'fct_net_demand', kinds=['consumption', 'export'])) }}
            and exists (
                select 1
                from ({{ days_touched_since_watermark(ref('int_readings_validated'), 'fct_net_demand') }}) as scope
                where
                    scope.channel_kind in ('consumption', 'export')
                    and scope.meter_id = {{ this }}.meter_id
                    and scope.reading_date = {{ this }}.reading_date
            )
        {% endcall %}",
        post_hook=[
            "{{ store_in_time_order('reading_start_at') }}",
            "{{ record_test_scope(ref('int_readings_validated'), 'reading_start_at') }}",
            "{{ advance_watermark(ref('int_readings_validated')) }}",
        ],
    )
}}

with

{% if is_incremental() %}
scope as (

    select distinct
        meter_id,
        reading_date
    from ({{ days_touched_since_watermark(ref('int_readings_validated'), 'fct_net_demand') }}) as touched
    where channel_kind in ('consumption', 'export')

),
{% endif %}

channel_energy as (

    select
        readings.meter_id,
        readings.channel_kind,
        readings.reading_start_at,
        readings.reading_end_at,
        readings.interval_minutes,
        sum(readings.kwh) as kwh,
        max(case when readings.is_estimated then 1 else 0 end) as any_estimated
    from {{ ref('fct_readings') }} as readings
    {%- if is_incremental() %}
    inner join scope
        on
            readings.meter_id = scope.meter_id
            and readings.reading_date = scope.reading_date
    {%- endif %}
    where
        {% if is_incremental() -%}
            {{ within_window('readings.reading_start_at', window) }} and
        {% endif -%}
        readings.channel_kind in ('consumption', 'export')
    group by
        readings.meter_id,
        readings.channel_kind,
        readings.reading_start_at,
        readings.reading_end_at,
        readings.interval_minutes

),

imported as (

    select * from channel_energy
    where channel_kind = 'consumption'

),

exported as (

    select * from channel_energy
    where channel_kind = 'export'

),

final as (

    select
        imported.meter_id,
        imported.reading_start_at,
        imported.reading_end_at,
        imported.interval_minutes,
        imported.kwh as import_kwh,
        exported.kwh as export_kwh,
        imported.kwh - exported.kwh as net_kwh,
        (imported.kwh - exported.kwh) * 60.0 / imported.interval_minutes as net_kw,
        imported.any_estimated + exported.any_estimated > 0 as is_estimated,
        cast(imported.reading_start_at as date) as reading_date,
        cast({{ dbt.date_trunc('month', 'imported.reading_start_at') }} as date) as reading_month
    from imported
    inner join exported
        on
            imported.meter_id = exported.meter_id
            and imported.reading_start_at = exported.reading_start_at
            and imported.reading_end_at = exported.reading_end_at

)

select * from final
