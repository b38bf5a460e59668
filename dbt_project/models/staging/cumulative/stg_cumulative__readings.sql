{{ stage_long_layout(source('raw', 'cumulative'), 'cumulative') }}
