"""Apache Spark: dbt-spark runs the models; smartmeter itself never starts a JVM. The raw
tables are Parquet files dlt writes into the lake; the operational tables live in a DuckDB file
beside it, which also holds views over the lake's tables (smartmeter/spark_lake.py).

The Parquet archive has the same layout, columns, file names and partition schemes as
DuckDB's, written by Spark.

smartmeter plans from the lake (which partitions the queue asks for, through the DuckDB views of
spark_lake.py); one `dbt run-operation` has Spark write every such partition into the archive
store's local staging folder, each a folder of one Parquet file per meter, and take their dates
off the export queue; export.export_archive then publishes each staged partition (by a rename
in a folder, file by file in a bucket: smartmeter/storage). Spark itself never talks to a
bucket (its S3 connector is a jar that is not bundled). A staging folder that Spark finished
(its _written mark) but that was not published yet, after a crash, is published by the next
export; an unfinished one is discarded (the queue still holds its dates).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt

from smartmeter import spark_lake
from smartmeter.dbt_runner import run_dbt
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.targets.archive import (
    EXPORTED_COLUMNS,
    ExportError,
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
        path = spark_lake.control_path(home)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SparkWarehouse(self.name, open_file(home, path), home)

    def dlt_destination(self, home: Home, warehouse: Warehouse) -> object:
        # Parquet files in the lake, which Spark registers as the raw tables (spark_lake.py).
        return dlt.destinations.filesystem(bucket_url=spark_lake.lake_dir(home).as_uri())

    def delete_raw_rows(self, warehouse: Warehouse, sha256s: list[str], tables: list[str]) -> None:
        spark_lake.delete_raw_rows(warehouse.home, sha256s)

    def after_raw_load(self, home: Home, schemas: dict) -> None:
        spark_lake.ensure_raw_tables(home, schemas)

    def hold_back(self, warehouse: Warehouse, sha256s: list[str]) -> None:
        spark_lake.write_held_back(warehouse.home, sha256s)  # Spark reads its copy from the lake

    @contextmanager
    def archive_writer(self, home: Home) -> Iterator[SparkWriter]:
        with self.connected(home) as warehouse:
            yield SparkWriter(home, warehouse)


SPARK = SparkTarget()


class SparkWriter:
    """export.ArchiveWriter for Spark: one Spark job stages every partition."""

    staging_label = "spark-staging"

    def __init__(self, home: Home, warehouse: Warehouse):
        self.home, self.warehouse = home, warehouse
        self.con = warehouse.connection
        self.rows = 0

    def recover(self, staging: Path) -> Iterator[tuple[str, Path]]:
        if (staging / WRITTEN).is_dir():  # written before a crash, not yet published
            yield from staged_partitions(staging)

    def write(self, scheme: str, rewrite_all: bool, staging: Path) -> Iterator[tuple[str, Path]]:
        self.warehouse.refresh_lake()
        queue = f"(select distinct reading_date from {SOURCE})" if rewrite_all else QUEUE
        units, partition_days, _ = plan_partitions(self.con, scheme, SOURCE, queue, None)
        if not units:
            return
        every_day = sorted({d for days in partition_days.values() for d in days})
        queued = sorted({d for days in units.values() for d in days})
        _write_with_spark(self.home, every_day, queued, staging, scheme)
        crash_point("export:after_spark_write")
        yield from staged_partitions(staging)
        self.rows += self.con.execute(
            f"select count(*) from {SOURCE} where reading_date in "
            f"({', '.join(repr(d.isoformat()) for d in every_day)})"
        ).fetchone()[0]

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
        "columns": list(EXPORTED_COLUMNS),
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
