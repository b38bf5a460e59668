{#- Which meter-days an incremental build of a per-interval model must redo: every (meter,
    channel, UTC day) that a value loaded since the model's watermark falls on, and the days on
    either side (a new reading can close a gap that began the day before). The model deletes
    these days (pre-hook) and writes them again, in one transaction. -#}

{% macro days_touched_since_watermark(model_name) -%}
    select distinct
        touched.meter_id,
        touched.channel,
        cast({{ dbt.dateadd('day', 'shift.k - 1', 'touched.reading_start_at') }} as date)
            as reading_date
    from {{ ref('int_readings_validated') }} as touched
    cross join ({{ numbers(3) }}) as shift
    where
        {{ load_id_number('touched.load_id') }} > {{ watermark(model_name) }}
        and touched.reading_start_at is not null
{%- endmacro %}

{% macro delete_days_touched(model_name) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where exists (
            select 1
            from ({{ days_touched_since_watermark(model_name) }}) as scope
            where
                scope.meter_id = {{ this }}.meter_id
                and scope.channel = {{ this }}.channel
                and scope.reading_date = {{ this }}.reading_date
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
