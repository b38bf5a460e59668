"""Writing the Parquet archive's partitions, shared by the targets (the flow that publishes
them is smartmeter/export.py).

Layout, by the partition scheme (dbt var parquet_partition_scheme):

    date/meter_id   reading_date=YYYY-MM-DD/meter_id=<id>/data_0.parquet   (default)
    date            reading_date=YYYY-MM-DD/data_0.parquet, rows sorted by meter_id
    month/meter_id  reading_month=YYYY-MM/meter_id=<id>/data_0.parquet

reading_date is the UTC date of reading_start_at. Partition values are URL-encoded by DuckDB,
so a meter id with `/`, `..`, spaces or quotes stays one folder inside the archive; partition
columns are also stored in the files (meter ids like `0012` stay text in every reader).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import duckdb

from smartmeter.dbt_runner import project_var
from smartmeter.faults import crash_point
from smartmeter.home import Home

SCHEMES = ("date/meter_id", "date", "month/meter_id")


def archive_columns(home: Home) -> tuple[str, ...]:
    """The archive's columns, in order: the home's dbt project's var, which the Spark build's
    staging reads too."""
    return tuple(project_var(home, "parquet_archive_columns"))


UTC_COLUMNS = ("reading_start_at", "reading_end_at")


class ExportError(Exception):
    """The archive could not be written (disk, permissions, or the warehouse)."""


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


def _columns_sql(columns: Sequence[str]) -> str:
    return ", ".join(f"timezone('UTC', {c}) as {c}" if c in UTC_COLUMNS else c for c in columns)


class ArchiveWriter(Protocol):
    """What writes the archive's partitions into a staging folder, for `export_archive`."""

    staging_label: str
    rows: int
    # Set by `recover` when it dropped a staged set whose dates left the queue (a set staged in
    # another partition scheme): the export then rewrites the whole archive.
    must_rewrite: bool

    def recover(self, staging: Path, scheme: str) -> Iterator[tuple[str, Path]]:
        """Partitions staged completely but not yet published (before a crash, or by a build),
        in `scheme`, still to publish."""
        ...

    def write(self, scheme: str, rewrite_all: bool, staging: Path) -> Iterator[tuple[str, Path]]:
        """Stage the partitions to write (every one when `rewrite_all`, but those `recover`
        published whose dates are not queued again), yielding each (name, folder) once staged;
        the caller publishes it before the generator goes on."""
        ...

    def present_partitions(self, scheme: str) -> set[str]:
        """The partitions that have readings now (the others are pruned)."""
        ...


class DuckDBWriter:
    """Writes each partition with DuckDB's COPY from the readings (local or attached)."""

    staging_label = "staging"
    must_rewrite = False

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        columns: Sequence[str],
        source: str = "marts.fct_readings",
        queue: str = "intermediate.parquet_export_queue",
        remote: RemoteTable | None = None,
    ):
        self.con, self.columns, self.source, self.queue = con, columns, source, queue
        self.remote = remote
        self.rows = 0

    def recover(self, staging: Path, scheme: str) -> Iterator[tuple[str, Path]]:
        return iter(())  # a partition is staged and published in one go: nothing to finish

    def write(self, scheme: str, rewrite_all: bool, staging: Path) -> Iterator[tuple[str, Path]]:
        queue = f"(select distinct reading_date from {self.source})" if rewrite_all else self.queue
        units, partition_days = plan_partitions(self.con, scheme, self.source, queue, self.remote)
        rows_source = _rows_to_copy(
            self.con, self.source, partition_days, self.remote, self.columns
        )
        staging.mkdir(parents=True, exist_ok=True)
        for name in sorted(units):
            staged = staging / name
            try:
                self.rows += self._copy(rows_source, scheme, partition_days[name], staged)
            except (OSError, duckdb.IOException) as exc:
                shutil.rmtree(staged, ignore_errors=True)
                raise ExportError(f"could not write partition {name}: {exc}") from exc
            yield name, staged
            self.con.execute(
                f"delete from {self.queue} where reading_date in ({_date_list(units[name])})"
            )
            crash_point("export:after_partition")

    def _copy(self, source: str, scheme: str, days: list[date], target: Path) -> int:
        select = (
            f"select {_columns_sql(self.columns)} from {source} "
            f"where reading_date in ({_date_list(days)}) "
            "order by meter_id, channel, reading_start_at"
        )
        if scheme == "date":
            target.mkdir(parents=True)
            options = "format parquet"
            destination = target / "data_0.parquet"
        else:
            options = "format parquet, partition_by (meter_id), write_partition_columns true"
            destination = target
        # snappy (DuckDB's default): zstd files are a third smaller but take 2.5x as long.
        copy = f"copy ({select}) to '{sql_path(destination)}' ({options})"
        rows = self.con.execute(copy).fetchone()[0]
        if rows == 0:
            shutil.rmtree(target, ignore_errors=True)
        return rows

    def present_partitions(self, scheme: str) -> set[str]:
        return present_partitions(self.con, scheme, self.source, self.remote)


def sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def plan_partitions(
    con: duckdb.DuckDBPyConnection,
    scheme: str,
    source: str,
    queue: str,
    remote: RemoteTable | None,
) -> tuple[dict[str, list[date]], dict[str, list[date]]]:
    """What the queue asks for: per partition, the queued dates and every date it holds."""
    queued = [
        row[0] for row in con.execute(f"select distinct reading_date from {queue}").fetchall()
    ]
    units: dict[str, list[date]] = defaultdict(list)
    for day in queued:
        units[partition_dir(scheme, day)].append(day)
    partition_days = {
        name: _partition_days(con, source, scheme, days, remote) for name, days in units.items()
    }
    return units, partition_days


def _rows_to_copy(
    con: duckdb.DuckDBPyConnection,
    source: str,
    partition_days: dict[str, list[date]],
    remote: RemoteTable | None,
    columns: Sequence[str],
) -> str:
    """The relation the partitions are copied from: a remote source's queued days fetched
    once into a temporary table, or the source itself."""
    if not (remote and partition_days):
        return source
    every_day = sorted({d for days in partition_days.values() for d in days})
    wanted = f"reading_date in ({_date_list(every_day)})"
    rows = remote.query(f"select {', '.join(columns)} from {remote.table} where {wanted}")
    con.execute(f"create or replace temp table export_rows as {rows}")
    return "export_rows"


def present_partitions(
    con: duckdb.DuckDBPyConnection, scheme: str, source: str, remote: RemoteTable | None
) -> set[str]:
    """The partitions that have readings now (the others are pruned)."""
    dates = remote.present_dates() if remote else f"select distinct reading_date from {source}"
    return {partition_dir(scheme, row[0]) for row in con.execute(dates).fetchall()}
