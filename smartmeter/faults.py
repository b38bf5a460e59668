"""Crash points for the fault-injection tests.

`crash_point("name")` kills the process with SIGKILL, exactly as `kill -9` would, when the
armed point (Settings.crash_at, from SMARTMETER_CRASH_AT; the command line arms it once) is
that name; it does nothing otherwise. With `build:<model>` armed, the run and its dbt process
are both killed the moment dbt starts building that model. This is how the tests prove that a
run killed at that moment loses nothing and duplicates nothing.

The armed point is the one piece of process state here, rather than a parameter of every
storage and target call a crash point sits in: it is a test's hook, not a behaviour.
"""

from __future__ import annotations

import os
import signal

_armed = ""


def arm(point: str) -> None:
    """Crash at `point` ("" disarms)."""
    global _armed
    _armed = point


def crash_point(name: str) -> None:
    if _armed and _armed == name:
        os.kill(os.getpid(), signal.SIGKILL)


def crash_if_dbt_starts(line: str, dbt_pid: int) -> None:
    """Kill dbt and this process when dbt logs the start of the model named by build:<model>."""
    if not _armed.startswith("build:"):
        return
    model = _armed.split(":", 1)[1]
    if " START " in line and f".{model} " in line:
        os.killpg(dbt_pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
