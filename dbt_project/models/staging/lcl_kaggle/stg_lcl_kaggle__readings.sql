{{ stage_long_layout(source('raw', 'lcl_kaggle'), 'lcl_kaggle') }}
