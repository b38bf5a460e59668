{#- The column a big incremental table is stored by on Spark, one folder per value: its day or
    its month, by var spark_partition_grain (an incremental build then rewrites only the
    partitions it touches: delete_rows). DuckDB and PostgreSQL ignore partition_by. -#}
{% macro spark_partition_column(day_column, month_column) -%}
    {%- set grain = var('spark_partition_grain') -%}
    {%- if grain not in ('day', 'month') -%}
        {{ exceptions.raise_compiler_error(
            "var spark_partition_grain is '" ~ grain ~ "': day or month"
        ) }}
    {%- endif -%}
    {{ return(day_column if grain == 'day' else month_column) }}
{%- endmacro %}
