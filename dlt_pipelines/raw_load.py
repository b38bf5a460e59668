"""The dlt side of raw landing: one pipeline per data home and target, loading Arrow tables of
text into the `raw` dataset (schema), one table per layout.

dlt gives us the schema bookkeeping, the load id and the destinations; exactly-once delivery is
kept by the caller (smartmeter.ingest), which deletes a file's rows before (re)loading it and
drops any load package a killed run left behind.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

from dlt_pipelines.espi_xml import COLUMNS as ESPI_COLUMNS
from dlt_pipelines.layouts import (
    Layout,
    file_field_column,
    load_layouts,
    pattern_groups,
    raw_column_name,
    stamp_columns,
)
from dlt_pipelines.text_tables import HEADER_SCHEMA, PREAMBLE_SCHEMA, ZONE_SCHEMA, TextTable

RAW_DATASET = "raw"
LINEAGE_COLUMNS = {
    "_source_file": pa.string(),
    "_source_line": pa.int64(),
    "_file_sha256": pa.string(),
}

# What incremental builds and reloads select raw rows by, and how PostgreSQL indexes it. The raw
# tables only grow by appends (a file's rows together, load ids rising), the case BRIN is made
# for: a summary per block range, built in one pass over the table with no sort; min/max for the
# load id (ranges: `> watermark`), a bloom filter for the file (equality: reloads, isolation,
# joins on the file). One index holds both columns, so building it reads the table once.
RAW_INDEX = "brin (_dlt_load_id, _file_sha256 text_bloom_ops)"
RAW_INDEX_SUFFIX = "__load_and_file"
RAW_STATISTICS_TARGET = 10
# The indexes of earlier versions (one per column, btree and then BRIN), dropped when seen.
RETIRED_RAW_INDEXES = ("__dlt_load_id", "__file_sha256")

# Below this many rows a load is one COPY: a connection and a file cost more than they save.
MIN_ROWS_PER_COPY = 200_000

# Arrow tables get dlt's load id as a column, like every other dlt load.
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# A loaded package's files are a second copy of the raw rows: keep only its record.
os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")


def make_pipeline(
    pipelines_dir: Path, destination: Any, target: str, progress: bool = False
) -> dlt.Pipeline:
    """`progress`: dlt logs its own progress through the steps."""
    return dlt.pipeline(
        pipeline_name=f"smartmeter_raw_{target}",
        pipelines_dir=str(pipelines_dir),
        destination=destination,
        dataset_name=RAW_DATASET,
        progress="log" if progress else None,
    )


def declared_columns(layout: Layout) -> list[str]:
    """The raw columns a layout is known to have before any file arrives (so the staging
    models can be built on an empty warehouse)."""
    if layout.shape == "wide":
        return ["field_0001"]
    if layout.shape == "nem12":  # the 200 and 400 record fields the models name
        return [f"field_{i:03d}" for i in range(1, 11)]
    if layout.shape == "espi":
        return list(ESPI_COLUMNS)
    d = layout.declaration
    headers = [
        (d.get(role) or {}).get("column")
        for role in ("meter_id", "channel", "value", "unit", "interval_minutes", "source_quality")
        if isinstance(d.get(role), dict)
    ]
    headers.extend((d.get("registers") or {}).keys())
    headers.append((d.get("select") or {}).get("column"))
    headers.extend(pattern_groups((d.get("blocks") or {}).get("title")))
    names: list[str] = []
    for header in headers:
        if header and raw_column_name(header) not in names:
            names.append(raw_column_name(header))
    for column in stamp_columns(d["timestamp"]) + stamp_columns(d["timestamp"].get("end") or {}):
        if column not in names:
            names.append(column)
    for field_name in d.get("file_fields") or {}:
        names += [file_field_column(field_name), f"{file_field_column(field_name)}_from"]
    return names


def empty_table(columns: Iterable[str]) -> pa.Table:
    fields = [pa.field(c, pa.string()) for c in columns]
    fields += [pa.field(n, t) for n, t in LINEAGE_COLUMNS.items()]
    return pa.schema(fields).empty_table()


HEADERS_SCHEMA = HEADER_SCHEMA.append(pa.field("_source_file", pa.string())).append(
    pa.field("_file_sha256", pa.string())
)
PREAMBLES_SCHEMA = PREAMBLE_SCHEMA.append(pa.field("_source_file", pa.string())).append(
    pa.field("_file_sha256", pa.string())
)
PREAMBLE_TABLE = "file_preamble"
ZONES_SCHEMA = ZONE_SCHEMA.append(pa.field("_source_file", pa.string())).append(
    pa.field("_file_sha256", pa.string())
)
ZONE_TABLE = "file_zones"


def _layouts_table(layouts: tuple[Layout, ...]) -> pa.Table:
    rows = [layout.table_row() for layout in layouts]
    return pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))


def _resource(
    name: str,
    table: pa.Table,
    disposition: str = "append",
    file_format: str | None = None,
    empty_as: str | None = None,
    rows_per_file: int | None = None,
) -> Any:
    def rows() -> Iterator[pa.Table]:
        if not rows_per_file or table.num_rows <= rows_per_file:
            yield table
            return
        for start in range(0, table.num_rows, rows_per_file):
            yield table.slice(start, rows_per_file)

    return dlt.resource(
        rows,
        name=name,
        table_name=name,
        write_disposition=disposition,
        schema_contract={"data_type": "freeze"},
        file_format=empty_as if empty_as and table.num_rows == 0 else file_format,
    )


def raw_resources(
    text_tables: list[TextTable],
    file_format: str | None = None,
    empty_as: str | None = None,
    rows_per_file: int | None = None,
    declared: Callable[[str, pa.Table], bool] = lambda name, table: False,
) -> list[Any]:
    """dlt resources for a batch of files: one per raw table, plus file headers and the
    current layout declarations (replaced on every load). `file_format` is the loader file
    format of each table and `empty_as` that of tables with no rows in this batch (PostgreSQL's
    Parquet loader, ADBC's binary COPY, cannot take a file without rows; such a table only
    needs creating). `rows_per_file` cuts a bigger table into pieces of that many rows (dlt
    writes each to its own file when its `file_max_items` is the same number). A table for
    which `declared(name, rows)` holds is left out (the destination has it already)."""
    layouts = load_layouts()
    by_table: dict[str, list[pa.Table]] = defaultdict(list)
    for layout in layouts:  # every declared table exists, even before its first file
        by_table[layout.raw_table].append(empty_table(declared_columns(layout)))
    for tt in text_tables:
        by_table[tt.layout.raw_table].append(tt.rows)
    headers = [HEADERS_SCHEMA.empty_table()] + [tt.headers for tt in text_tables]
    formats = {"file_format": file_format, "empty_as": empty_as, "rows_per_file": rows_per_file}
    by_table["file_headers"] = headers
    by_table[PREAMBLE_TABLE] = [PREAMBLES_SCHEMA.empty_table()] + [
        tt.preamble for tt in text_tables if tt.preamble.num_rows
    ]
    by_table[ZONE_TABLE] = [ZONES_SCHEMA.empty_table()] + [
        tt.zone for tt in text_tables if tt.zone.num_rows
    ]
    resources = []
    for name, parts in by_table.items():
        rows = pa.concat_tables(parts, promote_options="permissive")
        if not declared(name, rows):
            resources.append(_resource(name, rows, **formats))
    resources.append(
        _resource("layouts", _layouts_table(layouts), disposition="replace", **formats)
    )
    return resources


def declared_in(pipeline: dlt.Pipeline, existing: Mapping[str, Collection[str]]):
    """`raw_resources`' test for a table with no rows in a batch: the destination has it
    (`existing`: the raw tables and their columns) with all of its columns, so loading it
    would create nothing, and on Spark's lake add an empty file to every raw table at every
    load (which each scan, and each registration of the table, then reads)."""
    if not existing or pipeline.default_schema_name is None:
        return lambda name, table: False
    normalize = pipeline.default_schema.naming.normalize_identifier

    def declared(name: str, table: pa.Table) -> bool:
        columns = existing.get(name)
        return (
            table.num_rows == 0
            and columns is not None
            and all(normalize(column) in columns for column in table.column_names)
        )

    return declared


def load(
    pipeline: dlt.Pipeline,
    text_tables: list[TextTable],
    loader_file_format: str,
    after_step: Callable[[str], None] = lambda step: None,
    existing: Mapping[str, Collection[str]] | None = None,
    copy_streams: int = 1,
) -> str:
    """Load a batch of files; returns dlt's load id. dlt's three steps run one by one and
    `after_step` is called after each (the fault-injection tests crash the process there).
    `existing` (the destination's raw tables and their columns) spares the tables without rows
    in this batch that it already has. `copy_streams`: how many COPYs a PostgreSQL load runs
    at once (rows_per_copy)."""
    declared = declared_in(pipeline, existing or {})
    if loader_file_format == "parquet" and _is_postgres(pipeline):
        # Each table says its format (a format given to extract would override them all).
        per_file = rows_per_copy(text_tables, copy_streams)
        resources = raw_resources(text_tables, loader_file_format, "csv", per_file, declared)
        with _environment(DATA_WRITER__FILE_MAX_ITEMS=str(per_file)):
            pipeline.extract(resources)
    else:
        resources = raw_resources(text_tables, declared=declared)
        pipeline.extract(resources, loader_file_format=loader_file_format)
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


def rows_per_copy(text_tables: list[TextTable], streams: int) -> int:
    """PostgreSQL: how many rows go into one load file, so a big batch is loaded by about
    `streams` COPYs at the same time (Settings.copy_streams: one per core by default). Each
    COPY has its own backend and dlt's loader runs the files in parallel (its `load.workers`),
    so the server's work and the client's Arrow to binary conversion overlap; one COPY leaves a
    core idle (M on two cores: 5.3 s, two 4.4 s). Small loads stay one file."""
    by_table: dict[str, int] = defaultdict(int)
    for tt in text_tables:
        by_table[tt.layout.raw_table] += tt.rows.num_rows
    biggest = max(by_table.values(), default=0)
    return max(MIN_ROWS_PER_COPY, -(-biggest // streams))


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """dlt reads its settings from the environment; set some for one step only."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _index_and_analyze(pipeline: dlt.Pipeline, tables: list[str]) -> None:
    """PostgreSQL: index the raw tables on what incremental builds and reloads select by (the
    load id, the file), and refresh their statistics after a load (autovacuum would get there
    only later: the build that follows plans with them). The first load that brings rows builds
    the index after its COPY; later loads summarize the block ranges their COPY added (BRIN
    leaves new ranges unsummarized, and a scan then reads them all). ANALYZE samples 3,000 rows
    (statistics target 10, against 30,000): the builds need the row count and the spread of load
    ids and files, not histograms of raw text, and a full sample reads most of a big table's
    pages again. Index builds and ANALYZE lock each other out, so one connection runs them."""
    with pipeline.sql_client() as client:
        # this session only: autovacuum's later ANALYZE uses the server's setting
        client.execute_sql(f"set default_statistics_target = {RAW_STATISTICS_TARGET}")
        schema = client.fully_qualified_dataset_name()
        for table in tables:
            qualified = client.make_qualified_table_name(table)
            index = client.escape_column_name(f"{table}{RAW_INDEX_SUFFIX}")
            in_schema = f"{schema}.{index}"
            for older in RETIRED_RAW_INDEXES:  # a warehouse loaded before: COPY kept them up
                retired = client.escape_column_name(f"{table}{older}")
                client.execute_sql(f"drop index if exists {schema}.{retired}")
            create = f"create index if not exists {index} on {qualified} using {RAW_INDEX}"
            client.execute_sql(create)
            client.execute_sql(f"select brin_summarize_new_values('{in_schema}'::regclass)")
            client.execute_sql(f"analyze {qualified}")


def _is_postgres(pipeline: dlt.Pipeline) -> bool:
    return isinstance(pipeline.destination, dlt.destinations.postgres)


def declared_schemas() -> dict[str, pa.Schema]:
    """Each raw table's columns before any file arrives (text, and the lineage columns)."""
    schemas: dict[str, list[pa.Schema]] = defaultdict(list)
    for layout in load_layouts():
        schemas[layout.raw_table].append(empty_table(declared_columns(layout)).schema)
    merged = {table: pa.unify_schemas(parts) for table, parts in schemas.items()}
    merged["file_headers"] = HEADERS_SCHEMA
    merged[PREAMBLE_TABLE] = PREAMBLES_SCHEMA
    merged[ZONE_TABLE] = ZONES_SCHEMA
    return merged


def raw_tables() -> list[str]:
    return sorted(
        {layout.raw_table for layout in load_layouts()}
        | {"file_headers", PREAMBLE_TABLE, ZONE_TABLE}
    )
