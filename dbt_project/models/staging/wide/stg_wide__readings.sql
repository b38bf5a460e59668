{{ stage_wide_layout(source('raw', 'wide'), source('raw', 'file_headers'), 'wide') }}
