"""The dlt side of raw landing: one pipeline per data home and target, loading Arrow tables of
text into the `raw` dataset (schema), one table per layout.

dlt gives us the schema bookkeeping, the load id and the destinations; exactly-once delivery is
kept by the caller (smartmeter.ingest), which deletes a file's rows before (re)loading it and
drops any load package a killed run left behind.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

from dlt_pipelines.layouts import Layout, load_layouts, raw_column_name
from dlt_pipelines.text_tables import HEADER_SCHEMA, TextTable

RAW_DATASET = "raw"
LINEAGE_COLUMNS = {
    "_source_file": pa.string(),
    "_source_line": pa.int64(),
    "_file_sha256": pa.string(),
}

# What incremental builds and reloads select raw rows by, and how PostgreSQL indexes it. The raw
# tables only grow by appends (a file's rows together, load ids rising), the case BRIN is made
# for: a summary per block range, built in one pass over the table with no sort and kept up by
# COPY for little; min/max for the load id (ranges: `> watermark`), a bloom filter for the file
# (equality: reloads, isolation, joins on the file).
RAW_INDEXES = {"_dlt_load_id": "brin ({})", "_file_sha256": "brin ({} text_bloom_ops)"}

# Arrow tables get dlt's load id as a column, like every other dlt load.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def make_pipeline(pipelines_dir: Path, destination: Any, target: str) -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=f"smartmeter_raw_{target}",
        pipelines_dir=str(pipelines_dir),
        destination=destination,
        dataset_name=RAW_DATASET,
        progress="log" if os.environ.get("SMARTMETER_DLT_PROGRESS") else None,
    )


def declared_columns(layout: Layout) -> list[str]:
    """The raw columns a layout is known to have before any file arrives (so the staging
    models can be built on an empty warehouse)."""
    if layout.shape == "wide":
        return ["field_0001"]
    if layout.shape == "nem12":  # the 200 and 400 record fields the models name
        return [f"field_{i:03d}" for i in range(1, 11)]
    d = layout.declaration
    headers = [
        (d.get(role) or {}).get("column")
        for role in ("meter_id", "channel", "value", "unit", "interval_minutes", "source_quality")
        if isinstance(d.get(role), dict)
    ]
    headers.append(d["timestamp"].get("column"))
    headers.extend((d.get("registers") or {}).keys())
    names: list[str] = []
    for header in headers:
        if header and raw_column_name(header) not in names:
            names.append(raw_column_name(header))
    return names


def empty_table(columns: Iterable[str]) -> pa.Table:
    fields = [pa.field(c, pa.string()) for c in columns]
    fields += [pa.field(n, t) for n, t in LINEAGE_COLUMNS.items()]
    return pa.schema(fields).empty_table()


HEADERS_SCHEMA = HEADER_SCHEMA.append(pa.field("_source_file", pa.string())).append(
    pa.field("_file_sha256", pa.string())
)


def _layouts_table(layouts: tuple[Layout, ...]) -> pa.Table:
    rows = [layout.table_row() for layout in layouts]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))


def _resource(
    name: str,
    table: pa.Table,
    disposition: str = "append",
    file_format: str | None = None,
    empty_as: str | None = None,
) -> Any:
    def rows() -> Iterator[pa.Table]:
        yield table

    return dlt.resource(
        rows,
        name=name,
        table_name=name,
        write_disposition=disposition,
        schema_contract={"data_type": "freeze"},
        file_format=empty_as if empty_as and table.num_rows == 0 else file_format,
    )


def raw_resources(
    text_tables: list[TextTable], file_format: str | None = None, empty_as: str | None = None
) -> list[Any]:
    """dlt resources for a batch of files: one per raw table, plus file headers and the
    current layout declarations (replaced on every load). `file_format` is the loader file
    format of each table and `empty_as` that of tables with no rows in this batch (PostgreSQL's
    Parquet loader, ADBC's binary COPY, cannot take a file without rows; such a table only
    needs creating)."""
    layouts = load_layouts()
    by_table: dict[str, list[pa.Table]] = defaultdict(list)
    for layout in layouts:  # every declared table exists, even before its first file
        by_table[layout.raw_table].append(empty_table(declared_columns(layout)))
    for tt in text_tables:
        by_table[tt.layout.raw_table].append(tt.rows)
    headers = [HEADERS_SCHEMA.empty_table()] + [tt.headers for tt in text_tables]
    formats = {"file_format": file_format, "empty_as": empty_as}
    resources = [
        _resource(table, pa.concat_tables(parts, promote_options="permissive"), **formats)
        for table, parts in by_table.items()
    ]
    all_headers = pa.concat_tables(headers, promote_options="permissive")
    resources.append(_resource("file_headers", all_headers, **formats))
    resources.append(
        _resource("layouts", _layouts_table(layouts), disposition="replace", **formats)
    )
    return resources


def load(
    pipeline: dlt.Pipeline,
    text_tables: list[TextTable],
    loader_file_format: str,
    after_step: Callable[[str], None] = lambda step: None,
) -> str:
    """Load a batch of files; returns dlt's load id. dlt's three steps run one by one and
    `after_step` is called after each (the fault-injection tests crash the process there)."""
    if loader_file_format == "parquet" and _is_postgres(pipeline):
        # Each table says its format (a format given to extract would override them all).
        pipeline.extract(raw_resources(text_tables, loader_file_format, empty_as="csv"))
    else:
        pipeline.extract(raw_resources(text_tables), loader_file_format=loader_file_format)
    after_step("extract")
    pipeline.normalize()
    after_step("normalize")
    info = pipeline.load()
    info.raise_on_failed_jobs()
    if _is_postgres(pipeline):
        loaded = {tt.layout.raw_table for tt in text_tables if tt.data_rows}
        _index_and_analyze(pipeline, [*sorted(loaded), "file_headers"] if loaded else [])
    after_step("load")
    return info.loads_ids[-1]


def _index_and_analyze(pipeline: dlt.Pipeline, tables: list[str]) -> None:
    """PostgreSQL: index the raw tables on what incremental builds and reloads select by (the
    load id, the file), and refresh their statistics after a load (autovacuum would get there
    only later: the build that follows plans with them). The indexes are built by the first load
    that brings rows, after its COPY, and kept up by COPY afterwards. Each statement has its own
    connection: the builds and ANALYZE read the table at the same time (their locks do not
    conflict)."""
    statements = []
    with pipeline.sql_client() as client:
        for table in tables:
            qualified = client.make_qualified_table_name(table)
            for column, method in RAW_INDEXES.items():
                name = client.escape_column_name(f"{table}__{column.strip('_')}")
                using = method.format(client.escape_column_name(column))
                statements.append(f"create index if not exists {name} on {qualified} using {using}")
            statements.append(f"analyze {qualified}")

    def run(statement: str) -> None:
        with pipeline.sql_client() as client:
            client.execute_sql(statement)

    with ThreadPoolExecutor(max_workers=len(RAW_INDEXES) + 1) as pool:
        list(pool.map(run, statements))


def _is_postgres(pipeline: dlt.Pipeline) -> bool:
    return isinstance(pipeline.destination, dlt.destinations.postgres)


def declared_schemas() -> dict[str, pa.Schema]:
    """Each raw table's columns before any file arrives (text, and the lineage columns)."""
    schemas: dict[str, list[pa.Schema]] = defaultdict(list)
    for layout in load_layouts():
        schemas[layout.raw_table].append(empty_table(declared_columns(layout)).schema)
    merged = {table: pa.unify_schemas(parts) for table, parts in schemas.items()}
    merged["file_headers"] = HEADERS_SCHEMA
    return merged


def raw_tables() -> list[str]:
    return sorted({layout.raw_table for layout in load_layouts()} | {"file_headers"})
