"""`smartmeter watch`: a file arriving in landing/ starts a run by itself.

File-system events (watchfiles: inotify on Linux), not a sleep loop. A file is taken only when
complete: senders write it under a temporary name (a leading dot, or .tmp/.part/.partial) and
rename it when done; the watcher also waits until every landing file's size and modification
time have stopped changing for `settle_seconds`. Runs never overlap (the data home's lock, also
against a `smartmeter run` started by hand). SIGINT/SIGTERM stop the watcher between steps.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

import watchfiles

from smartmeter.flow import RunSummary, run_pipeline
from smartmeter.home import Home
from smartmeter.places import home_places


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
    """SIGINT/SIGTERM set an event; a second one stops at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __enter__(self) -> StopOnSignal:
        self._previous = {
            sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()

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

    def run_if_waiting() -> None:
        nonlocal runs
        while not stop.is_set() and wait_until_settled(home, settle_seconds, stop):
            before = landing_snapshot(home)
            with home.lock(wait=True):
                summary = run_pipeline(home, target, "watch", stop.is_set, progress)
            runs += 1
            on_run(summary)
            if max_runs is not None and runs >= max_runs:
                stop.set()
                return
            if summary.status == "interrupted" or landing_snapshot(home) == before:
                return  # nothing could be taken in: wait for the next change, do not spin

    run_if_waiting()
    for _changes in watchfiles.watch(
        home_places(home).landing.local_path(""),
        stop_event=stop,
        debounce=500,
        step=100,
        raise_interrupt=False,
    ):
        run_if_waiting()
    return runs
