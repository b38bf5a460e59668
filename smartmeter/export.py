"""The export flow: the Parquet archive of validated readings (fct_readings), for every target
and every place.

What to write comes from intermediate.parquet_export_queue (dates queued by fct_readings). The
target's writer (smartmeter/targets: DuckDB's COPY, or Spark) stages each touched partition (a
date, or a month) in a local folder; the archive's store publishes it (a folder by a rename, a
bucket object by object: smartmeter/storage), and its dates leave the queue only after that. A
partition whose dates no longer have readings is removed; a new partition scheme rewrites
everything. A crash leaves the queue intact: the next export writes the same partitions again.
Layout and schemes: smartmeter/targets/archive.py.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field

from smartmeter import targets
from smartmeter.dbt_runner import project_var
from smartmeter.home import Home
from smartmeter.places import home_places
from smartmeter.storage import Store
from smartmeter.targets.archive import SCHEMES, ArchiveWriter, ExportError

__all__ = ["SCHEMES", "ExportError", "ExportReport", "export_archive", "export_warehouse"]

# Names the scheme an archive is written in; a new scheme rewrites it all.
SCHEME_MARKER = "_partition_scheme"


@dataclass
class ExportReport:
    partitions: list[str] = field(default_factory=list)
    rows: int = 0
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def export_archive(store: Store, scheme: str, writer: ArchiveWriter) -> ExportReport:
    """Publish every partition the writer stages, then prune the ones without readings."""
    if scheme not in SCHEMES:
        raise ExportError(f"unknown partition scheme {scheme!r}; choose one of {SCHEMES}")
    started = time.perf_counter()
    report = ExportReport()
    staging = store.staging(writer.staging_label)
    for name, staged in writer.recover(staging, scheme):
        store.publish(staged, name)
        report.partitions.append(name)
    shutil.rmtree(staging, ignore_errors=True)
    marker = store.get(SCHEME_MARKER)
    rewrite_all = writer.must_rewrite or marker is None or marker.decode().strip() != scheme
    if rewrite_all:  # a new partition scheme rewrites the whole archive
        for partition in store.partitions() - set(report.partitions):
            store.remove_partition(partition)
    for name, staged in writer.write(scheme, rewrite_all, staging):
        store.publish(staged, name)
        report.partitions.append(name)
    store.settle()
    if rewrite_all:
        store.put(SCHEME_MARKER, (scheme + "\n").encode())
    present = writer.present_partitions(scheme)
    prefix = "reading_month=" if scheme == "month/meter_id" else "reading_date="
    for partition in sorted(store.partitions()):
        if not (partition.startswith(prefix) and partition in present):
            store.remove_partition(partition)
            report.removed.append(partition)
    shutil.rmtree(staging, ignore_errors=True)
    report.rows = writer.rows
    report.seconds = time.perf_counter() - started
    return report


def export_warehouse(home: Home, target: str, scheme: str | None = None) -> ExportReport:
    """Export the queued partitions of a data home's warehouse (any target, any place)."""
    scheme = scheme or str(project_var(home, "parquet_partition_scheme"))
    with targets.get(target).archive_writer(home) as writer:
        return export_archive(home_places(home).readings, scheme, writer)
