{#- Incremental models consume raw loads in order. Each remembers, in
    intermediate.incremental_watermarks, the newest dlt load id it has consumed; the next run
    takes only rows from later loads (plus the context the step needs). The watermark is written
    by a post-hook inside the model's own transaction, so a killed build simply redoes the batch.

    dlt load ids are epoch seconds as text ("1795736351.3907833"), with ten digits before the
    point until the year 2286: compared as text they sort as the numbers do, and a text
    comparison lets DuckDB skip row groups by their min/max (a cast would not). -#}

{#- The newest load this model has consumed, as a scalar subquery ('' before the first run). -#}
{% macro watermark(model_name=none) -%}
    (
        select coalesce(max(load_id), '')
        from {{ helper_schema() }}.incremental_watermarks
        where model_name = '{{ model_name or this.identifier }}'
    )
{%- endmacro %}

{#- When a load happened: its id as epoch seconds. -#}
{% macro load_time(load_id) -%}
    {{ from_epoch_seconds('cast(' ~ load_id ~ ' as double precision)') }}
{%- endmacro %}

{#- Post-hook: record the newest load present in `source_relation` as consumed. -#}
{% macro advance_watermark(source_relation, load_column='load_id') -%}
    delete from {{ helper_schema() }}.incremental_watermarks where model_name = '{{ this.identifier }}';
    insert into {{ helper_schema() }}.incremental_watermarks (model_name, load_id, updated_at)
    select '{{ this.identifier }}', max({{ load_column }}), {{ dbt.current_timestamp() }}
    from {{ source_relation }}
    having max({{ load_column }}) is not null
{%- endmacro %}
