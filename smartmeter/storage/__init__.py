"""Where the landing, the raw archive and the Parquet archive live: a folder or a bucket, chosen
once from the URL (`s3://bucket/prefix` or a local path). Callers see one interface
(base.Store); what differs between a folder and a bucket is said in folder.py and s3.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from smartmeter.storage.base import (
    ArchiveCorrupted,
    ConfigurationError,
    Entry,
    FileChangedError,
    Store,
    Stored,
    StoreError,
    is_complete_name,
)
from smartmeter.storage.folder import FolderStore
from smartmeter.storage.s3 import S3Location, S3Store

__all__ = [
    "ArchiveCorrupted",
    "ConfigurationError",
    "Entry",
    "FileChangedError",
    "FolderStore",
    "Places",
    "S3Location",
    "S3Store",
    "Store",
    "StoreError",
    "Stored",
    "is_complete_name",
    "open_store",
    "parse_location",
]


def parse_location(value: str | Path) -> S3Location | Path:
    text = str(value)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        if not bucket:
            raise ConfigurationError(f"{text!r} names no bucket (expected s3://bucket/prefix)")
        return S3Location(bucket, prefix.strip("/"))
    if "://" in text:
        raise ConfigurationError(f"{text!r}: only s3://bucket/prefix or a local path is supported")
    return Path(text).expanduser().resolve()


def open_store(value: str | Path, scratch: Path | None = None, timeout: float = 30.0) -> Store:
    """The store at a URL or path; `scratch` is a local folder a bucket stages partitions in,
    `timeout` a bucket's read timeout per request."""
    location = parse_location(value)
    if isinstance(location, S3Location):
        return S3Store(location, scratch, timeout)
    return FolderStore(location)


@dataclass(frozen=True)
class Places:
    """The three places a data home works with."""

    landing: Store
    archive: Store
    parquet: Store

    @classmethod
    def of(
        cls,
        landing: str | Path,
        archive: str | Path,
        parquet: str | Path,
        scratch: Path,
        timeout: float = 30.0,
    ) -> Places:
        places = cls(
            open_store(landing, timeout=timeout),
            open_store(archive, timeout=timeout),
            open_store(parquet, scratch, timeout),
        )
        places.check()
        return places

    def check(self) -> None:
        landing, archive = self.landing, self.archive
        if isinstance(landing, S3Store) and isinstance(archive, S3Store):
            a, b = landing.location, archive.location
            if a.bucket == b.bucket and (not a.prefix or b.list_prefix.startswith(a.list_prefix)):
                raise ConfigurationError(
                    f"the archive ({archive}) must not lie under the landing prefix ({landing})"
                )

    @property
    def readings(self) -> Store:
        """The Parquet archive's partitions (`<parquet>/readings/`)."""
        return self.parquet.child("readings")


def store_of(url: str, timeout: float = 30.0) -> tuple[Store, str]:
    """The store holding an entry named by its path or URL, and its key there."""
    location = parse_location(url)
    if isinstance(location, S3Location):
        return S3Store(S3Location(location.bucket, ""), timeout=timeout), location.prefix
    return FolderStore(location.parent), location.name


def read_entry(url: str, timeout: float = 30.0) -> bytes:
    store, key = store_of(url, timeout)
    data = store.get(key)
    if data is None:
        raise StoreError(f"archive entry {url} is missing")
    return data


@contextmanager
def local_copy(url: str, scratch: Path, timeout: float = 30.0) -> Iterator[Path]:
    """A local file with an entry's bytes: the file itself, or a streamed download into
    `scratch` removed afterwards."""
    store, key = store_of(url, timeout)
    if isinstance(store, FolderStore):
        yield store.local_path(key)
        return
    scratch.mkdir(parents=True, exist_ok=True)
    target = FolderStore(scratch)
    import uuid

    name = f".download-{uuid.uuid4().hex}.partial"
    try:
        with (scratch / name).open("wb") as fh:
            for chunk in store.chunks(key):
                fh.write(chunk)
        yield target.local_path(name)
    finally:
        (scratch / name).unlink(missing_ok=True)
