{{ stage_long_layout(source('raw', 'sgsc'), 'sgsc') }}
