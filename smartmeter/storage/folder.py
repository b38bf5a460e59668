"""A store in a local folder.

Safety comes from the file system: an entry is written to a hidden temporary name, fsynced and
renamed into place (a rename is atomic), so no reader ever sees half of it; a partition is
published by renaming the staged folder over it, so a reader sees the old partition or the new
one, never a mix. Replaced partitions are deleted on a background thread (unlinking thousands
of files is mostly system time) while the writer goes on; `settle` waits for them.
"""

from __future__ import annotations

import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartmeter.storage.base import (
    CHUNK,
    ArchiveCorrupted,
    Entry,
    FileChangedError,
    Store,
    Stored,
    hash_chunks,
    is_complete_name,
    parquet_scan_sql,
)

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def _version(info: os.stat_result) -> str:
    return f"{info.st_size}:{info.st_mtime_ns}"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def flat_name(key: str) -> str:
    """An object key as one file name (its folders flattened, reversibly)."""
    return key.replace("%", "%25").replace("/", "%2F")


def unflat_name(name: str) -> str:
    return name.replace("%2F", "/").replace("%25", "%")


class FolderStore(Store):
    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)
        self._deleter: ThreadPoolExecutor | None = None

    def _path(self, key: str) -> Path:
        return self.root / key if key else self.root

    def _entry(self, path: Path) -> Entry:
        info = path.stat()
        key = path.relative_to(self.root).as_posix()
        return Entry(key, info.st_size, _version(info), datetime.fromtimestamp(info.st_mtime, UTC))

    def list(self, prefix: str = "") -> list[Entry]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        found = []
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if not d.startswith(".")]  # staging, old partitions
            for name in files:
                if not name.startswith("."):
                    try:
                        found.append(self._entry(Path(folder) / name))
                    except FileNotFoundError:
                        continue  # removed while listing
        return found

    def landed(self) -> list[Entry]:
        """Files directly in the folder (a sender's subfolders are not deliveries)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.iterdir():
            if is_complete_name(path.name) and path.is_file():
                found.append(self._entry(path))
        return sorted(found, key=lambda e: (e.modified, e.key))

    def chunks(self, key: str, version: str | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            before = path.stat()
            if version is not None and _version(before) != version:
                raise FileChangedError(f"{key} changed since it was listed")
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
            if _version(path.stat()) != _version(before):
                raise FileChangedError(f"{key} changed while being read")
        except FileNotFoundError as exc:
            raise FileChangedError(f"{key} went away while being read") from exc

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def write_once(self, source: Store, entry: Entry, key_for: Callable[[str], str]) -> Stored:
        """Streamed to a hidden temporary name while hashed, fsynced, then renamed into place
        read-only; an existing entry is never replaced."""
        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.root / f".incoming-{uuid.uuid4().hex}.partial"
        try:
            with partial.open("wb") as fh:
                sha, size = hash_chunks(source.chunks(entry.key, entry.version), fh.write)
                fh.flush()
                os.fsync(fh.fileno())
            target = self._path(key_for(sha))
            if target.exists():
                if target.stat().st_size != size:
                    raise ArchiveCorrupted(f"archive entry {target} does not match {entry.key}")
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(partial, READ_ONLY)
                os.replace(partial, target)
                fsync_dir(target.parent)
            return Stored(str(target), sha, size)
        finally:
            partial.unlink(missing_ok=True)

    def entry_name(self, key: str) -> str:
        """How a landed key is named inside this archive: one file name."""
        return flat_name(key)

    def name_of_entry(self, name: str) -> str:
        return unflat_name(name)

    def lineage_name(self, key: str) -> str:
        return key

    def key_of_name(self, original_name: str) -> str:
        return Path(original_name).name

    def remove_partials(self) -> None:
        """Drop copies a crashed run left half-written (they never reached their final name)."""
        for partial in self.root.glob(".incoming-*.partial"):
            partial.unlink(missing_ok=True)

    def put(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)

    def delete_if_unchanged(self, key: str, version: str) -> bool:
        path = self._path(key)
        try:
            if _version(path.stat()) != version:
                return False  # replaced meanwhile: the newer file waits for the next run
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    # -- partition sets ---------------------------------------------------------------------

    def staging(self, label: str) -> Path:
        """Inside the store's own folder, so publishing is a rename. Replaced partitions a
        killed publish left behind are cleared."""
        self.root.mkdir(parents=True, exist_ok=True)
        for leftover in self.root.glob(".old-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        return self.root / f".{label}"

    def publish(self, staged: Path, partition: str) -> None:
        final = self.root / partition
        old = self.root / f".old-{partition}"
        if old.exists():  # published earlier in this export: its deletion must be done
            self.settle()
            shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        if staged.is_dir() and any(staged.iterdir()):
            staged.rename(final)
        else:
            shutil.rmtree(staged, ignore_errors=True)
        if old.exists():
            if self._deleter is None:
                self._deleter = ThreadPoolExecutor(max_workers=1)
            self._deleter.submit(shutil.rmtree, old, ignore_errors=True)

    def settle(self) -> None:
        if self._deleter is not None:
            self._deleter.shutdown(wait=True)
            self._deleter = None

    def partitions(self) -> set[str]:
        if not self.root.is_dir():
            return set()
        return {p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def remove_partition(self, partition: str) -> None:
        shutil.rmtree(self.root / partition)

    def child(self, prefix: str) -> FolderStore:
        return FolderStore(self._path(prefix))

    def url_of(self, key: str) -> str:
        return str(self._path(key))

    def duckdb_parquet_scan(self, con: Any) -> str:
        if not self.root.is_dir() or not any(self.root.rglob("*.parquet")):
            return ""
        return parquet_scan_sql(str(self.root / "**" / "*.parquet"))
