"""The Parquet archive of validated readings (fct_readings), written by DuckDB.

Layout under <home>/parquet/readings/, by the partition scheme (dbt var parquet_partition_scheme):

    date/meter_id   reading_date=YYYY-MM-DD/meter_id=<id>/data_0.parquet   (default)
    date            reading_date=YYYY-MM-DD/data_0.parquet, rows sorted by meter_id
    month/meter_id  reading_month=YYYY-MM/meter_id=<id>/data_0.parquet

reading_date is the UTC date of reading_start_at. Partition values are URL-encoded by DuckDB,
so a meter id with `/`, `..`, spaces or quotes stays one folder inside the archive; partition
columns are also stored in the files (meter ids like `0012` stay text in every reader).

What to write comes from intermediate.parquet_export_queue (dates queued by fct_readings). Each
touched partition (a date, or a month) is written to a staging folder, then swapped into place,
and its dates leave the queue only after that. A partition whose dates no longer have readings
is removed. A crash leaves the queue intact: the next export writes the same partitions again.

The same function serves both stores: on DuckDB it runs on the warehouse connection (the dbt
Python model parquet_archive_exports, or `smartmeter export`); on PostgreSQL DuckDB attaches the
warehouse through the postgres scanner and reads the marts from there.
"""

from __future__ import annotations

import shutil
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb

from smartmeter import object_store
from smartmeter.dbt_runner import project_var
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.warehouse import PostgresSettings, WarehouseUnavailable, connect_duckdb

SCHEMES = ("date/meter_id", "date", "month/meter_id")
EXPORTED_COLUMNS = (
    "meter_id",
    "channel",
    "reading_start_at",
    "reading_end_at",
    "interval_minutes",
    "kw",
    "kwh",
    "quality_flag",
    "is_estimated",
    "estimation_method",
    "is_outlier",
    "outlier_reason",
    "source_quality_flag",
    "source_file",
    "source_line",
    "file_sha256",
    "load_id",
    "reading_date",
)
UTC_COLUMNS = ("reading_start_at", "reading_end_at")
# Names the scheme an archive (folder or bucket) is written in; a new scheme rewrites it all.
SCHEME_MARKER = "_partition_scheme"


class ExportError(Exception):
    """The archive could not be written (disk, permissions, or the warehouse)."""


@dataclass
class ExportReport:
    partitions: list[str] = field(default_factory=list)
    rows: int = 0
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def partition_dir(scheme: str, day: date) -> str:
    if scheme == "month/meter_id":
        return f"reading_month={day:%Y-%m}"
    return f"reading_date={day:%Y-%m-%d}"


@dataclass(frozen=True)
class RemoteTable:
    """fct_readings in an attached PostgreSQL database. DuckDB's postgres scanner does not pass
    a date filter on to PostgreSQL (it would copy the whole table over and filter it here), so
    the queries that select days are sent to PostgreSQL as they are (postgres_query), where the
    index on reading_date answers them."""

    database: str
    table: str

    def query(self, sql: str) -> str:
        quoted = sql.replace("'", "''")
        return f"select * from postgres_query('{self.database}', '{quoted}')"

    def present_dates(self) -> str:
        # A loose index scan: one index probe per distinct date, not a pass over every reading.
        return self.query(
            "with recursive days as ("
            f"(select reading_date from {self.table} order by reading_date limit 1) "
            f"union all select (select f.reading_date from {self.table} as f "
            "where f.reading_date > days.reading_date order by f.reading_date limit 1) "
            "from days where days.reading_date is not null) "
            "select reading_date from days where reading_date is not null"
        )


def _partition_days(
    con: duckdb.DuckDBPyConnection,
    source: str,
    scheme: str,
    days: list[date],
    remote: RemoteTable | None = None,
) -> list[date]:
    """The dates a partition holds: the queued date, or every date of a month partition."""
    if scheme != "month/meter_id":
        return days
    first = days[0].replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    where = f"reading_date >= date '{first}' and reading_date < date '{following}'"
    if remote:
        sql = remote.query(f"select distinct reading_date from {remote.table} where {where}")
    else:
        sql = f"select distinct reading_date from {source} where {where}"
    in_month = con.execute(sql).fetchall()
    return sorted({row[0] for row in in_month} | set(days))


def _date_list(days: list[date]) -> str:
    return ", ".join(f"date '{d.isoformat()}'" for d in days)


def _columns_sql() -> str:
    return ", ".join(
        f"timezone('UTC', {c}) as {c}" if c in UTC_COLUMNS else c for c in EXPORTED_COLUMNS
    )


def _copy_partition(
    con: duckdb.DuckDBPyConnection,
    source: str,
    scheme: str,
    days: list[date],
    target: Path,
) -> int:
    select = (
        f"select {_columns_sql()} from {source} where reading_date in ({_date_list(days)}) "
        "order by meter_id, channel, reading_start_at"
    )
    if scheme == "date":
        target.mkdir(parents=True)
        options = "format parquet"
        destination = target / "data_0.parquet"
    else:
        options = "format parquet, partition_by (meter_id), write_partition_columns true"
        destination = target
    # snappy (DuckDB's default): zstd files are a third smaller but take 2.5x as long to write.
    rows = con.execute(f"copy ({select}) to '{_sql_path(destination)}' ({options})").fetchone()[0]
    if rows == 0:
        shutil.rmtree(target, ignore_errors=True)
    return rows


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _swap_into_place(staging: Path, final: Path, has_rows: bool) -> Path | None:
    """Put the new partition in place; return the replaced one (now hidden) for deletion."""
    old = final.with_name(f".old-{final.name}")  # leftovers were cleared when the export began
    if final.exists():
        final.rename(old)
    if has_rows:
        staging.rename(final)
    return old if old.exists() else None


def export_queued(
    con: duckdb.DuckDBPyConnection,
    parquet_root: Path,
    scheme: str,
    source: str = "marts.fct_readings",
    queue: str = "intermediate.parquet_export_queue",
    remote: RemoteTable | None = None,
) -> ExportReport:
    """Write every queued partition and prune partitions whose dates have no readings left.

    remote: the source lives in PostgreSQL; the queued days' rows are copied into DuckDB first,
    in one query that PostgreSQL filters (one query per partition would read it each time)."""
    location = object_store.parquet_location_or(Path(parquet_root))
    if isinstance(location, object_store.S3Location):
        from smartmeter.bucket_export import export_queued_to_bucket

        return export_queued_to_bucket(con, location, scheme, source, queue, remote)
    parquet_root = location
    if scheme not in SCHEMES:
        raise ExportError(f"unknown partition scheme {scheme!r}; choose one of {SCHEMES}")
    started = time.perf_counter()
    root = parquet_root / "readings"
    root.mkdir(parents=True, exist_ok=True)
    for leftover in [*root.glob(".staging-*"), *root.glob(".old-*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    _follow_scheme(con, root, scheme, source, queue)
    units, partition_days, rows_source = plan_partitions(con, scheme, source, queue, remote)
    report = ExportReport()
    # Replaced partitions (a folder of files per meter) are deleted on a second thread while
    # DuckDB writes the next partition: unlinking thousands of files is mostly system time.
    with ThreadPoolExecutor(max_workers=1) as deleter:
        for name in sorted(units):
            days = partition_days[name]
            staging = root / f".staging-{name}"
            try:
                rows = _copy_partition(con, rows_source, scheme, days, staging)
                replaced = _swap_into_place(staging, root / name, has_rows=rows > 0)
            except (OSError, duckdb.IOException) as exc:
                shutil.rmtree(staging, ignore_errors=True)
                raise ExportError(f"could not write partition {name}: {exc}") from exc
            if replaced:
                deleter.submit(shutil.rmtree, replaced, ignore_errors=True)
            con.execute(f"delete from {queue} where reading_date in ({_date_list(units[name])})")
            crash_point("export:after_partition")
            report.partitions.append(name)
            report.rows += rows
    report.removed = _prune(con, root, scheme, source, remote)
    report.seconds = time.perf_counter() - started
    return report


def _follow_scheme(
    con: duckdb.DuckDBPyConnection, root: Path, scheme: str, source: str, queue: str
) -> None:
    """A new partition scheme rewrites the whole archive: clear it and queue every date."""
    if scheme_matches(root, scheme):
        return
    if clear_archive(root):
        con.execute(
            f"insert into {queue} (reading_date, queued_at) "
            f"select distinct reading_date, current_timestamp from {source}"
        )
    mark_scheme(root, scheme)


def scheme_matches(root: Path, scheme: str) -> bool:
    marker = root / SCHEME_MARKER
    return marker.exists() and marker.read_text().strip() == scheme


def clear_archive(root: Path) -> bool:
    """Delete every partition folder (hidden staging folders stay); whether the archive held
    anything (the scheme marker counts)."""
    held = [p for p in root.iterdir() if not p.name.startswith(".")]
    for folder in held:
        if folder.is_dir():
            shutil.rmtree(folder)
    return bool(held)


def mark_scheme(root: Path, scheme: str) -> None:
    (root / SCHEME_MARKER).write_text(scheme + "\n")


def plan_partitions(
    con: duckdb.DuckDBPyConnection,
    scheme: str,
    source: str,
    queue: str,
    remote: RemoteTable | None,
) -> tuple[dict[str, list[date]], dict[str, list[date]], str]:
    """What the queue asks for: per partition, the queued dates and every date it holds; and
    the relation to copy the rows from."""
    queued = [
        row[0] for row in con.execute(f"select distinct reading_date from {queue}").fetchall()
    ]
    units: dict[str, list[date]] = defaultdict(list)
    for day in queued:
        units[partition_dir(scheme, day)].append(day)
    partition_days = {
        name: _partition_days(con, source, scheme, days, remote) for name, days in units.items()
    }
    return units, partition_days, _rows_to_copy(con, source, partition_days, remote)


def _rows_to_copy(
    con: duckdb.DuckDBPyConnection,
    source: str,
    partition_days: dict[str, list[date]],
    remote: RemoteTable | None,
) -> str:
    """The relation the partitions are copied from: a remote source's queued days fetched
    once into a temporary table, or the source itself."""
    if not (remote and partition_days):
        return source
    every_day = sorted({d for days in partition_days.values() for d in days})
    columns = ", ".join(EXPORTED_COLUMNS)
    wanted = f"reading_date in ({_date_list(every_day)})"
    rows = remote.query(f"select {columns} from {remote.table} where {wanted}")
    con.execute(f"create or replace temp table export_rows as {rows}")
    return "export_rows"


def present_partitions(
    con: duckdb.DuckDBPyConnection, scheme: str, source: str, remote: RemoteTable | None
) -> set[str]:
    """The partitions that have readings now (the others are pruned)."""
    dates = remote.present_dates() if remote else f"select distinct reading_date from {source}"
    return {partition_dir(scheme, row[0]) for row in con.execute(dates).fetchall()}


def _prune(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    scheme: str,
    source: str,
    remote: RemoteTable | None = None,
) -> list[str]:
    present = present_partitions(con, scheme, source, remote)
    removed = []
    prefix = "reading_month=" if scheme == "month/meter_id" else "reading_date="
    for folder in root.iterdir():
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        if folder.name.startswith(prefix) and folder.name in present:
            continue
        shutil.rmtree(folder)
        removed.append(folder.name)
    return removed


def _postgres_scanner(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB's postgres scanner from its PyPI wheel (no extension downloads offline)."""
    import duckdb_extension_postgres_scanner as wheel

    extension = next(Path(wheel.__file__).parent.glob("extensions/*/postgres_scanner.*"))
    con.execute(f"load '{_sql_path(extension)}'")


def export_warehouse(home: Home, target: str, scheme: str | None = None) -> ExportReport:
    """Export the queued partitions of a data home's warehouse (any store)."""
    scheme = scheme or str(project_var("parquet_partition_scheme"))
    if target == "spark":
        from smartmeter.spark_export import export_spark

        return export_spark(home, scheme)
    if target == "duckdb":
        con = connect_duckdb(str(home.warehouse))
        try:
            return export_queued(con, home.parquet, scheme)
        finally:
            con.close()
    settings = PostgresSettings.from_env()
    con = connect_duckdb()
    try:
        _postgres_scanner(con)
        dsn = (
            f"host={settings.host} port={settings.port} user={settings.user} "
            f"dbname={settings.dbname}"
        )
        try:
            con.execute(f"attach '{dsn}' as warehouse (type postgres)")
        except duckdb.Error as exc:
            raise WarehouseUnavailable(f"cannot attach PostgreSQL for the export: {exc}") from exc
        return export_queued(
            con,
            home.parquet,
            scheme,
            source="warehouse.marts.fct_readings",
            queue="warehouse.intermediate.parquet_export_queue",
            remote=RemoteTable("warehouse", "marts.fct_readings"),
        )
    finally:
        con.close()
