"""The Spark target's files, and how the rest of smartmeter reads them.

On Spark the data lives in plain Parquet folders under <home>/spark/:

    lake/raw/<table>/<load id>.<file id>.parquet   raw text tables, written by dlt's filesystem
                                                  destination (every load adds files)
    warehouse/<schema>.db/<table>/                 the dbt models' tables (Spark's warehouse)
    metastore_db/                                  Spark's catalog (embedded Derby: one Spark
                                                  process at a time, which the home's lock keeps)
    lake/archive_staged/<build>/                   archive partitions a build staged, until the
                                                  export publishes them
    lake/raw_catalog/                              the raw tables' file signatures (Spark registers
                                                  a raw table again only when they change)
    control.duckdb                                 the operational tables (ops.*): small,
                                                  transactional, updated in place, which plain
                                                  Parquet tables cannot be

smartmeter itself never starts a JVM: dbt runs Spark. Everything else (ingest bookkeeping, status,
report, the export plan) reads the Parquet folders through DuckDB views in control.duckdb, named
as in Spark (raw.canonical, marts.fct_readings, ...) and refreshed when a folder changes.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from smartmeter.home import Home

LAKE_SCHEMAS = ("raw", "staging", "intermediate", "marts", "reporting")
# dbt-spark's and the project's scratch tables (replaced rows, kept rows) are not for readers.
SCRATCH_SUFFIXES = ("__dbt_tmp", "__dbt_new", "__dbt_kept")


def spark_dir(home: Home) -> Path:
    return home.root / "spark"


def lake_dir(home: Home) -> Path:
    """Where dlt writes the raw dataset (`raw/` below it)."""
    return spark_dir(home) / "lake"


def raw_dir(home: Home) -> Path:
    return Path(home.settings.spark_raw_url or lake_dir(home) / "raw")


def warehouse_dir(home: Home) -> Path:
    return spark_dir(home) / "warehouse"


def control_path(home: Home) -> Path:
    return spark_dir(home) / "control.duckdb"


def _table_folders(home: Home) -> dict[tuple[str, str], Path]:
    """(schema, table) -> folder, for every lake table that has Parquet files."""
    folders: dict[tuple[str, str], Path] = {}
    raw = raw_dir(home)
    if raw.is_dir():
        for folder in raw.iterdir():
            if folder.is_dir() and not folder.name.startswith(("_", ".")):
                folders[("raw", folder.name)] = folder
    for schema in LAKE_SCHEMAS[1:]:
        base = warehouse_dir(home) / f"{schema}.db"
        if base.is_dir():
            for folder in base.iterdir():
                if folder.is_dir() and not folder.name.endswith(SCRATCH_SUFFIXES):
                    folders[(schema, folder.name)] = folder
    return {key: folder for key, folder in folders.items() if _has_parquet(folder)}


def _has_parquet(folder: Path) -> bool:
    return any(_parquet_files(folder))


def _parquet_files(folder: Path):
    for path in folder.rglob("*.parquet"):
        if not any(part.startswith(("_", ".")) for part in path.relative_to(folder).parts):
            yield path


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def lake_signature(home: Home) -> tuple:
    """Changes whenever a lake table gains, loses or rewrites files (folder mtimes)."""
    signature = []
    for (schema, table), folder in sorted(_table_folders(home).items()):
        stamps = [folder.stat().st_mtime_ns]
        stamps += [p.stat().st_mtime_ns for p in folder.iterdir() if p.is_dir()]
        signature.append((schema, table, max(stamps)))
    return tuple(signature)


def refresh_views(con: duckdb.DuckDBPyConnection, home: Home) -> None:
    """(Re)create a view per lake table. Spark writes its timestamps as instants (Parquet's
    UTC-adjusted timestamps, which DuckDB reads as TIMESTAMPTZ); the views show them as the
    naive UTC timestamps the other stores have. A partitioned table's partition columns are in
    its folder names, not its files: they are read as text, and those named *_date or *_month
    as dates (the models partition by a date or a month's first day, and by load id)."""
    folders = _table_folders(home)
    for schema in LAKE_SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
        for (name,) in con.execute(
            "select view_name from duckdb_views() where schema_name = ? and not internal",
            [schema],
        ).fetchall():
            if (schema, name) not in folders:
                con.execute(f'drop view "{schema}"."{name}"')
    for (schema, table), folder in folders.items():
        pattern = _sql_text(str(folder / ("*.parquet" if schema == "raw" else "**/*.parquet")))
        source = (
            f"read_parquet('{pattern}', hive_partitioning = true, hive_types_autocast = false,"
            " union_by_name = true)"
        )
        columns = con.execute(f"describe select * from {source}").fetchall()
        partitioned_by = _partition_columns(folder)
        select = ", ".join(
            f'cast("{name}" as timestamp) as "{name}"'
            if kind.startswith("TIMESTAMP WITH TIME ZONE")
            else f'cast("{name}" as date) as "{name}"'
            if name in partitioned_by and name.endswith(("_date", "_month"))
            else f'"{name}"'
            for name, kind, *_ in columns
        )
        con.execute(f'create or replace view "{schema}"."{table}" as select {select} from {source}')


def _partition_columns(folder: Path) -> set[str]:
    """The partition columns of a table folder (the names of its `column=value` folders)."""
    columns: set[str] = set()
    while True:
        nested = next((p for p in folder.iterdir() if p.is_dir() and "=" in p.name), None)
        if nested is None:
            return columns
        columns.add(nested.name.split("=", 1)[0])
        folder = nested


def ensure_raw_tables(home: Home, schemas: dict[str, pa.Schema]) -> None:
    """Give every raw table at least one (empty) Parquet file with its declared columns, so
    Spark can register it before its first delivery (dlt writes no file for a table without
    rows)."""
    for table, schema in schemas.items():
        folder = raw_dir(home) / table
        if folder.is_dir() and _has_parquet(folder):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        _write_atomically(schema.empty_table(), folder / "0000000000.declared.parquet")
    write_raw_catalog(home)  # for dbt run by hand after an ingest


def raw_catalog_dir(home: Home) -> Path:
    """The raw tables' file signatures, which Spark's on-run-start compares with those it last
    registered (spark_lake.sql): registering a table (schema inference over its files, the
    metastore's writes) costs a fraction of a second, so only tables whose files changed are
    registered again."""
    return raw_dir(home).parent / "raw_catalog"


def write_raw_catalog(home: Home) -> None:
    """One row per raw table with files: its name and a digest of its files' names, sizes
    and modification times (any load, or rewrite, changes it)."""
    raw = raw_dir(home)
    names, signatures = [], []
    for folder in sorted(raw.iterdir()) if raw.is_dir() else []:
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        files = sorted(
            (str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns)
            for path in _parquet_files(folder)
            for stat in [path.stat()]
        )
        if files:
            names.append(folder.name)
            signatures.append(hashlib.sha256(repr(files).encode()).hexdigest())
    folder = raw_catalog_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {"raw_table": pa.array(names, pa.string()), "signature": pa.array(signatures, pa.string())}
    )
    _write_atomically(table, folder / "catalog.parquet")


def _write_atomically(table: pa.Table, path: Path) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    pq.write_table(table, partial)
    os.replace(partial, path)


def delete_raw_rows(home: Home, sha256s: list[str]) -> None:
    """Remove these files' rows from every raw table: each Parquet file holding any of them is
    rewritten without them, one atomic replace per file."""
    if not sha256s or not raw_dir(home).is_dir():
        return
    wanted = set(sha256s)
    for folder in raw_dir(home).iterdir():
        if not folder.is_dir() or folder.name.startswith(("_", ".")):
            continue
        for path in list(_parquet_files(folder)):
            table = pq.read_table(path)
            if "_file_sha256" not in table.column_names:
                continue
            column = table.column("_file_sha256").to_pylist()
            keep = [i for i, sha in enumerate(column) if sha not in wanted]
            if len(keep) == len(column):
                continue
            # rewritten even when empty: a table keeps a file, and so its columns, for Spark
            _write_atomically(table.take(keep), path)


def archive_staged_dir(home: Home) -> Path:
    """Where a Spark build stages the archive partitions it queued, one set per build
    (spark_parquet_archive.sql; published by the next export)."""
    return raw_dir(home).parent / "archive_staged"


def held_back_dir(home: Home) -> Path:
    """ops.held_back_files as Spark reads it (isolation.py's probe builds)."""
    return raw_dir(home).parent / "ops" / "held_back_files"


def lake_table_dir(home: Home, relation: str) -> Path:
    """The folder a lake table (schema.name, declared by the dbt project over
    <lake>/<schema>/<name>, as forecasts.learned_forecasts is) keeps its Parquet in."""
    schema, name = relation.split(".")
    return raw_dir(home).parent / schema / name


def replace_lake_table(home: Home, relation: str, table: pa.Table) -> None:
    folder = lake_table_dir(home, relation)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomically(table, folder / "rows.parquet")
    for stale in folder.glob("*.parquet"):
        if stale.name != "rows.parquet":
            stale.unlink()


def write_held_back(home: Home, sha256s: list[str]) -> None:
    folder = held_back_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"file_sha256": pa.array(sha256s, pa.string())})
    _write_atomically(table, folder / "held_back.parquet")
