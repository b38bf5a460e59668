"""How a step is retried (smartmeter/retry_policy.py): an outage is waited out for its window,
other transient failures get 3 attempts, the rest none; a stop request cuts a wait short."""

from __future__ import annotations

import errno
import time

import psycopg
import pytest

from smartmeter.retry_policy import (
    ATTEMPTS,
    StepFailed,
    StopRequested,
    is_outage,
    is_transient,
    retrying,
)
from smartmeter.storage import StoreError
from smartmeter.targets import WarehouseUnavailable


def _caused_by(cause: BaseException) -> RuntimeError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("a load step failed") from inner
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "outage", "transient"),
    [
        (WarehouseUnavailable("PostgreSQL is unavailable"), True, True),
        (_caused_by(WarehouseUnavailable("locked")), True, True),
        (psycopg.OperationalError("connection refused"), True, True),
        (
            _caused_by(psycopg.OperationalError("server closed the connection unexpectedly")),
            True,
            True,
        ),
        (psycopg.OperationalError("the database system is shutting down"), True, True),
        (psycopg.OperationalError("deadlock detected"), False, True),
        (StoreError("503 Slow Down", outage=True), True, True),
        (StoreError("Access Denied"), False, False),
        (StepFailed("dbt: connection refused", transient=True, outage=True), True, True),
        (StepFailed("dbt was killed", transient=True), False, True),
        (StepFailed("a test failed", transient=False), False, False),
        (OSError(errno.EIO, "I/O error"), False, True),
        (OSError(errno.ENOSPC, "No space left on device"), False, False),
        (ValueError("not a number"), False, False),
    ],
)
def test_failures_are_classified(exc, outage, transient):
    assert is_outage(exc) is outage
    assert is_transient(exc) is transient


class Flaky:
    """Fails with `exc` for the first `failures` calls, then returns the call count."""

    def __init__(self, exc: BaseException, failures: int):
        self.exc, self.failures, self.calls = exc, failures, 0

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return self.calls


def _run(work, window: float, should_stop=lambda: False, notes: list | None = None):
    notes = [] if notes is None else notes
    for attempt in retrying(0.01, window, lambda state: notes.append(state), should_stop):
        with attempt:
            return work()
    raise AssertionError("unreachable")


def test_an_outage_is_waited_out_beyond_three_attempts_within_the_window():
    work = Flaky(WarehouseUnavailable("down"), failures=6)
    assert _run(work, window=30) == 7


def test_an_outage_longer_than_the_window_fails_after_it():
    work = Flaky(WarehouseUnavailable("down"), failures=10_000)
    started = time.monotonic()
    with pytest.raises(WarehouseUnavailable):
        _run(work, window=0.3)
    assert time.monotonic() - started >= 0.3
    assert work.calls >= ATTEMPTS


def test_other_transient_failures_get_three_attempts():
    work = Flaky(OSError(errno.EIO, "I/O error"), failures=10)
    with pytest.raises(OSError):
        _run(work, window=30)
    assert work.calls == ATTEMPTS
    assert _run(Flaky(OSError(errno.EIO, "I/O error"), failures=2), window=30) == 3


def test_a_permanent_failure_is_not_retried():
    work = Flaky(ValueError("bad value"), failures=10)
    with pytest.raises(ValueError):
        _run(work, window=30)
    assert work.calls == 1


def test_a_stop_request_cuts_the_wait_short():
    work = Flaky(WarehouseUnavailable("down"), failures=10_000)
    started = time.monotonic()
    with pytest.raises(StopRequested):
        _run(work, window=600, should_stop=lambda: work.calls >= 2)
    assert time.monotonic() - started < 5
