{#- The values of the rows a long layout's `select` leaves out (a Green Button download's gas
    rows beside its electric ones), in the staging contract: never readings, but counted, so
    every delivered value has a verdict (`not_selected` in file_reading_balance). -#}
{#- Spark keeps a view's text in its metastore, which the embedded Derby one limits to 32,700
    characters; a block per long layout outgrows it (a few vendor layouts with long header
    names did). On Spark it is a table, rebuilt at each build. #}
{{ config(materialized='table' if target.type == 'spark' else 'view') }}
{{ stage_layouts_of_shape(
    'long',
    declared_layout_sources('long'),
    source('raw', 'layouts'),
    selected=false,
    file_headers=source('raw', 'file_headers'),
) }}
