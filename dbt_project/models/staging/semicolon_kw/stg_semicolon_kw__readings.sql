{{ stage_long_layout(source('raw', 'semicolon_kw'), 'semicolon_kw') }}
