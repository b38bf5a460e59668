"""The immutable archive: every delivered file kept byte for byte under raw/.

An entry is `raw/<sha256[:2]>/<sha256>/<original name>`: content-addressed, so the same bytes
are stored once per name, and the original name survives for lineage. Entries are written to a
temporary name, fsynced, renamed into place and made read-only: a crash never leaves a
half-written entry under its final name.
"""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
CHUNK = 8 << 20


class ArchiveCorrupted(Exception):
    """An archive entry no longer matches its checksum (someone changed it)."""


class FileChangedError(OSError):
    """The landing file changed while it was being archived (still being written)."""


@dataclass(frozen=True)
class ArchiveEntry:
    path: Path
    sha256: str
    original_name: str
    bytes: int

    @property
    def received_at(self) -> float:
        return self.path.stat().st_mtime


def sha256_of(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def entry_path(archive_dir: Path, sha256: str, original_name: str) -> Path:
    return archive_dir / sha256[:2] / sha256 / original_name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archive_file(source: Path, archive_dir: Path) -> ArchiveEntry:
    """Copy `source` into the archive (idempotent) and return its entry. Never overwrites.

    The copy and the checksum come from one read of the source."""
    before = source.stat()
    archive_dir.mkdir(parents=True, exist_ok=True)
    partial = archive_dir / f".incoming-{uuid.uuid4().hex}.partial"
    digest, size = hashlib.sha256(), 0
    try:
        with source.open("rb") as src, partial.open("wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        after = source.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise FileChangedError(f"{source.name} changed while being archived")
        sha = digest.hexdigest()
        target = entry_path(archive_dir, sha, source.name)
        if target.exists():
            if target.stat().st_size != size:
                raise ArchiveCorrupted(f"archive entry {target} does not match {source.name}")
            return ArchiveEntry(target, sha, source.name, size)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(partial, READ_ONLY)
        os.replace(partial, target)
        _fsync_dir(target.parent)
        return ArchiveEntry(target, sha, source.name, size)
    finally:
        partial.unlink(missing_ok=True)


def remove_partials(archive_dir: Path) -> None:
    """Drop copies a crashed run left half-written (they never reached their final name)."""
    for partial in archive_dir.glob(".incoming-*.partial"):
        partial.unlink(missing_ok=True)


def verify(path: Path, sha256: str) -> None:
    actual, _ = sha256_of(path)
    if actual != sha256:
        raise ArchiveCorrupted(f"archive entry {path} has sha256 {actual}, expected {sha256}")


def entries(archive_dir: Path) -> list[ArchiveEntry]:
    """Every complete entry in the archive, oldest first (partial copies are ignored)."""
    found = []
    if not archive_dir.exists():
        return found
    for sha_dir in archive_dir.glob("??/*"):
        for path in sha_dir.iterdir():
            found.append(ArchiveEntry(path, sha_dir.name, path.name, path.stat().st_size))
    return sorted(found, key=lambda e: (e.received_at, e.path.name))
