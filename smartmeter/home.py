"""The data home: the folders a pipeline works on, and the lock that keeps runs from overlapping.

<home>/landing/          incoming files (write to a temporary name, then rename)
<home>/raw/              the immutable archive, raw/<sha[:2]>/<sha>/<original name>
<home>/dlq/              dead letters: the file plus a JSON sidecar saying why
<home>/parquet/          the Parquet archive of validated readings
<home>/warehouse.duckdb  the embedded warehouse (target duckdb)
<home>/outbox/           alerts and dead-letter records not yet written to the warehouse
<home>/reports/          HTML reports
<home>/.state/           dlt pipeline folders, the lock file, logs
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from smartmeter.settings import Settings, home_root


def _folder(url: str, default: Path) -> Path:
    if not url or url.startswith("s3://"):
        return default
    return Path(url).expanduser().resolve()


class HomeError(Exception):
    """The data home cannot be used (read-only, full disk, not creatable)."""


class LockedError(HomeError):
    """Another run holds the data home's lock."""


@dataclass(frozen=True)
class Home:
    """The data home and the run's settings (resolved once: smartmeter.settings)."""

    root: Path
    settings: Settings = field(default_factory=Settings, compare=False)

    @classmethod
    def resolve(cls, path: str | os.PathLike[str] | None, settings: Settings | None = None) -> Home:
        """--home, else $SMARTMETER_HOME, else ./data; settings from the environment unless
        given."""
        return cls(home_root(path), settings or Settings.resolve())

    # The landing, archive and Parquet settings may move these to another folder (or to a
    # bucket: see smartmeter.storage; the folder properties then stay the home's).
    landing = property(lambda self: _folder(self.settings.landing_url, self.root / "landing"))
    archive = property(lambda self: _folder(self.settings.archive_url, self.root / "raw"))
    dlq = property(lambda self: self.root / "dlq")
    parquet = property(lambda self: _folder(self.settings.parquet_url, self.root / "parquet"))
    outbox = property(lambda self: self.root / "outbox")
    reports = property(lambda self: self.root / "reports")
    state = property(lambda self: self.root / ".state")
    warehouse = property(lambda self: self.root / "warehouse.duckdb")

    # The target a home was made for: written at `init` or its first run, so that a home built
    # on PostgreSQL is not read later as an empty DuckDB warehouse.
    target_file = property(lambda self: self.state / "target")

    def remembered_target(self) -> str | None:
        try:
            return self.target_file.read_text().strip() or None
        except OSError:
            return None

    def remember_target(self, target: str) -> None:
        self.state.mkdir(parents=True, exist_ok=True)
        self.target_file.write_text(target + "\n")

    def pipelines_dir(self, target: str) -> Path:
        return self.state / "dlt" / target

    def create(self) -> Home:
        folders = (self.landing, self.archive, self.dlq, self.parquet, self.outbox, self.state)
        try:
            for folder in folders:
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unusable(exc) from exc
        self.check_writable()
        return self

    def _unusable(self, exc: OSError) -> HomeError:
        reason = {
            errno.EROFS: "is on a read-only file system",
            errno.EACCES: "is not writable by this user",
            errno.ENOSPC: "is on a full disk",
            errno.EDQUOT: "is over its disk quota",
        }.get(exc.errno, f"cannot be written ({exc.strerror})")
        return HomeError(f"the data home {self.root} {reason}; nothing was changed")

    def check_writable(self) -> None:
        """Fail early, before touching anything, when the home is read-only or full."""
        probe = self.state / f".write-probe-{os.getpid()}"
        try:
            with probe.open("wb") as fh:
                fh.write(b"\0" * 65536)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise self._unusable(exc) from exc
        finally:
            with suppress(OSError):
                probe.unlink(missing_ok=True)

    @contextmanager
    def lock(self, wait: bool = False, poll_seconds: float = 0.5) -> Iterator[None]:
        """One run per data home at a time (also across `run`, `watch` and `ingest`).

        The lock is an advisory flock: the kernel drops it when the process dies, so a killed
        run never leaves a stale lock behind."""
        self.state.mkdir(parents=True, exist_ok=True)
        path = self.state / "run.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not wait:
                        holder = _read_holder(path)
                        raise LockedError(
                            f"another smartmeter run is using {self.root}{holder}; "
                            "wait for it to finish (or pass --wait)"
                        ) from None
                    time.sleep(poll_seconds)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.close(fd)

    def is_locked(self) -> bool:
        """Whether a run holds the data home's lock now (a run row still `running` without it
        belongs to a process that ended without finishing)."""
        path = self.state / "run.lock"
        if not path.exists():
            return False
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False


def _read_holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid else ""
