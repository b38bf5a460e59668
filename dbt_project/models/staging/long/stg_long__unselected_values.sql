{#- The values of the rows a long layout's `select` leaves out (a Green Button download's gas
    rows beside its electric ones), in the staging contract: never readings, but counted, so
    every delivered value has a verdict (`not_selected` in file_reading_balance). -#}
-- depends_on: {{ source('raw', 'layouts') }}
{{ stage_layouts_of_shape('long', selected=false) }}
