"""Dead letters: work that failed for good, parked with everything needed to replay it.

The dlq/ folder is the source of truth: each dead letter is `dlq/<id>.json` (the record) and,
when it concerns a file, `dlq/<id>__<original name>` (a copy of the bytes). The table
ops.dead_letters mirrors the sidecars whenever the warehouse is reachable, so a dead letter is
never lost because the warehouse was the thing that failed. A replayed letter moves to
dlq/replayed/; a discarded one (`dlq discard`, a file that can never load) to dlq/discarded/,
with the reason (the raw archive's copy is never touched).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from smartmeter.home import Home
from smartmeter.replay_cause import cause_fingerprint
from smartmeter.storage import Store
from smartmeter.warehouse import Warehouse

OPEN, REPLAYING, REPLAYED, DISCARDED = "open", "replaying", "replayed", "discarded"
DONE_FOLDERS = {REPLAYED: "replayed", DISCARDED: "discarded"}


@dataclass
class DeadLetter:
    dead_letter_id: str
    original_name: str
    sha256: str | None
    delivery_id: str | None
    stage: str  # ingest | load | dbt | export
    error_class: str  # permanent | transient
    reason: str
    message: str
    attempts: int
    first_attempt_at: str
    last_attempt_at: str
    dlq_path: str
    status: str = OPEN
    replayed_at: str | None = None
    run_id: str | None = None
    target: str | None = None
    requeued_at: str | None = None
    cause_fingerprint: str | None = None  # smartmeter.replay_cause when parked
    discarded_at: str | None = None
    discard_reason: str | None = None

    @property
    def sidecar(self) -> Path:
        return Path(self.dlq_path).parent / f"{self.dead_letter_id}.json"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_json_atomically(path: Path, payload: dict) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)


def _new_id(home: Home, sha256: str | None, stage: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    base = f"dl-{stamp}-{(sha256 or stage)[:8]}"
    candidate, n = base, 2
    while (home.dlq / f"{candidate}.json").exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def park(
    home: Home,
    *,
    source: Path | None,
    original_name: str,
    sha256: str | None,
    delivery_id: str | None,
    stage: str,
    error_class: str,
    reason: str,
    message: str,
    attempts: int,
    first_attempt_at: str | None = None,
    run_id: str | None = None,
    target: str | None = None,
) -> DeadLetter:
    """Put a dead letter in dlq/: the file's bytes (when there is a file) and the sidecar."""
    home.dlq.mkdir(parents=True, exist_ok=True)
    letter_id = _new_id(home, sha256, stage)
    # An object key's folders stay in the name (flattened): dlq/ has no subfolders.
    flat_name = original_name.replace("/", "%2F")
    dlq_file = home.dlq / (f"{letter_id}__{flat_name}" if source else f"{letter_id}.none")
    if source is not None:
        partial = home.dlq / f".{letter_id}.partial"
        shutil.copyfile(source, partial)
        os.chmod(partial, 0o644)  # the operator may fix it in place before replaying
        os.replace(partial, dlq_file)
    at = now_iso()
    letter = DeadLetter(
        dead_letter_id=letter_id,
        original_name=original_name,
        sha256=sha256,
        delivery_id=delivery_id,
        stage=stage,
        error_class=error_class,
        reason=reason,
        message=message,
        attempts=attempts,
        first_attempt_at=first_attempt_at or at,
        last_attempt_at=at,
        dlq_path=str(dlq_file),
        run_id=run_id,
        target=target,
        cause_fingerprint=cause_fingerprint(home),
    )
    _write_json_atomically(letter.sidecar, asdict(letter))
    return letter


def read(path: Path) -> DeadLetter:
    return DeadLetter(**json.loads(path.read_text(encoding="utf-8")))


def all_letters(home: Home) -> list[DeadLetter]:
    """Open letters first, then replayed and discarded ones, each oldest first."""
    found = [read(p) for p in sorted(home.dlq.glob("dl-*.json"))]
    for folder in DONE_FOLDERS.values():
        found += [read(p) for p in sorted((home.dlq / folder).glob("dl-*.json"))]
    return found


def open_letters(home: Home, target: str | None = None) -> list[DeadLetter]:
    """Letters waiting for `dlq replay` (for `target`, when given)."""
    return [
        letter
        for letter in all_letters(home)
        if letter.status == OPEN and (target is None or letter.target in (None, target))
    ]


def find(home: Home, dead_letter_id: str) -> DeadLetter | None:
    return next((lt for lt in all_letters(home) if lt.dead_letter_id == dead_letter_id), None)


def set_status(letter: DeadLetter, status: str) -> DeadLetter:
    letter.status = status
    if status == OPEN:
        letter.requeued_at = None
    _write_json_atomically(letter.sidecar, asdict(letter))
    return letter


def requeue_replaying(home: Home, warehouse: Warehouse, landing: Store) -> list[str]:
    """Put the work of letters being replayed back in line (called by ingest, which then
    loads it): a file whose bytes the operator fixed in dlq/, or one parked before its delivery
    was recorded, goes back to the landing (a bucket's file to its key) and is delivered again;
    an unchanged file's delivery goes back to `received` (after a fix such as a new layout or
    the warehouse being back)."""
    requeued = []
    for letter in all_letters(home):
        if (
            letter.status != REPLAYING
            or letter.requeued_at
            or letter.stage not in ("ingest", "load")
        ):
            continue
        parked = Path(letter.dlq_path)
        if not parked.exists():
            continue
        data = parked.read_bytes()
        if hashlib.sha256(data).hexdigest() != letter.sha256 or not letter.delivery_id:
            landing.put(landing.key_of_name(letter.original_name), data)
        else:
            warehouse.execute(
                "update ops.file_manifest set status = 'received', detail = %s "
                "where delivery_id = %s and status = 'dead_lettered'",
                (f"replayed from {letter.dead_letter_id}", letter.delivery_id),
            )
        letter.requeued_at = now_iso()
        set_status(letter, REPLAYING)
        requeued.append(letter.dead_letter_id)
    return requeued


def cause_unchanged(home: Home, letter: DeadLetter) -> bool:
    """A file refused for what it holds, with the same bytes in dlq/ and the same layouts,
    settings and code as when it was parked: a replay would only fail again."""
    parked = Path(letter.dlq_path)
    if letter.error_class != "permanent" or not letter.cause_fingerprint or not parked.exists():
        return False
    same_bytes = hashlib.sha256(parked.read_bytes()).hexdigest() == letter.sha256
    return same_bytes and letter.cause_fingerprint == cause_fingerprint(home)


def mark_replayed(home: Home, letter: DeadLetter) -> DeadLetter:
    """Move a letter (sidecar and file) to dlq/replayed/ with its new status."""
    letter.replayed_at = now_iso()
    return _retire(home, letter, REPLAYED)


def discard(home: Home, letter: DeadLetter, reason: str) -> DeadLetter:
    """Retire a letter for good (dlq/discarded/, the reason kept); the raw archive keeps its
    copy of the file."""
    letter.discarded_at, letter.discard_reason = now_iso(), reason
    return _retire(home, letter, DISCARDED)


def _retire(home: Home, letter: DeadLetter, status: str) -> DeadLetter:
    done = home.dlq / DONE_FOLDERS[status]
    done.mkdir(parents=True, exist_ok=True)
    letter.status = status
    old_sidecar, old_file = letter.sidecar, Path(letter.dlq_path)
    if old_file.exists():
        os.replace(old_file, done / old_file.name)
    letter.dlq_path = str(done / old_file.name)
    _write_json_atomically(letter.sidecar, asdict(letter))
    old_sidecar.unlink(missing_ok=True)
    return letter


def sync_table(home: Home, warehouse: Warehouse) -> None:
    """Mirror every sidecar into ops.dead_letters (insert new ones, update changed ones)."""
    columns = [
        "dead_letter_id",
        "original_name",
        "sha256",
        "delivery_id",
        "stage",
        "error_class",
        "reason",
        "message",
        "attempts",
        "first_attempt_at",
        "last_attempt_at",
        "dlq_path",
        "status",
        "replayed_at",
        "run_id",
    ]
    placeholders = ", ".join(["%s"] * len(columns))
    with warehouse.transaction():
        for letter in all_letters(home):
            row = asdict(letter)
            if letter.discard_reason:  # the table's audit trail keeps why it was discarded
                row["message"] = f"{letter.message} | discarded: {letter.discard_reason}"
            warehouse.execute(
                "delete from ops.dead_letters where dead_letter_id = %s", (letter.dead_letter_id,)
            )
            warehouse.execute(
                f"insert into ops.dead_letters ({', '.join(columns)}) values ({placeholders})",
                [row[c] for c in columns],
            )
