{#- Deleting and replacing rows, which Spark's plain Parquet tables cannot do in place. -#}

{#- Delete the rows of `relation` for which the caller's condition holds:
        {% call delete_rows(this) %} <condition> {% endcall %}
    (a hook; the condition may name the relation's columns as relation.column). -#}
{% macro delete_rows(relation) -%}
    {{ return(adapter.dispatch('delete_rows', 'smartmeter')(relation, caller())) }}
{%- endmacro %}

{#- Pre-hook of an incremental model that rewrites part of itself: on an incremental build,
    delete the model's rows for which the caller's condition holds (the rows its scope covers,
    which its body writes again in the same transaction); a full build deletes nothing. Used
    as delete_rows is, in a call block. -#}
{% macro delete_scope() -%}
    {#- (rendered on every build, so that dbt sees the models the condition reads) -#}
    {%- set condition = caller() -%}
    {%- if is_incremental() -%}
        {%- call delete_rows(this) %}{{ condition }}{% endcall -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro default__delete_rows(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{#- Spark: plain Parquet tables are rewritten, not edited. The rows to keep are written to a
    scratch table, which then replaces what they came from (a NULL condition keeps the row, as
    DELETE does). Nothing is written when no row matches. Run when the hook is rendered.

    A model partitioned by its config's `partition_by` rewrites only the partitions that hold a
    matching row: their kept rows replace them by a dynamic partition overwrite, then those left
    with no row are dropped. A build stopped half way leaves rows that match again, which the
    next build (its watermark not yet advanced) deletes. Any other table is rewritten whole:
    the kept rows take its place by a drop and a rename (a build killed between the two finds
    no table and builds the model in full). -#}
{% macro spark__delete_rows(relation, condition) -%}
    {%- if execute -%}
        {%- set is_model = this is defined and this is not none
            and relation.schema == this.schema and relation.identifier == this.identifier -%}
        {%- set partition_by = config.get('partition_by') if is_model else none -%}
        {%- set partition_by = [partition_by] if partition_by is string else partition_by -%}
        {%- set kept = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_kept'}) -%}
        {%- set matching = 'coalesce((' ~ condition ~ '), false)' -%}
        {%- if partition_by -%}
            {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
            {%- for column in partition_by if column not in present -%}
                {{ exceptions.raise_compiler_error(
                    relation ~ " has no column " ~ column ~ " to be partitioned by: it was built by an"
                    ~ " earlier version. Rebuild it once: smartmeter build --target spark -- "
                    ~ "--full-refresh -s " ~ relation.identifier ~ "+"
                ) }}
            {%- endfor -%}
            {%- set touched = spark_partitions_of(relation, partition_by, relation ~ ' where ' ~ matching) -%}
            {%- if touched -%}
                {%- set in_touched = '(' ~ touched | map('join', ' and ') | join(') or (') ~ ')' -%}
                {%- do spark_write_kept_rows(relation, kept, '(' ~ in_touched ~ ') and not ' ~ matching) -%}
                {#- (a partitioned table lists its partition columns last, as `select *` of it does) -#}
                {%- do run_query('insert overwrite table ' ~ relation ~ ' select * from ' ~ kept) -%}
                {%- set still_there = spark_partitions_of(relation, partition_by, kept) -%}
                {%- set emptied = [] -%}
                {%- for partition in touched if partition not in still_there -%}
                    {%- do emptied.append('partition (' ~ partition | join(', ') ~ ')') -%}
                {%- endfor -%}
                {%- if emptied -%}
                    {%- do run_query('alter table ' ~ relation ~ ' drop if exists ' ~ emptied | join(', ')) -%}
                {%- endif -%}
                {%- do run_query('drop table ' ~ kept) -%}
            {%- endif -%}
        {%- elif run_query('select 1 from ' ~ relation ~ ' where ' ~ matching ~ ' limit 1') | length > 0 -%}
            {%- do spark_write_kept_rows(relation, kept, 'not ' ~ matching) -%}
            {%- do run_query('drop table ' ~ relation) -%}
            {%- do run_query('alter table ' ~ kept ~ ' rename to ' ~ relation) -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- The rows of `relation` for which `where` holds, written to the scratch table `kept`. -#}
{% macro spark_write_kept_rows(relation, kept, where) -%}
    {%- do run_query('drop table if exists ' ~ kept) -%}
    {%- do run_query(
        'create table ' ~ kept ~ ' using parquet as select * from ' ~ relation ~ ' where ' ~ where
    ) -%}
{%- endmacro %}

{#- The distinct `partition_by` values of the rows `source` names (a table, and maybe a `where`),
    each as its list of `column = 'value'` terms: joined by commas a PARTITION spec, by `and` a
    predicate. `relation` is the partitioned table, for the error message. -#}
{% macro spark_partitions_of(relation, partition_by, source) -%}
    {%- set partitions = [] -%}
    {%- for row in run_query('select distinct ' ~ partition_by | join(', ') ~ ' from ' ~ source) -%}
        {%- set terms = [] -%}
        {%- for column in partition_by -%}
            {%- if row[loop.index0] is none -%}
                {%- do exceptions.raise_compiler_error(
                    relation ~ ': a row to delete has no ' ~ column ~ ' (partition columns are never NULL)'
                ) -%}
            {%- endif -%}
            {%- do terms.append(column ~ " = '" ~ row[loop.index0] ~ "'") -%}
        {%- endfor -%}
        {%- do partitions.append(terms) -%}
    {%- endfor -%}
    {{ return(partitions) }}
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
