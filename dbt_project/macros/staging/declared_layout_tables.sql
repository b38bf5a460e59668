{#- Written by scripts/sync_dbt_docs.py from dlt_pipelines/layouts.yml: do not edit.
    The raw table of every layout declared in the repository, by shape. -#}
{% macro declared_layout_tables(shape) -%}
    {{ return({
        'espi': ['espi'],
        'long': ['canonical', 'lcl_original', 'lcl_kaggle', 'sgsc', 'cumulative', 'semicolon_kw', 'green_button_csv'],
        'nem12': ['nem12'],
        'wide': ['wide']
    }.get(shape, [])) }}
{%- endmacro %}
