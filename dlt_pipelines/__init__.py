"""Getting meter files into the `raw` schema, untouched: layouts, archive, text tables, dlt."""
