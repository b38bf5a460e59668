"""Ingest when the landing, the archive, or both are S3-compatible buckets.

The same guarantees as the folder ingest (smartmeter.ingest), with a bucket's means:
1. take in: each complete landing object is read once as a stream to hash it, then copied
   server-side (multipart for big objects, pinned to the version that was hashed) to
   `<archive>/<sha[:2]>/<sha>/<object key>`, unless that entry exists already with the same
   size and checksum (head-then-copy: the key is the content hash, so the only other possible
   writer writes the same bytes). A local landing file is uploaded the same way, the small
   ones with If-None-Match (never overwrites); an object bound for a folder archive is
   streamed to a temporary file and renamed into place, its key flattened into one name
   (`landing%2Fa.csv`). The delivery is then recorded with the object's
   LastModified as received_at, so a run stopped before the cleanup does not record it twice,
   while a later upload of the same bytes is a duplicate delivery.
2. load: exactly as for folders (the manifest decides; the archive is read back).
   `_source_file` is the object key.
3. only then are the taken objects removed from landing (only the version that was archived).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dlt_pipelines.archive import (
    READ_ONLY,
    ArchiveCorrupted,
    FileChangedError,
    entry_path,
    sha256_of,
)
from dlt_pipelines.archive import entries as archive_entries
from smartmeter import dead_letters, object_store
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.ingest import (
    DUPLICATE,
    RECEIVED,
    FileOutcome,
    IngestReport,
    ensure_raw_tables,
    load_pending,
    prepare,
    record_delivery,
)
from smartmeter.object_store import S3Location, StoredObject
from smartmeter.warehouse import Warehouse

SHA_METADATA = "sha256"
# Above this a local file is uploaded in parts (the transfer manager's multipart upload).
SINGLE_PUT_BYTES = 64 << 20


@dataclass(frozen=True)
class ObjectEntry:
    """An archive entry in a bucket (the fields record_delivery reads)."""

    path: str  # s3://bucket/key
    sha256: str
    original_name: str
    bytes: int


@dataclass(frozen=True)
class Landed:
    """One complete file waiting in landing: an object, or a local file."""

    name: str  # the object key (lineage), or the file name
    modified: datetime
    obj: StoredObject | None = None
    path: Path | None = None


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def landed(home: Home) -> list[Landed]:
    landing = object_store.landing_location(home)
    if isinstance(landing, S3Location):
        return [
            Landed(o.key, _as_utc(o.last_modified), obj=o)
            for o in object_store.landed_objects(landing)
        ]
    return [
        Landed(path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC), path=path)
        for path in home.landed_files()
    ]


def _existing_entry(archive: S3Location, key: str, sha: str, size: int) -> bool:
    found = object_store.head(archive.bucket, key)
    if found is None:
        return False
    if found["ContentLength"] != size or found.get("Metadata", {}).get(SHA_METADATA) != sha:
        raise ArchiveCorrupted(f"archive entry {archive.url(key)} does not match sha256 {sha}")
    return True


def _chunks(obj: StoredObject, landing: S3Location) -> Iterator[bytes]:
    """The listed version's bytes, streamed; FileChangedError when it was replaced or removed."""
    try:
        yield from object_store.iter_chunks(landing.bucket, obj.key, obj.etag)
    except object_store.ObjectStoreError as exc:
        if "PreconditionFailed" in str(exc) or "NoSuchKey" in str(exc):
            raise FileChangedError(f"{obj.key} changed or went away while being read") from exc
        raise


def local_entry_name(key: str) -> str:
    """An object key as one file name of a folder archive (its folders flattened, reversibly)."""
    return key.replace("%", "%25").replace("/", "%2F")


def key_of_local_entry(name: str) -> str:
    return name.replace("%2F", "/").replace("%25", "%")


def _archive_object(item: Landed, landing: S3Location, archive: S3Location) -> ObjectEntry:
    obj = item.obj
    assert obj is not None
    digest, size = hashlib.sha256(), 0
    for chunk in _chunks(obj, landing):
        digest.update(chunk)
        size += len(chunk)
    sha = digest.hexdigest()
    key = archive.key(sha[:2], sha, obj.key)
    if not _existing_entry(archive, key, sha, size):
        object_store.copy(
            landing.bucket,
            obj.key,
            archive.bucket,
            key,
            CopySourceIfMatch=f'"{obj.etag}"',
            Metadata={SHA_METADATA: sha},
            MetadataDirective="REPLACE",
        )
    return ObjectEntry(archive.url(key), sha, obj.key, size)


def _download_object(item: Landed, landing: S3Location, archive_dir: Path) -> ObjectEntry:
    """An object into a folder archive: streamed to a temporary name while hashed, fsynced,
    then renamed into place read-only (never over an existing entry)."""
    obj = item.obj
    assert obj is not None
    archive_dir.mkdir(parents=True, exist_ok=True)
    partial = archive_dir / f".incoming-{uuid.uuid4().hex}.partial"
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as fh:
            for chunk in _chunks(obj, landing):
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        sha = digest.hexdigest()
        target = entry_path(archive_dir, sha, local_entry_name(obj.key))
        if target.exists():
            if target.stat().st_size != size:
                raise ArchiveCorrupted(f"archive entry {target} does not match {obj.key}")
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(partial, READ_ONLY)
            os.replace(partial, target)
            folder = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        return ObjectEntry(str(target), sha, obj.key, size)
    finally:
        partial.unlink(missing_ok=True)


def _archive_file(item: Landed, archive: S3Location) -> ObjectEntry:
    path = item.path
    assert path is not None
    before = path.stat()
    sha, size = sha256_of(path)
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise FileChangedError(f"{path.name} changed while being archived")
    key = archive.key(sha[:2], sha, path.name)
    if not _existing_entry(archive, key, sha, size):
        client = object_store.s3()
        try:
            if size <= SINGLE_PUT_BYTES:
                with path.open("rb") as body:
                    client.put_object(
                        Bucket=archive.bucket,
                        Key=key,
                        Body=body,
                        IfNoneMatch="*",
                        Metadata={SHA_METADATA: sha},
                    )
            else:
                client.upload_file(
                    str(path), archive.bucket, key, ExtraArgs={"Metadata": {SHA_METADATA: sha}}
                )
        except object_store.botocore_errors() as exc:
            if object_store.http_status(exc) != 412:  # 412: someone stored it meanwhile
                raise object_store.store_error(exc, f"write {archive.url(key)}") from exc
            _existing_entry(archive, key, sha, size)
    return ObjectEntry(archive.url(key), sha, path.name, size)


def _latest_delivery(warehouse: Warehouse, archive_path: str) -> datetime | None:
    latest = warehouse.scalar(
        "select max(received_at) from ops.file_manifest where archive_path = %s", (archive_path,)
    )
    return _as_utc(latest) if latest is not None else None


def take_in(home: Home, warehouse: Warehouse, run_id: str | None):
    """Archive every complete landing file and record its delivery (not yet removing it)."""
    landing, archive = object_store.landing_location(home), object_store.archive_location(home)
    outcomes: list[FileOutcome] = []
    taken: list[Landed] = []
    for item in landed(home):
        try:
            if isinstance(landing, S3Location) and isinstance(archive, S3Location):
                entry = _archive_object(item, landing, archive)
            elif isinstance(landing, S3Location):
                entry = _download_object(item, landing, archive)
            else:
                assert isinstance(archive, S3Location)
                entry = _archive_file(item, archive)
        except FileChangedError:
            continue  # replaced while being read: the next run takes the new version
        crash_point("ingest:after_archive")
        latest = _latest_delivery(warehouse, entry.path)
        if latest is None:
            record_delivery(warehouse, entry, RECEIVED, run_id, received_at=item.modified)
        elif item.modified > latest:  # uploaded again after its first delivery
            record_delivery(
                warehouse,
                entry,
                DUPLICATE,
                run_id,
                received_at=item.modified,
                detail="same name and bytes",
            )
            outcomes.append(FileOutcome(entry.original_name, DUPLICATE, entry.sha256))
        # else: recorded by a run that stopped before removing it from landing
        taken.append(item)
    return outcomes, taken


def reconcile(home: Home, warehouse: Warehouse, target: str, run_id: str | None) -> None:
    """Record archive objects this warehouse has never seen (a run killed between the copy and
    the record, or a new target); entries with an open dead letter wait for `dlq replay`."""
    archive = object_store.archive_location(home)
    known = {row[0] for row in warehouse.query("select archive_path from ops.file_manifest")}
    parked = {
        (letter.sha256, letter.original_name) for letter in dead_letters.open_letters(home, target)
    }
    if not isinstance(archive, S3Location):  # a folder archive fed from a bucket landing
        for found in archive_entries(archive):
            original = key_of_local_entry(found.original_name)
            if str(found.path) in known or (found.sha256, original) in parked:
                continue
            entry = ObjectEntry(str(found.path), found.sha256, original, found.bytes)
            received = datetime.fromtimestamp(found.received_at, UTC)
            record_delivery(warehouse, entry, RECEIVED, run_id, received_at=received)
        return
    for obj in object_store.list_objects(archive):
        parts = obj.key[len(archive.list_prefix) :].split("/", 2)
        if len(parts) < 3 or len(parts[1]) != 64 or not parts[1].startswith(parts[0]):
            continue
        sha, original = parts[1], parts[2]
        url = archive.url(obj.key)
        if url in known or (sha, original) in parked:
            continue
        entry = ObjectEntry(url, sha, original, obj.size)
        record_delivery(warehouse, entry, RECEIVED, run_id, received_at=obj.last_modified)


def remove_from_landing(home: Home, taken: list[Landed]) -> None:
    """Remove what was taken in, only the version archived (a newer upload stays)."""
    landing = object_store.landing_location(home)
    for item in taken:
        if item.path is not None:
            try:
                if datetime.fromtimestamp(item.path.stat().st_mtime, UTC) == item.modified:
                    item.path.unlink()
            except FileNotFoundError:
                pass
            continue
        assert isinstance(landing, S3Location) and item.obj is not None
        object_store.delete_if_unchanged(landing.bucket, item.obj.key, item.obj.etag)


def requeue_to_landing(home: Home) -> None:
    """Letters being replayed whose file must be delivered again go back to the landing: bytes
    the operator fixed in dlq/, or a file parked before it was ever recorded (a run that failed
    for good while taking it in). The landing is a bucket (the file returns to its key) or a
    folder; dead_letters.requeue_replaying handles the rest (an unchanged, recorded file)."""
    landing = object_store.landing_location(home)
    for letter in dead_letters.all_letters(home):
        if (
            letter.status != dead_letters.REPLAYING
            or letter.requeued_at
            or letter.stage not in ("ingest", "load")
        ):
            continue
        parked = Path(letter.dlq_path)
        if not parked.exists():
            continue
        if letter.delivery_id and sha256_of(parked)[0] == letter.sha256:
            continue
        if isinstance(landing, S3Location):
            key = letter.original_name
            if not key.startswith(landing.list_prefix):
                key = landing.key(key)
            object_store.put_bytes(landing.bucket, key, parked.read_bytes())
        else:
            landing.mkdir(parents=True, exist_ok=True)
            partial = landing / f".{letter.dead_letter_id}.partial"
            shutil.copyfile(parked, partial)
            os.replace(partial, landing / Path(letter.original_name).name)
        letter.requeued_at = dead_letters.now_iso()
        dead_letters.set_status(letter, dead_letters.REPLAYING)


def ingest_objects(
    home: Home,
    warehouse: Warehouse,
    run_id: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    prepare(home, warehouse, raw_tables=False)
    requeue_to_landing(home)
    dead_letters.requeue_replaying(home, warehouse)
    taken_outcomes, taken = take_in(home, warehouse, run_id)
    reconcile(home, warehouse, warehouse.target, run_id)
    report = load_pending(home, warehouse, run_id, on_progress)
    ensure_raw_tables(home, warehouse)
    crash_point("ingest:before_landing_removal")
    remove_from_landing(home, taken)
    report.outcomes = taken_outcomes + report.outcomes
    dead_letters.sync_table(home, warehouse)
    return report
