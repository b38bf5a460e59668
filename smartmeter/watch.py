"""`smartmeter watch`: a file arriving in landing/ starts a run by itself.

File-system events (watchfiles: inotify on Linux), not a sleep loop. A file is taken only when
complete: senders write it under a temporary name (a leading dot, or .tmp/.part/.partial) and
rename it when done; the watcher also waits until every landing file's size and modification
time have stopped changing for `settle_seconds`. Runs never overlap (the data home's lock, also
against a `smartmeter run` started by hand). SIGINT/SIGTERM stop the watcher between steps.
A run that could not reach the store leaves its files waiting; the watcher tries them again
every OUTAGE_RETRY_SECONDS until a run gets through.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

import watchfiles

from smartmeter.flow import RunSummary, run_pipeline
from smartmeter.home import Home
from smartmeter.places import home_places

OUTAGE_RETRY_SECONDS = 60.0


def landing_snapshot(home: Home) -> dict[str, str]:
    """Each complete landing file and its version (size and modification time)."""
    return {entry.key: entry.version for entry in home_places(home).landing.landed()}


def wait_until_settled(home: Home, settle_seconds: float, stop: threading.Event) -> bool:
    """Wait until landing/ has complete files whose size and time stand still."""
    previous = landing_snapshot(home)
    while not stop.is_set():
        if stop.wait(settle_seconds):
            return False
        current = landing_snapshot(home)
        if current == previous:
            return bool(current)
        previous = current
    return False


class StopOnSignal:
    """SIGINT/SIGTERM set an event (and say so at once on stderr); a second one stops at once
    (KeyboardInterrupt)."""

    def __init__(
        self, notice: str = "stopping after the current step (Ctrl-C again to stop now)"
    ) -> None:
        self.event = threading.Event()
        self.notice = notice

    def __enter__(self) -> StopOnSignal:
        self._previous = {
            sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"\nsmartmeter: {self.notice}\n")
            sys.stderr.flush()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def watch(
    home: Home,
    target: str,
    on_run: Callable[[RunSummary], None],
    stop: threading.Event,
    settle_seconds: float = 1.0,
    progress=None,
    max_runs: int | None = None,
) -> int:
    """Run whenever complete files are waiting; returns the number of runs (stops after
    `max_runs` when given)."""
    home.create()
    runs = 0
    retry_later = False  # the last run could not reach the store: try again after a pause

    def run_if_waiting() -> None:
        nonlocal runs, retry_later
        while not stop.is_set() and wait_until_settled(home, settle_seconds, stop):
            before = landing_snapshot(home)
            with home.lock(wait=True):
                summary = run_pipeline(home, target, "watch", stop.is_set, progress)
            runs += 1
            on_run(summary)
            retry_later = summary.retry_later
            if max_runs is not None and runs >= max_runs:
                stop.set()
                return
            if summary.status == "interrupted" or landing_snapshot(home) == before:
                return  # nothing could be taken in: wait for the next change, do not spin

    run_if_waiting()
    for changes in watchfiles.watch(
        home_places(home).landing.local_path(""),
        stop_event=stop,
        debounce=500,
        step=100,
        raise_interrupt=False,
        rust_timeout=int(OUTAGE_RETRY_SECONDS * 1000),
        yield_on_timeout=True,
    ):
        if changes or retry_later:
            run_if_waiting()
    return runs
