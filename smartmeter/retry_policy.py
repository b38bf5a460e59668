"""How a run's steps are retried: what is transient, what is an outage, and how long to wait.

Three kinds of failure, three answers:
- An **outage** (the warehouse or the object store unreachable, refusing connections, shutting
  down or starting up, a failover, a DuckDB file locked by another process, HTTP 5xx) is nobody's
  data: the step is tried again with exponential backoff and jitter until the outage window
  (`--outage-window`, default 5 minutes) has passed. That may take more than 3 attempts, because
  an attempt that cannot reach the store tells nothing about the files; a database restart or a
  failover takes minutes, and waiting them out needs no person. When the window is spent the
  run fails and raises one alert; the files stay pending for the next run.
- Any other **transient** failure (an I/O error, a killed dbt) is tried up to 3 attempts in all.
- Everything else fails at once: a file's own problem, a failing quality gate, a bad setting.
"""

from __future__ import annotations

import errno
import re
import time
from collections.abc import Callable

import duckdb
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from smartmeter.home import HomeError
from smartmeter.storage import StoreError
from smartmeter.targets import WarehouseUnavailable

ATTEMPTS = 3
PERMANENT_OS_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EPERM}
# What a database client or dbt prints when the store, not the data, is the problem.
UNREACHABLE = re.compile(
    r"could not connect|connection refused|server closed the connection|terminating connection"
    r"|connection (?:is|already) closed|connection reset|could not receive data|timeout expired"
    r"|could not set lock|conflicting lock|database is locked|no such file or directory.*socket"
    r"|the database system is (?:shutting down|starting up|in recovery mode|not yet accepting)"
    r"|too many (?:clients|connections)|cannot execute .* in a read-only transaction"
    r"|could not establish connection|service unavailable|slow ?down",
    re.IGNORECASE,
)
MAX_BACKOFF_SECONDS = 30.0


class StepFailed(Exception):
    """A step failed; `transient` says whether trying again may help, `outage` whether the
    store (not the data) was the cause."""

    def __init__(self, message: str, transient: bool, outage: bool = False):
        super().__init__(message)
        self.transient = transient or outage
        self.outage = outage


class StopRequested(Exception):
    """SIGINT/SIGTERM arrived: the run stops between steps (or during a backoff)."""


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_outage(exc: BaseException) -> bool:
    """The warehouse or the object store could not be reached (anywhere in the cause chain)."""
    for link in _chain(exc):
        if isinstance(link, StepFailed):
            return link.outage
        if isinstance(link, WarehouseUnavailable):
            return True
        if isinstance(link, StoreError):
            return link.outage
        if isinstance(link, HomeError):
            return False
        if isinstance(link, duckdb.HTTPException) and (getattr(link, "status_code", 0) or 0) >= 500:
            return True  # httpfs writing to a bucket that answers 5xx
        name = type(link).__name__
        if name in ("OperationalError", "InterfaceError", "IOException", "HTTPException") and (
            UNREACHABLE.search(str(link))
        ):
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """Worth trying again: an outage, or a passing failure of the machine."""
    if is_outage(exc):
        return True
    for link in _chain(exc):
        if isinstance(link, StepFailed):
            return link.transient
        if isinstance(link, duckdb.IOException):
            return True
        if isinstance(link, HomeError | StoreError):
            return False
        if isinstance(link, OSError):
            return link.errno not in PERMANENT_OS_ERRORS
        if "OperationalError" in type(link).__name__:
            return True
    return False


def retrying(
    base_seconds: float,
    outage_window_seconds: float,
    on_retry: Callable[[RetryCallState], None],
    should_stop: Callable[[], bool],
) -> Retrying:
    """Up to 3 attempts for a transient failure; an outage is waited out for the window."""

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None and is_outage(exc):
            spent = state.seconds_since_start or 0.0
            return state.attempt_number >= ATTEMPTS and spent >= outage_window_seconds
        return state.attempt_number >= ATTEMPTS

    def pause(seconds: float) -> None:
        """Sleep, but a Ctrl-C during a long wait stops the run at once."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if should_stop():
                raise StopRequested("stopped while waiting to try again")
            time.sleep(min(left, 0.2))

    return Retrying(
        stop=stop,
        wait=wait_exponential_jitter(
            multiplier=base_seconds,
            max=max(base_seconds, MAX_BACKOFF_SECONDS),
            jitter=base_seconds,
        ),
        retry=retry_if_exception(is_transient),
        before_sleep=on_retry,
        sleep=pause,
        reraise=True,
    )
