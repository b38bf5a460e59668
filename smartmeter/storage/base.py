"""What the pipeline needs of a place (the landing, the raw archive, the Parquet archive), as one
interface with a folder and a bucket implementation (folder.py, s3.py).

Keys are '/'-separated and relative to the store's root. A `version` names one state of an
entry (a file's size and modification time, an object's ETag): reading or deleting with it
fails, or does nothing, once the entry was replaced, so a newer delivery under the same name is
never mixed up with the one taken in.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# Files still being written: the watcher convention is to write under one of these names and
# rename when complete.
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", "~")
CHUNK = 8 << 20


class StoreError(Exception):
    """The store could not be reached or refused a request, after every retry. `outage`: it
    could not be reached or answered 5xx/throttling (worth waiting out), not a refusal."""

    def __init__(self, message: str, outage: bool = False):
        super().__init__(message)
        self.outage = outage


class ConfigurationError(ValueError):
    """A location setting that cannot work (a bad URL, or an unsupported combination)."""


class FileChangedError(OSError):
    """The entry changed or went away while it was being read (still being written)."""


class ArchiveCorrupted(Exception):
    """An archive entry no longer matches its checksum (someone changed it)."""


@dataclass(frozen=True)
class Entry:
    key: str
    size: int
    version: str
    modified: datetime  # UTC

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Stored:
    """An entry written once: where it is (a path or an s3:// URL), its checksum and size."""

    url: str
    sha256: str
    bytes: int


def is_complete_name(key: str) -> bool:
    """Keys a sender is still writing, hidden names and folder markers are not files."""
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith(".") and not name.lower().endswith(TEMPORARY_SUFFIXES)


def hash_chunks(chunks: Iterator[bytes], sink: Callable[[bytes], object] | None = None):
    """(sha256, size) of a stream, handing each chunk to `sink` on the way (one read)."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        if sink is not None:
            sink(chunk)
    return digest.hexdigest(), size


def parquet_scan_sql(pattern: str) -> str:
    """DuckDB's read_parquet over a glob (a path or an s3:// URL), quoted as a literal."""
    quoted = pattern.replace("'", "''")
    return f"read_parquet('{quoted}', hive_partitioning = true, union_by_name = true)"


class Store(ABC):
    """One place. Implementations say how each operation is made safe there."""

    url: str
    # Whether files whose ingest failed for good are moved to dlq/ (a folder); a bucket keeps
    # them, since its notifications are delivered again and the next run takes them.
    parks_failed_deliveries: bool = True
    # Whether the store is a local folder (file-system events can tell when files arrive).
    has_folder: bool = True

    # -- reading ----------------------------------------------------------------------------

    @abstractmethod
    def list(self, prefix: str = "") -> list[Entry]:
        """Every complete entry under `prefix` (writes in progress are never listed)."""

    @abstractmethod
    def chunks(self, key: str, version: str | None = None) -> Iterator[bytes]:
        """The entry's bytes, streamed; with `version`, FileChangedError if it was replaced."""

    @abstractmethod
    def get(self, key: str) -> bytes | None:
        """The whole entry, or None when there is none."""

    def landed(self) -> list[Entry]:
        """Complete files waiting here, oldest first (hidden and temporary names skipped)."""
        found = [e for e in self.list() if is_complete_name(e.key)]
        return sorted(found, key=lambda e: (e.modified, e.key))

    @abstractmethod
    def local_path(self, key: str) -> Path:
        """The entry as a local file (folders only: a bucket raises StoreError)."""

    # -- names ------------------------------------------------------------------------------

    @abstractmethod
    def lineage_name(self, key: str) -> str:
        """What names a landed entry in lineage (`_source_file`, the manifest)."""

    @abstractmethod
    def key_of_name(self, original_name: str) -> str:
        """The key a file named so in lineage goes back to (a replayed dead letter)."""

    @abstractmethod
    def entry_name(self, name: str) -> str:
        """How a lineage name is kept as the last part of an archive key here."""

    @abstractmethod
    def name_of_entry(self, name: str) -> str:
        """The lineage name back from the last part of an archive key."""

    # -- writing ----------------------------------------------------------------------------

    @abstractmethod
    def write_once(self, source: Store, entry: Entry, key_for: Callable[[str], str]) -> Stored:
        """Copy `entry` of `source` here under `key_for(sha256)`, reading it once to hash it.
        Never overwrites: an existing entry is checked (ArchiveCorrupted if it differs)."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write (or replace) a small entry whole."""

    def remove_partials(self) -> None:  # noqa: B027 (nothing to do where writes are atomic)
        """Drop what a killed write left under a temporary name."""

    @abstractmethod
    def delete_if_unchanged(self, key: str, version: str) -> bool:
        """Delete the entry only while it is still `version`; whether it was deleted."""

    # -- partition sets (the Parquet archive) -----------------------------------------------

    @abstractmethod
    def staging(self, label: str) -> Path:
        """A local folder where a writer stages partitions before `publish`."""

    @abstractmethod
    def publish(self, staged: Path, partition: str) -> None:
        """Replace `partition` by the files staged in `staged` (no files: remove it). The staged
        folder is gone afterwards."""

    @abstractmethod
    def partitions(self) -> set[str]:
        """The top-level partitions present (hidden names and loose files left out)."""

    @abstractmethod
    def remove_partition(self, partition: str) -> None: ...

    def settle(self) -> None:  # noqa: B027 (a hook: stores with background work wait for it)
        """Wait for work `publish` left running in the background."""

    @abstractmethod
    def child(self, prefix: str) -> Store:
        """The store rooted at `prefix` below this one."""

    # -- archive entries named by their URL -------------------------------------------------

    @abstractmethod
    def url_of(self, key: str) -> str: ...

    @abstractmethod
    def duckdb_parquet_scan(self, con: Any) -> str:
        """A DuckDB `read_parquet(...)` over every Parquet file below this store, with hive
        partitions, for the analytics that read the archive; "" when there is none yet."""

    def __str__(self) -> str:
        return self.url
