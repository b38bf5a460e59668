"""The Parquet archive on the Spark target: the same layout, columns, file names and partition
schemes as the DuckDB export (export.py, bucket_export.py), written by Spark.

smartmeter plans from the lake (which partitions the queue asks for, through the DuckDB views of
spark_lake.py); one `dbt run-operation` has Spark write those partitions into a local staging
folder, each a folder of one Parquet file per meter, and take their dates off the export queue;
then each staged partition is published:
- to a folder archive by a rename (the staging folder is inside the archive's own folder), so a
  reader sees the old day or the new one, never half of either;
- to a bucket (SMARTMETER_PARQUET_URL=s3://...) by uploading each file over its final key and
  then deleting the keys the partition no longer has: an object is replaced whole, so every
  file of the day is either as it was or as it is now. Spark itself never talks to the bucket
  (its S3 connector is a jar that is not bundled); the staging folder is then in the home.
A staging folder that Spark finished (its _written mark) but that was not published yet, after
a crash, is published by the next export; an unfinished one is discarded (the queue still holds
its dates).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import duckdb

from smartmeter import bucket_export, export, object_store
from smartmeter.dbt_runner import run_dbt
from smartmeter.export import (
    EXPORTED_COLUMNS,
    SCHEMES,
    ExportError,
    ExportReport,
    _prune,
    _swap_into_place,
    plan_partitions,
)
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.object_store import S3Location
from smartmeter.warehouse import connected

SOURCE = "marts.fct_readings"
QUEUE = "intermediate.parquet_export_queue"
# Made by Spark when every staged partition is written (spark_parquet_archive.sql).
WRITTEN = "_written"
# Spark's partition folders, and the archive's names for them.
FOLDER_NAMES = {"p_date": "reading_date", "p_month": "reading_month", "p_meter": "meter_id"}


class _FolderArchive:
    """The archive in a folder: staged beside the partitions, swapped in by renames."""

    def __init__(self, root: Path):
        self.root = root
        self.staging = root / ".spark-staging"

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob(".old-*"):
            shutil.rmtree(leftover, ignore_errors=True)

    def clear_if_scheme_changed(self, scheme: str) -> bool:
        """A new scheme rewrites the whole archive: clear it (every date is then written)."""
        if export.scheme_matches(self.root, scheme):
            return False
        export.clear_archive(self.root)
        return True

    def mark_scheme(self, scheme: str) -> None:
        export.mark_scheme(self.root, scheme)

    def publish(self, partition: Path, name: str) -> None:
        replaced = _swap_into_place(partition, self.root / name, has_rows=True)
        if replaced:
            shutil.rmtree(replaced, ignore_errors=True)

    def prune(self, con: duckdb.DuckDBPyConnection, scheme: str) -> list[str]:
        return _prune(con, self.root, scheme, SOURCE)


class _BucketArchive:
    """The archive in a bucket: staged in the home, uploaded object by object."""

    def __init__(self, root: S3Location, home: Home):
        self.root = root
        self.staging = home.state / "spark-archive-staging"

    def prepare(self) -> None:
        pass

    def clear_if_scheme_changed(self, scheme: str) -> bool:
        if bucket_export.scheme_matches(self.root, scheme):
            return False
        bucket_export.clear_archive(self.root)
        return True

    def mark_scheme(self, scheme: str) -> None:
        bucket_export.mark_scheme(self.root, scheme)

    def publish(self, partition: Path, name: str) -> None:
        final = self.root.child(name)
        files = sorted(str(p.relative_to(partition)) for p in partition.rglob("*") if p.is_file())

        def upload(relative: str) -> None:
            object_store.upload_file(partition / relative, final.bucket, final.key(relative))

        bucket_export.replace_objects(final, files, upload)
        shutil.rmtree(partition)  # published: an export killed after this does not redo it

    def prune(self, con: duckdb.DuckDBPyConnection, scheme: str) -> list[str]:
        return bucket_export.prune(con, self.root, scheme, SOURCE, None)


def export_spark(home: Home, scheme: str) -> ExportReport:
    if scheme not in SCHEMES:
        raise ExportError(f"unknown partition scheme {scheme!r}; choose one of {SCHEMES}")
    started = time.perf_counter()
    location = object_store.parquet_location_or(home.parquet)
    archive: _FolderArchive | _BucketArchive
    if isinstance(location, S3Location):
        archive = _BucketArchive(location.child("readings"), home)
    else:
        archive = _FolderArchive(Path(location) / "readings")
    archive.prepare()
    staging = archive.staging
    report = ExportReport()
    if (staging / WRITTEN).is_dir():  # written before a crash, not yet published
        report.partitions += _publish_staged(staging, archive)
    shutil.rmtree(staging, ignore_errors=True)
    with connected(home, "spark") as warehouse:
        con = warehouse.connection
        warehouse.refresh_lake()
        rewrite_all = archive.clear_if_scheme_changed(scheme)
        queue = QUEUE
        if rewrite_all:
            queue = f"(select distinct reading_date from {SOURCE})"
        units, partition_days, _ = plan_partitions(con, scheme, SOURCE, queue, None)
        if units:
            every_day = sorted({d for days in partition_days.values() for d in days})
            queued = sorted({d for days in units.values() for d in days})
            _write_with_spark(home, every_day, queued, staging, scheme)
            crash_point("export:after_spark_write")
            report.partitions += _publish_staged(staging, archive)
            report.rows = con.execute(
                f"select count(*) from {SOURCE} where reading_date in "
                f"({', '.join(repr(d.isoformat()) for d in every_day)})"
            ).fetchone()[0]
        if rewrite_all:
            archive.mark_scheme(scheme)
        report.removed = archive.prune(con, scheme)
    shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _write_with_spark(home: Home, days: list, queued: list, staging: Path, scheme: str) -> None:
    staging.parent.mkdir(parents=True, exist_ok=True)
    arguments = {
        "days": [d.isoformat() for d in days],
        "queued": [d.isoformat() for d in queued],
        "staging": str(staging),
        "scheme": scheme,
        "columns": list(EXPORTED_COLUMNS),
    }
    result = run_dbt(
        home,
        "spark",
        "run-operation",
        "spark__write_parquet_archive",
        "--args",
        json.dumps(arguments),
    )
    if result.returncode != 0 or not (staging / WRITTEN).is_dir():
        tail = "\n".join(result.output.strip().splitlines()[-15:])
        raise ExportError(f"Spark could not write the archive partitions:\n{tail}")


def _publish_staged(staging: Path, archive: _FolderArchive | _BucketArchive) -> list[str]:
    """Publish each staged partition (replacing the archive's), in the archive's names."""
    published = []
    for folder in sorted(staging.iterdir()):
        if not folder.is_dir() or "=" not in folder.name:
            continue
        _tidy(folder)
        name = _archive_name(folder.name)
        archive.publish(folder, name)
        published.append(name)
    shutil.rmtree(staging / WRITTEN, ignore_errors=True)
    return published


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
