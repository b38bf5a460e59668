{{ stage_long_layout(source('raw', 'canonical'), 'canonical') }}
