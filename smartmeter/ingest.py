"""Ingest: landing/ -> the raw/ archive -> ops.file_manifest -> dlt -> schema raw.

Exactly once, even when killed at any point:
1. take in: archive each landing file (content-addressed, atomic), remove it from landing/,
   then record the delivery. A crash between the last two is healed by `reconcile`, which
   records every archive entry that has no delivery yet (this also backfills a new target).
2. load: every delivery still `received` is read from the archive and loaded in batches. Rows a
   killed attempt may have left are deleted first, and dlt's unfinished packages are dropped:
   the manifest, not dlt's local state, decides what is loaded.
Identical bytes (under any name) load once; later deliveries are recorded as duplicates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dlt
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.destinations.impl.postgres.configuration import (
    PostgresClientConfiguration,
    PostgresCredentials,
)

from dlt_pipelines import archive, raw_load
from dlt_pipelines.file_zones import load_zone_settings
from dlt_pipelines.text_tables import TextTable, UnreadableFile, read_text_table
from smartmeter import dead_letters, object_store, spark_lake
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.ops_tables import ensure_ops_tables
from smartmeter.warehouse import PostgresSettings, Warehouse

# How much file content one dlt load takes at most; bounds memory on a large backlog.
BATCH_BYTES = 512 << 20
# dlt writes Parquet for both; PostgreSQL copies it in through ADBC (binary COPY), with no
# per-row conversion to CSV and no text re-parsing in the server.
LOADER_FILE_FORMAT = {"duckdb": "parquet", "postgres": "parquet", "spark": "parquet"}

RECEIVED, LOADED, DUPLICATE, DEAD_LETTERED = "received", "loaded", "duplicate", "dead_lettered"


@dataclass
class FileOutcome:
    name: str
    status: str
    sha256: str
    layout: str | None = None
    rows: int = 0
    message: str = ""

    def line(self) -> str:
        what = {
            LOADED: f"loaded {self.rows:,} rows as {self.layout}",
            DUPLICATE: "duplicate delivery, not loaded again",
            DEAD_LETTERED: "dead-lettered",
        }.get(self.status, self.status)
        note = f": {self.message}" if self.message else ""
        return f"{self.status.upper():<13} {self.name}  ({what}){note}"


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    load_ids: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(o.rows for o in self.outcomes if o.status == LOADED)

    @property
    def ok(self) -> bool:
        return self.count(DEAD_LETTERED) == 0


@dataclass
class Delivery:
    delivery_id: str
    original_name: str
    sha256: str
    archive_path: str
    load_attempts: int


def _now() -> datetime:
    return datetime.now(UTC)


def record_delivery(
    warehouse: Warehouse,
    entry: archive.ArchiveEntry,
    status: str,
    run_id: str | None,
    received_at: datetime | None = None,
    detail: str | None = None,
) -> str:
    delivery_id = uuid.uuid4().hex[:16]
    warehouse.execute(
        "insert into ops.file_manifest (delivery_id, original_name, sha256, bytes, received_at, "
        "archive_path, status, detail, load_attempts, run_id, updated_at) "
        "values (%s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s)",
        (
            delivery_id,
            entry.original_name,
            entry.sha256,
            entry.bytes,
            received_at or _now(),
            str(entry.path),
            status,
            detail,
            run_id,
            _now(),
        ),
    )
    return delivery_id


def _set_status(warehouse: Warehouse, delivery_id: str, status: str, **values: object) -> None:
    assignments = ", ".join(f"{k} = %s" for k in values)
    warehouse.execute(
        f"update ops.file_manifest set status = %s, {assignments + ', ' if values else ''}"
        "updated_at = %s where delivery_id = %s",
        (status, *values.values(), _now(), delivery_id),
    )


def take_in_landing(home: Home, warehouse: Warehouse, run_id: str | None) -> list[FileOutcome]:
    """Archive every complete landing file, remove it from landing/, record the delivery."""
    outcomes = []
    for path in home.landed_files():
        try:
            entry = archive.archive_file(path, home.archive)
        except archive.FileChangedError:
            continue  # still being written: the next run takes it
        known = warehouse.scalar(
            "select count(*) from ops.file_manifest where archive_path = %s", (str(entry.path),)
        )
        crash_point("ingest:after_archive")
        path.unlink()
        crash_point("ingest:after_unlink")
        if known:  # the same bytes under the same name, delivered again
            record_delivery(warehouse, entry, DUPLICATE, run_id, detail="same name and bytes")
            outcomes.append(FileOutcome(entry.original_name, DUPLICATE, entry.sha256))
        else:
            record_delivery(warehouse, entry, RECEIVED, run_id)
    return outcomes


def reconcile(home: Home, warehouse: Warehouse, target: str, run_id: str | None) -> None:
    """Record archive entries this warehouse has never seen (a crash after a landing file was
    archived and removed, or a home being loaded into a new target). Entries with an open
    dead letter wait for `dlq replay`."""
    known = {row[0] for row in warehouse.query("select archive_path from ops.file_manifest")}
    parked = {
        (letter.sha256, letter.original_name) for letter in dead_letters.open_letters(home, target)
    }
    for entry in archive.entries(home.archive):
        if str(entry.path) in known or (entry.sha256, entry.original_name) in parked:
            continue
        received = datetime.fromtimestamp(entry.received_at, UTC)
        record_delivery(warehouse, entry, RECEIVED, run_id, received_at=received)


def pending_deliveries(warehouse: Warehouse) -> list[Delivery]:
    rows = warehouse.query(
        "select delivery_id, original_name, sha256, archive_path, load_attempts "
        "from ops.file_manifest where status = %s order by received_at, delivery_id",
        (RECEIVED,),
    )
    return [Delivery(*row) for row in rows]


@configspec(init=False)
class LibpqCredentials(PostgresCredentials):
    """dlt's PostgreSQL credentials with the password optional, as libpq has it (trust
    authentication, ~/.pgpass or PGPASSWORD)."""

    password: TSecretStrValue | None = None


@configspec
class LibpqClientConfiguration(PostgresClientConfiguration):
    credentials: LibpqCredentials = None


class LibpqPostgres(dlt.destinations.postgres):
    spec = LibpqClientConfiguration


def destination(home: Home, warehouse: Warehouse) -> object:
    if warehouse.target == "duckdb":
        return dlt.destinations.duckdb(warehouse.connection)
    if warehouse.target == "spark":
        # Parquet files in the lake, which Spark registers as the raw tables (spark_lake.py).
        return dlt.destinations.filesystem(bucket_url=spark_lake.lake_dir(home).as_uri())
    credentials = LibpqCredentials()
    credentials.parse_native_representation(PostgresSettings.from_env().url())
    return LibpqPostgres(credentials=credentials)


def make_pipeline(home: Home, warehouse: Warehouse) -> dlt.Pipeline:
    pipeline = raw_load.make_pipeline(
        home.pipelines_dir(warehouse.target), destination(home, warehouse), warehouse.target
    )
    # Leftovers of a killed run are reloaded from the archive instead.
    pipeline.abort_packages()
    return pipeline


def delete_raw_rows(warehouse: Warehouse, sha256s: list[str]) -> None:
    """Remove these files' rows from every raw table (a killed load's leftovers, a file set
    aside by isolation.py)."""
    if not sha256s:
        return
    if warehouse.target == "spark":
        spark_lake.delete_raw_rows(warehouse.home, sha256s)
        return
    marks = ", ".join(["%s"] * len(sha256s))
    for table in raw_load.raw_tables():
        if warehouse.relation_exists(raw_load.RAW_DATASET, table):
            warehouse.execute(
                f"delete from {raw_load.RAW_DATASET}.{table} where _file_sha256 in ({marks})",
                sha256s,
            )


def dead_letter_delivery(
    home: Home,
    warehouse: Warehouse,
    delivery: Delivery,
    *,
    stage: str,
    reason: str,
    message: str,
    run_id: str | None,
) -> dead_letters.DeadLetter:
    """Park a delivered file for good (a copy of its archived bytes in dlq/, with the sidecar)
    and mark its delivery dead-lettered; `smartmeter dlq replay` puts it back in line."""
    with object_store.local_copy(delivery.archive_path, home.state) as source:
        letter = dead_letters.park(
            home,
            source=source,
            original_name=delivery.original_name,
            sha256=delivery.sha256,
            delivery_id=delivery.delivery_id,
            stage=stage,
            error_class="permanent",
            reason=reason,
            message=message,
            attempts=1,
            run_id=run_id,
            target=warehouse.target,
        )
    _set_status(warehouse, delivery.delivery_id, DEAD_LETTERED, detail=message[:2000])
    return letter


def _dead_letter_unreadable(
    home: Home,
    warehouse: Warehouse,
    delivery: Delivery,
    problem: UnreadableFile,
    run_id: str | None,
) -> FileOutcome:
    dead_letter_delivery(
        home,
        warehouse,
        delivery,
        stage="ingest",
        reason=problem.reason,
        message=str(problem),
        run_id=run_id,
    )
    return FileOutcome(delivery.original_name, DEAD_LETTERED, delivery.sha256, message=str(problem))


def load_pending(
    home: Home,
    warehouse: Warehouse,
    run_id: str | None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Load every `received` delivery, in batches of at most BATCH_BYTES of content."""
    report = IngestReport()
    pending = pending_deliveries(warehouse)
    if not pending:
        return report
    loaded = {
        row[0]: row[1]
        for row in warehouse.query(
            "select sha256, min(original_name) from ops.file_manifest where status = %s "
            "group by sha256",
            (LOADED,),
        )
    }
    pipeline = make_pipeline(home, warehouse)
    zone_rules = load_zone_settings(home.root)
    batch: list[tuple[Delivery, TextTable]] = []
    batch_bytes = 0
    for done, delivery in enumerate(pending, start=1):
        if delivery.sha256 in loaded:
            detail = f"same bytes as {loaded[delivery.sha256]!r}, already loaded"
            _set_status(warehouse, delivery.delivery_id, DUPLICATE, detail=detail)
            report.outcomes.append(
                FileOutcome(delivery.original_name, DUPLICATE, delivery.sha256, message=detail)
            )
            continue
        data = object_store.read_archived(delivery.archive_path)
        try:
            table = read_text_table(data, delivery.original_name, delivery.sha256, zone_rules)
        except UnreadableFile as problem:
            report.outcomes.append(
                _dead_letter_unreadable(home, warehouse, delivery, problem, run_id)
            )
            continue
        loaded[delivery.sha256] = delivery.original_name
        batch.append((delivery, table))
        batch_bytes += len(data)
        if batch_bytes >= BATCH_BYTES:
            _load_batch(warehouse, pipeline, batch, report)
            batch, batch_bytes = [], 0
        if on_progress:
            on_progress(done, len(pending))
    _load_batch(warehouse, pipeline, batch, report)
    return report


def _load_batch(
    warehouse: Warehouse,
    pipeline: dlt.Pipeline,
    batch: list[tuple[Delivery, TextTable]],
    report: IngestReport,
) -> None:
    if not batch:
        return
    delete_raw_rows(warehouse, [d.sha256 for d, _ in batch if d.load_attempts > 0])
    for delivery, _ in batch:
        warehouse.execute(
            "update ops.file_manifest set load_attempts = load_attempts + 1 where delivery_id = %s",
            (delivery.delivery_id,),
        )
    load_id = raw_load.load(
        pipeline,
        [t for _, t in batch],
        LOADER_FILE_FORMAT[warehouse.target],
        after_step=lambda step: crash_point(f"ingest:after_dlt_{step}"),
    )
    report.load_ids.append(load_id)
    for delivery, table in batch:
        _set_status(
            warehouse,
            delivery.delivery_id,
            LOADED,
            layout=table.layout.name,
            load_id=load_id,
            data_rows=table.data_rows,
            detail="header only: no data rows" if table.data_rows == 0 else None,
        )
        report.outcomes.append(
            FileOutcome(
                delivery.original_name,
                LOADED,
                delivery.sha256,
                layout=table.layout.name,
                rows=table.data_rows,
                message="header only, no data rows" if table.data_rows == 0 else "",
            )
        )


def prepare(home: Home, warehouse: Warehouse, *, raw_tables: bool = True) -> None:
    """Everything a warehouse needs before its first file: folders, ops and raw tables.
    Ingest passes `raw_tables=False` and calls `ensure_raw_tables` after its loads: a first
    load creates every declared raw table itself, so an empty load of its own is wasted."""
    home.create()
    ensure_ops_tables(warehouse)
    archive.remove_partials(home.archive)
    if raw_tables:
        ensure_raw_tables(home, warehouse)


def ensure_raw_tables(home: Home, warehouse: Warehouse) -> None:
    if not warehouse.relation_exists(raw_load.RAW_DATASET, "layouts"):
        raw_load.load(make_pipeline(home, warehouse), [], LOADER_FILE_FORMAT[warehouse.target])
    if warehouse.target == "spark":
        spark_lake.ensure_raw_tables(home, raw_load.declared_schemas())


def ingest(
    home: Home,
    warehouse: Warehouse,
    run_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    if warehouse.target == "postgres":
        try:
            raw_load.copy_streams()  # a bad setting stops the run before any file is taken in
        except ValueError as exc:
            raise object_store.ConfigurationError(str(exc)) from exc
    if object_store.objects_in_use(home):  # the archive is a bucket
        from smartmeter.object_ingest import ingest_objects

        return ingest_objects(home, warehouse, run_id, on_progress)
    prepare(home, warehouse, raw_tables=False)
    dead_letters.requeue_replaying(home, warehouse)
    taken = take_in_landing(home, warehouse, run_id)
    reconcile(home, warehouse, warehouse.target, run_id)
    report = load_pending(home, warehouse, run_id, on_progress)
    ensure_raw_tables(home, warehouse)
    report.outcomes = taken + report.outcomes
    dead_letters.sync_table(home, warehouse)
    return report
