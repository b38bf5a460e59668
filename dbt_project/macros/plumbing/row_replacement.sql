{#- Deleting and replacing rows, which Spark's plain Parquet tables cannot do in place. -#}

{#- Delete the rows of `relation` for which the caller's condition holds:
        {% call delete_rows(this) %} <condition> {% endcall %}
    (a hook; the condition may name the relation's columns as relation.column). -#}
{% macro delete_rows(relation) -%}
    {{ return(adapter.dispatch('delete_rows', 'smartmeter')(relation, caller())) }}
{%- endmacro %}

{% macro default__delete_rows(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{#- Spark: when some row matches, the rows to keep are written to a new table, which then takes
    the table's place (one write of the kept rows; a NULL condition keeps the row, as DELETE
    does). A build killed between the drop and the rename finds no table, and the model builds
    in full. Run when the hook is rendered. -#}
{% macro spark__delete_rows(relation, condition) -%}
    {%- set matches = run_query(
        'select 1 from ' ~ relation ~ ' where coalesce((' ~ condition ~ '), false) limit 1'
    ) if execute else [] -%}
    {%- if matches | length > 0 -%}
        {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_kept'}) -%}
        {%- do run_query('drop table if exists ' ~ kept) -%}
        {%- do run_query(
            'create table ' ~ kept ~ ' using parquet as select * from ' ~ relation
            ~ ' where not coalesce((' ~ condition ~ '), false)'
        ) -%}
        {%- do run_query('drop table ' ~ relation) -%}
        {%- do run_query('alter table ' ~ kept ~ ' rename to ' ~ relation) -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Replace the current model's rows of a helper table keyed by model name (a hook): the rows
    `select_sql` gives (its columns in the order of `columns`), or none when it is none. -#}
{% macro replace_helper_rows(table, columns, select_sql=none) -%}
    {{ return(adapter.dispatch('replace_helper_rows', 'smartmeter')(table, columns, select_sql)) }}
{%- endmacro %}

{% macro default__replace_helper_rows(table, columns, select_sql) -%}
    delete from {{ helper_schema() }}.{{ table }} where model_name = '{{ this.identifier }}'
    {%- if select_sql %};
    insert into {{ helper_schema() }}.{{ table }} (model_name, {{ columns | join(', ') }})
    select '{{ this.identifier }}', new_rows.* from ({{ select_sql }}) as new_rows
    {%- endif %}
{%- endmacro %}

{#- Spark: the helper tables are partitioned by model name; the model's partition is dropped,
    then its rows written by a dynamic partition overwrite, which stages its files in a folder
    of its own (models built at the same time write to the same table; an append or a static
    partition overwrite would share the table's one _temporary folder). -#}
{% macro spark__replace_helper_rows(table, columns, select_sql) -%}
    {%- set relation = helper_schema() ~ '.' ~ table -%}
    {%- if execute -%}
        {%- do run_query(
            'alter table ' ~ relation ~ " drop if exists partition (model_name = '"
            ~ this.identifier ~ "')"
        ) -%}
    {%- endif -%}
    {%- if select_sql -%}
        insert overwrite table {{ relation }} partition (model_name)
        select new_rows.*, '{{ this.identifier }}' as model_name from ({{ select_sql }}) as new_rows
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's incremental materialization knows append, insert_overwrite and merge (which needs
    Delta or Iceberg). These two of its macros, overridden here, add delete+insert as the other
    stores run it: the new rows are written aside first (the model's query may read the table
    it replaces rows of), the rows with their keys deleted (a rewrite), then they are appended. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'delete+insert' -%}{{ return(raw_strategy) }}{%- endif -%}
    {{ return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy != 'delete+insert' -%}
        {{ return(dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates)) }}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set new_rows = target.incorporate(path={'identifier': target.identifier ~ '__dbt_new'}) -%}
    {%- do run_query('drop table if exists ' ~ new_rows) -%}
    {%- do run_query('create table ' ~ new_rows ~ ' using parquet as select * from ' ~ source) -%}
    {%- set deleted -%}{#- (the rewrite runs as the hook is rendered) #}
    {%- call delete_rows(target) -%}
        exists (
            select 1 from {{ new_rows }} as new_rows
            where
                {%- for key in keys %}
                new_rows.{{ key }} = {{ target }}.{{ key }}{{ ' and' if not loop.last }}
                {%- endfor %}
        )
    {%- endcall -%}
    {%- endset -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    insert into table {{ target }} select {{ columns }} from {{ new_rows }}
{%- endmacro %}
