"""Ingest: landing/ -> the raw/ archive -> ops.file_manifest -> dlt -> schema raw.

Exactly once, even when killed at any point:
The landing and the archive are each a folder or a bucket (smartmeter.storage); this flow is
the same for every combination:
1. take in: each complete landing file is read once to hash it and written once into the
   archive (content-addressed; never overwritten), then its delivery is recorded. A crash
   between the two is healed by `reconcile`, which records every archive entry that has no
   delivery yet (this also backfills a new target).
2. load: every delivery still `received` is read from the archive and loaded in batches. Rows a
   killed attempt may have left are deleted first, and dlt's unfinished packages are dropped:
   the manifest, not dlt's local state, decides what is loaded.
3. only then is each file removed from the landing, and only the version archived (a newer
   delivery under the same name stays for the next run).
Identical bytes (under any name) load once; later deliveries are recorded as duplicates.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dlt

from dlt_pipelines import raw_load
from dlt_pipelines.file_zones import load_zone_settings
from dlt_pipelines.text_tables import TextTable, UnreadableFile, read_text_table
from smartmeter import dead_letters, storage, targets
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.ops_tables import ensure_ops_tables
from smartmeter.places import home_places
from smartmeter.storage import Entry, FileChangedError, Places, Store, Stored
from smartmeter.targets import Warehouse

# How much file content one dlt load takes at most; bounds memory on a large backlog.
BATCH_BYTES = 512 << 20

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
    stored: Stored,
    original_name: str,
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
            original_name,
            stored.sha256,
            stored.bytes,
            received_at or _now(),
            stored.url,
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


def archive_key(landing: Store, archive: Store, entry: Entry) -> Callable[[str], str]:
    """Where a landed entry is archived: `<sha[:2]>/<sha>/<its lineage name>` (content
    addressed, so the same bytes are stored once per name)."""
    name = archive.entry_name(landing.lineage_name(entry.key))
    return lambda sha: f"{sha[:2]}/{sha}/{name}"


def _latest_delivery(warehouse: Warehouse, archive_path: str) -> datetime | None:
    latest = warehouse.scalar(
        "select max(received_at) from ops.file_manifest where archive_path = %s", (archive_path,)
    )
    return _as_utc(latest) if latest is not None else None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def take_in(
    places: Places, warehouse: Warehouse, run_id: str | None
) -> tuple[list[FileOutcome], list[Entry]]:
    """Archive every complete landing file and record its delivery (not yet removing it: that
    waits until it is loaded). A delivery is recorded with the file's modification time as
    received_at, so a run stopped before the removal does not record it twice, while a later
    delivery of the same name and bytes is a duplicate."""
    landing, archive = places.landing, places.archive
    outcomes: list[FileOutcome] = []
    taken: list[Entry] = []
    for entry in landing.landed():
        try:
            stored = archive.write_once(landing, entry, archive_key(landing, archive, entry))
        except FileChangedError:
            continue  # still being written, or replaced: the next run takes it
        crash_point("ingest:after_archive")
        name = landing.lineage_name(entry.key)
        latest = _latest_delivery(warehouse, stored.url)
        if latest is None:
            record_delivery(warehouse, stored, name, RECEIVED, run_id, received_at=entry.modified)
        elif entry.modified > latest:  # delivered again after its first delivery
            record_delivery(
                warehouse,
                stored,
                name,
                DUPLICATE,
                run_id,
                received_at=entry.modified,
                detail="same name and bytes",
            )
            outcomes.append(FileOutcome(name, DUPLICATE, stored.sha256))
        # else: recorded by a run that stopped before removing it from the landing
        taken.append(entry)
    return outcomes, taken


def reconcile(places: Places, home: Home, warehouse: Warehouse, run_id: str | None) -> None:
    """Record archive entries this warehouse has never seen (a run killed between the copy and
    the record, or a home being loaded into a new target). Entries with an open dead letter
    wait for `dlq replay`."""
    archive = places.archive
    known = {row[0] for row in warehouse.query("select archive_path from ops.file_manifest")}
    parked = {
        (letter.sha256, letter.original_name)
        for letter in dead_letters.open_letters(home, warehouse.target)
    }
    found = []
    for entry in archive.list():
        parts = entry.key.split("/", 2)
        if len(parts) < 3 or len(parts[1]) != 64 or not parts[1].startswith(parts[0]):
            continue
        found.append((entry.modified, entry.key, parts[1], archive.name_of_entry(parts[2]), entry))
    for modified, key, sha, original, entry in sorted(found):
        url = archive.url_of(key)
        if url in known or (sha, original) in parked:
            continue
        stored = Stored(url, sha, entry.size)
        record_delivery(warehouse, stored, original, RECEIVED, run_id, received_at=modified)


def remove_from_landing(landing: Store, taken: list[Entry]) -> None:
    """Remove what was taken in, only the version archived (a newer delivery stays)."""
    for entry in taken:
        landing.delete_if_unchanged(entry.key, entry.version)
        crash_point("ingest:after_unlink")


def pending_deliveries(warehouse: Warehouse) -> list[Delivery]:
    rows = warehouse.query(
        "select delivery_id, original_name, sha256, archive_path, load_attempts "
        "from ops.file_manifest where status = %s order by received_at, delivery_id",
        (RECEIVED,),
    )
    return [Delivery(*row) for row in rows]


def make_pipeline(home: Home, warehouse: Warehouse) -> dlt.Pipeline:
    target = targets.get(warehouse.target)
    pipeline = raw_load.make_pipeline(
        home.pipelines_dir(target.name),
        target.dlt_destination(home, warehouse),
        target.name,
        progress=home.settings.dlt_progress,
    )
    # Leftovers of a killed run are reloaded from the archive instead.
    pipeline.abort_packages()
    return pipeline


def delete_raw_rows(warehouse: Warehouse, sha256s: list[str]) -> None:
    """Remove these files' rows from every raw table (a killed load's leftovers, a file set
    aside by isolation.py)."""
    if sha256s:
        targets.get(warehouse.target).delete_raw_rows(warehouse, sha256s, raw_load.raw_tables())


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
    timeout = home.settings.s3_timeout_seconds
    with storage.local_copy(delivery.archive_path, home.state, timeout) as source:
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
        data = storage.read_entry(delivery.archive_path, home.settings.s3_timeout_seconds)
        try:
            table = read_text_table(
                data,
                delivery.original_name,
                delivery.sha256,
                zone_rules,
                xml_max_bytes=home.settings.xml_max_bytes,
            )
        except UnreadableFile as problem:
            report.outcomes.append(
                _dead_letter_unreadable(home, warehouse, delivery, problem, run_id)
            )
            continue
        loaded[delivery.sha256] = delivery.original_name
        batch.append((delivery, table))
        batch_bytes += len(data)
        if batch_bytes >= BATCH_BYTES:
            _load_batch(home, warehouse, pipeline, batch, report)
            batch, batch_bytes = [], 0
        if on_progress:
            on_progress(done, len(pending))
    _load_batch(home, warehouse, pipeline, batch, report)
    return report


def _load_batch(
    home: Home,
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
        targets.get(warehouse.target).loader_file_format,
        after_step=lambda step: crash_point(f"ingest:after_dlt_{step}"),
        existing=raw_columns(warehouse),
        copy_streams=home.settings.copy_streams,
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


def prepare(
    home: Home, warehouse: Warehouse, places: Places | None = None, *, raw_tables: bool = True
) -> None:
    """Everything a warehouse needs before its first file: folders, ops and raw tables.
    Ingest passes `raw_tables=False` and calls `ensure_raw_tables` after its loads: a first
    load creates every declared raw table itself, so an empty load of its own is wasted."""
    home.create()
    ensure_ops_tables(warehouse)
    (places or home_places(home)).archive.remove_partials()
    if raw_tables:
        ensure_raw_tables(home, warehouse)


def raw_columns(warehouse: Warehouse) -> dict[str, set[str]]:
    """The raw tables the warehouse has, and their columns."""
    columns: dict[str, set[str]] = defaultdict(set)
    for table, column in warehouse.query(
        "select table_name, column_name from information_schema.columns where table_schema = %s",
        (raw_load.RAW_DATASET,),
    ):
        columns[table].add(column)
    return columns


def ensure_raw_tables(home: Home, warehouse: Warehouse) -> None:
    if not warehouse.relation_exists(raw_load.RAW_DATASET, "layouts"):
        target = targets.get(warehouse.target)
        raw_load.load(make_pipeline(home, warehouse), [], target.loader_file_format)
    targets.get(warehouse.target).after_raw_load(home, raw_load.declared_schemas())


def ingest(
    home: Home,
    warehouse: Warehouse,
    run_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    places = home_places(home)
    prepare(home, warehouse, places, raw_tables=False)
    dead_letters.requeue_replaying(home, warehouse, places.landing)
    taken_outcomes, taken = take_in(places, warehouse, run_id)
    reconcile(places, home, warehouse, run_id)
    report = load_pending(home, warehouse, run_id, on_progress)
    ensure_raw_tables(home, warehouse)
    crash_point("ingest:before_landing_removal")
    remove_from_landing(places.landing, taken)
    report.outcomes = taken_outcomes + report.outcomes
    dead_letters.sync_table(home, warehouse)
    return report
