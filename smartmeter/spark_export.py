"""The Parquet archive on the Spark target: the same layout, columns and partition schemes as
the DuckDB export (export.py), written by Spark.

smartmeter plans from the lake (which partitions the queue asks for, through the DuckDB views of
spark_lake.py); one `dbt run-operation` has Spark write those partitions into a staging folder,
each a folder of one Parquet file per meter, and take their dates off the export queue; then each
staged partition replaces the archive's by a rename, so a reader sees the old day or the new one,
never half of either. A staging folder that Spark finished (its _written mark) but that was not
swapped in yet, after a crash, is swapped in by the next export; an unfinished one is discarded
(the queue still holds its dates).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from smartmeter import object_store
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
from smartmeter.warehouse import connected

SOURCE = "marts.fct_readings"
QUEUE = "intermediate.parquet_export_queue"
# Made by Spark when every staged partition is written (spark_parquet_archive.sql).
WRITTEN = "_written"
# Spark's partition folders, and the archive's names for them.
FOLDER_NAMES = {"p_date": "reading_date", "p_month": "reading_month", "p_meter": "meter_id"}


def export_spark(home: Home, scheme: str) -> ExportReport:
    location = object_store.parquet_location_or(home.parquet)
    if isinstance(location, object_store.S3Location):
        raise ExportError(
            "the Spark target writes the archive to a file system path (a local or mounted "
            "folder); an S3 archive needs Spark's S3 connector, which is not bundled"
        )
    if scheme not in SCHEMES:
        raise ExportError(f"unknown partition scheme {scheme!r}; choose one of {SCHEMES}")
    started = time.perf_counter()
    root = Path(location) / "readings"
    root.mkdir(parents=True, exist_ok=True)
    staging = root / ".spark-staging"
    report = ExportReport()
    if (staging / WRITTEN).is_dir():  # written before a crash, not yet swapped in
        report.partitions += _swap_staged(staging, root)
    shutil.rmtree(staging, ignore_errors=True)
    for leftover in root.glob(".old-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    with connected(home, "spark") as warehouse:
        con = warehouse.connection
        warehouse.refresh_lake()
        rewrite_all = _scheme_changed(root, scheme)
        queue = QUEUE
        if rewrite_all:
            queue = f"(select distinct reading_date from {SOURCE})"
        units, partition_days, _ = plan_partitions(con, scheme, SOURCE, queue, None)
        if units:
            every_day = sorted({d for days in partition_days.values() for d in days})
            queued = sorted({d for days in units.values() for d in days})
            _write_with_spark(home, every_day, queued, staging, scheme)
            crash_point("export:after_spark_write")
            report.partitions += _swap_staged(staging, root)
            report.rows = con.execute(
                f"select count(*) from {SOURCE} where reading_date in "
                f"({', '.join(repr(d.isoformat()) for d in every_day)})"
            ).fetchone()[0]
        if rewrite_all:
            (root / "_partition_scheme").write_text(scheme + "\n")
        report.removed = _prune(con, root, scheme, SOURCE)
    shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _scheme_changed(root: Path, scheme: str) -> bool:
    """A new scheme rewrites the whole archive: clear it (every date is then written)."""
    marker = root / "_partition_scheme"
    if marker.exists() and marker.read_text().strip() == scheme:
        return False
    for folder in root.iterdir():
        if folder.is_dir() and not folder.name.startswith("."):
            shutil.rmtree(folder)
    return True


def _write_with_spark(home: Home, days: list, queued: list, staging: Path, scheme: str) -> None:
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


def _swap_staged(staging: Path, root: Path) -> list[str]:
    """Rename each staged partition into the archive (replacing the old one)."""
    swapped = []
    for folder in sorted(staging.iterdir()):
        if not folder.is_dir() or "=" not in folder.name:
            continue
        _rename_levels(folder)
        name = _archive_name(folder.name)
        replaced = _swap_into_place(folder, root / name, has_rows=True)
        if replaced:
            shutil.rmtree(replaced, ignore_errors=True)
        swapped.append(name)
    shutil.rmtree(staging / WRITTEN, ignore_errors=True)
    return swapped


def _rename_levels(folder: Path) -> None:
    """Spark's p_meter=<id> folders inside a staged partition become meter_id=<id>; Hadoop's
    checksum files (.*.crc) and markers are left out of the archive."""
    for extra in [*folder.rglob(".*.crc"), *folder.rglob("_*")]:
        if extra.is_file():
            extra.unlink()
    for inner in list(folder.iterdir()):
        if inner.is_dir() and "=" in inner.name:
            inner.rename(inner.with_name(_archive_name(inner.name)))


def _archive_name(spark_name: str) -> str:
    column, value = spark_name.split("=", 1)
    return f"{FOLDER_NAMES[column]}={value}"
