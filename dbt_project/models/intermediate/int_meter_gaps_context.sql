{#- The scope of an incremental build of meter_gaps (its pre-hook and its body both read it):
    each meter and channel with values loaded since that model's watermark, with the start of
    its first touched UTC day (first_at) and the end of its last published reading before that
    (previous_end_at). The gaps from there on are rebuilt. previous_end_at is looked for in the
    week before the new data first (a window fixed when this view is built, in the same build);
    in the whole history only for meters silent that long (the second join is empty, and
    skipped, when there are none). A view: it is read only by incremental builds, which see the
    watermark as it is before they advance it. -#}
{%- set recent = scope_window(
    ref('int_readings_validated'), 'meter_gaps', 7, for_scope_view=true
) %}

with

touched as (

    {{ meters_touched_since(ref('int_readings_validated'), 'meter_gaps') }}

),

recent as (

    select
        touched.meter_id,
        touched.channel,
        max(earlier.reading_end_at) as previous_end_at
    from touched
    inner join {{ ref('fct_readings') }} as earlier
        on
            touched.meter_id = earlier.meter_id
            and touched.channel = earlier.channel
            and touched.first_at > earlier.reading_start_at
    where earlier.reading_start_at >= {{ recent.start }}
    group by touched.meter_id, touched.channel

),

silent as (

    select touched.*
    from touched
    where
        not exists (
            select 1
            from recent
            where recent.meter_id = touched.meter_id and recent.channel = touched.channel
        )

),

older as (

    select
        silent.meter_id,
        silent.channel,
        max(earlier.reading_end_at) as previous_end_at
    from silent
    inner join {{ ref('fct_readings') }} as earlier
        on
            silent.meter_id = earlier.meter_id
            and silent.channel = earlier.channel
            and silent.first_at > earlier.reading_start_at
    group by silent.meter_id, silent.channel

)

select
    touched.meter_id,
    touched.channel,
    touched.first_at,
    coalesce(recent.previous_end_at, older.previous_end_at) as previous_end_at
from touched
left join recent
    on touched.meter_id = recent.meter_id and touched.channel = recent.channel
left join older
    on touched.meter_id = older.meter_id and touched.channel = older.channel
