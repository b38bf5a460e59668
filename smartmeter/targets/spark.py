"""Apache Spark: dbt-spark runs the models; smartmeter itself never starts a JVM. The raw
tables are Parquet files dlt writes into the lake; the operational tables live in a DuckDB file
beside it, which also holds views over the lake's tables (smartmeter/spark_lake.py).

The Parquet archive has the same layout, columns, file names and partition schemes as
DuckDB's, written by Spark.

A successful `dbt build` that wrote fct_readings stages the partitions it queued before its
Spark session ends (on-run-end, spark_parquet_archive.sql): a set of folders under
spark_lake.archive_staged_dir, each partition one Parquet file per meter, marked written (the
mark names the scheme) before their dates leave the export queue. The export that follows moves
each set whole into the archive store's local staging folder and publishes its partitions (by a
rename in a folder, file by file in a bucket: smartmeter/storage), so no second Spark session
starts. Whatever is still queued (a build that failed its tests, a new scheme), smartmeter plans
from the lake (the DuckDB views of spark_lake.py) and one `dbt run-operation` stages the same
way. Spark itself never talks to a bucket (its S3 connector is a jar that is not bundled). A set
that Spark finished but that was not published yet, after a crash, is published by the next
export; an unfinished one is discarded (the queue still holds its dates).
"""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import pyarrow.parquet as pq

from smartmeter import spark_lake
from smartmeter.dbt_runner import run_dbt
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.targets.archive import (
    SCHEMES,
    ExportError,
    archive_columns,
    partition_dir,
    plan_partitions,
    present_partitions,
)
from smartmeter.targets.base import Target, Warehouse
from smartmeter.targets.duckdb import DuckDBWarehouse, open_file

SOURCE = "marts.fct_readings"
QUEUE = "intermediate.parquet_export_queue"
# Made by Spark when every staged partition is written (spark_parquet_archive.sql).
WRITTEN = "_written"
# Spark's partition folders, and the archive's names for them.
FOLDER_NAMES = {"p_date": "reading_date", "p_month": "reading_month", "p_meter": "meter_id"}


class SparkWarehouse(DuckDBWarehouse):
    """The control file, whose views over the lake are refreshed when the lake's files change
    (a load, a build)."""

    _lake_signature: tuple | None = None

    def _fetch(self, sql, params):
        self.refresh_lake()
        return super()._fetch(sql, params)

    def replace_rows(self, relation: str, table: Any) -> None:
        # Spark's table reads a folder of the lake: one Parquet file swapped in.
        spark_lake.replace_lake_table(self.home, relation, table)
        self.refresh_lake()

    def refresh_lake(self) -> None:
        signature = spark_lake.lake_signature(self.home)
        if signature != self._lake_signature:
            spark_lake.refresh_views(self.connection, self.home)
            self._lake_signature = signature


class SparkTarget(Target):
    name = "spark"

    def connect(self, home: Home) -> Warehouse:
        path = self.duckdb_file(home)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SparkWarehouse(self.name, open_file(home, path), home)

    def duckdb_file(self, home: Home) -> Path:
        # The control database: views of the lake's tables (spark_lake.py).
        return spark_lake.control_path(home)

    def dlt_destination(self, home: Home, warehouse: Warehouse) -> object:
        # Parquet files in the lake, which Spark registers as the raw tables (spark_lake.py).
        return dlt.destinations.filesystem(bucket_url=spark_lake.lake_dir(home).as_uri())

    def delete_raw_rows(self, warehouse: Warehouse, sha256s: list[str], tables: list[str]) -> None:
        spark_lake.delete_raw_rows(warehouse.home, sha256s)

    def after_raw_load(self, home: Home, schemas: dict) -> None:
        spark_lake.ensure_raw_tables(home, schemas)

    def before_dbt(self, home: Home) -> None:
        # Spark's on-run-start registers again the raw tables whose files changed since.
        spark_lake.write_raw_catalog(home)

    def hold_back(self, warehouse: Warehouse, sha256s: list[str]) -> None:
        spark_lake.write_held_back(warehouse.home, sha256s)  # Spark reads its copy from the lake

    @contextmanager
    def archive_writer(self, home: Home) -> Iterator[SparkWriter]:
        with self.connected(home) as warehouse:
            yield SparkWriter(home, warehouse)


SPARK = SparkTarget()


class SparkWriter:
    """export.ArchiveWriter for Spark. A successful build stages what it queued in its own Spark
    session (spark_parquet_archive.sql, under spark_lake.archive_staged_dir), so an export after
    a build usually only publishes; what is still queued, one Spark job stages."""

    staging_label = "spark-staging"

    def __init__(self, home: Home, warehouse: Warehouse):
        self.home, self.warehouse = home, warehouse
        self.con = warehouse.connection
        self.rows = 0
        self.must_rewrite = False
        self.recovered: set[str] = set()

    def recover(self, staging: Path, scheme: str) -> Iterator[tuple[str, Path]]:
        """The set an export staged before a crash, then the sets builds staged, oldest first,
        each moved whole into `staging` before it is published. An unfinished set (no mark) is
        dropped: its dates are still queued."""
        if (staging / WRITTEN).is_dir():
            yield from self._staged(staging, scheme)
        built = spark_lake.archive_staged_dir(self.home)
        for staged_set in sorted(built.iterdir()) if built.is_dir() else []:
            shutil.rmtree(staging, ignore_errors=True)
            if (staged_set / WRITTEN).is_dir():
                staging.parent.mkdir(parents=True, exist_ok=True)
                _move_whole(staged_set, staging)
                yield from self._staged(staging, scheme)
            else:
                shutil.rmtree(staged_set)

    def _staged(self, staging: Path, scheme: str) -> Iterator[tuple[str, Path]]:
        if staged_scheme(staging) not in (scheme, None):
            # Staged for another scheme, and its dates are off the queue: rewrite everything.
            self.must_rewrite = True
            shutil.rmtree(staging)
            return
        for name, folder in staged_partitions(staging):
            self.rows += sum(pq.ParquetFile(f).metadata.num_rows for f in folder.rglob("*.parquet"))
            self.recovered.add(name)
            yield name, folder

    def write(self, scheme: str, rewrite_all: bool, staging: Path) -> Iterator[tuple[str, Path]]:
        self.warehouse.refresh_lake()
        settled: set[str] = set()
        if rewrite_all:
            queue = f"(select distinct reading_date from {SOURCE})"
            # published just now, and no date of theirs queued again since
            queued = self.con.execute(f"select distinct reading_date from {QUEUE}").fetchall()
            settled = self.recovered - {partition_dir(scheme, day) for (day,) in queued}
        else:
            queue = QUEUE
        units, partition_days = plan_partitions(self.con, scheme, SOURCE, queue, None)
        units = {name: days for name, days in units.items() if name not in settled}
        if not units:
            return
        every_day = sorted({d for name in units for d in partition_days[name]})
        queued_days = sorted({d for days in units.values() for d in days})
        _write_with_spark(self.home, every_day, queued_days, staging, scheme)
        crash_point("export:after_spark_write")
        yield from self._staged(staging, scheme)

    def present_partitions(self, scheme: str) -> set[str]:
        self.warehouse.refresh_lake()
        return present_partitions(self.con, scheme, SOURCE, None)


def _write_with_spark(home: Home, days: list, queued: list, staging: Path, scheme: str) -> None:
    staging.parent.mkdir(parents=True, exist_ok=True)
    arguments = {
        "readings": SOURCE,
        "days": [d.isoformat() for d in days],
        "queued": [d.isoformat() for d in queued],
        "staging": str(staging),
        "scheme": scheme,
        "columns": list(archive_columns(home)),
    }
    result = run_dbt(
        home,
        SPARK,
        "run-operation",
        "spark__write_parquet_archive",
        "--args",
        json.dumps(arguments),
    )
    if result.returncode != 0 or not (staging / WRITTEN).is_dir():
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        raise ExportError(f"Spark could not write the archive partitions:\n{tail}")


def staged_scheme(staging: Path) -> str | None:
    """The partition scheme a staged set's mark names (None for a mark that names none)."""
    for part in sorted((staging / WRITTEN).glob("part-*")):
        text = part.read_text(encoding="utf-8").strip()
        if text in SCHEMES:
            return text
    return None


def _move_whole(source: Path, target: Path) -> None:
    """`source` to `target` in one rename; across file systems, a copy made whole first."""
    try:
        source.rename(target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        partial = target.with_name(f"{target.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial)
        partial.rename(target)
        shutil.rmtree(source)


def staged_partitions(staging: Path) -> Iterator[tuple[str, Path]]:
    """Each partition Spark staged, in the archive's names (published by the caller before the
    next is tidied); the _written mark goes once all are published."""
    for folder in sorted(staging.iterdir()):
        if not folder.is_dir() or "=" not in folder.name:
            continue
        _tidy(folder)
        yield _archive_name(folder.name), folder
    shutil.rmtree(staging / WRITTEN, ignore_errors=True)


def _tidy(folder: Path) -> None:
    """Give a staged partition the archive's names: Spark's p_meter=<id> folders become
    meter_id=<id>, and its part-<task>-<uuid> files data_<n>.parquet (the DuckDB export's name,
    the same on every write, so a bucket's objects are replaced in place rather than joined by
    new ones). Hadoop's checksum files (.*.crc) and markers are left out of the archive. Safe to
    run again on a partition it has tidied (an export killed while publishing)."""
    for extra in [*folder.rglob(".*.crc"), *folder.rglob("_*")]:
        if extra.is_file():
            extra.unlink()
    for inner in list(folder.iterdir()):
        if inner.is_dir() and inner.name.split("=", 1)[0] in FOLDER_NAMES:
            inner.rename(inner.with_name(_archive_name(inner.name)))
    for leaf in {p.parent for p in folder.rglob("part-*.parquet")}:
        taken = len(list(leaf.glob("data_*.parquet")))
        for number, part in enumerate(sorted(leaf.glob("part-*.parquet")), start=taken):
            part.rename(leaf / f"data_{number}.parquet")


def _archive_name(spark_name: str) -> str:
    column, value = spark_name.split("=", 1)
    return f"{FOLDER_NAMES[column]}={value}"
