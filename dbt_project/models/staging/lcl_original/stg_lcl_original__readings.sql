{{ stage_long_layout(source('raw', 'lcl_original'), 'lcl_original') }}
