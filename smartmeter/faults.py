"""Crash points for the fault-injection tests.

`crash_point("name")` kills the process with SIGKILL, exactly as `kill -9` would, when the
environment variable SMARTMETER_CRASH_AT names that point; it does nothing otherwise. With
`SMARTMETER_CRASH_AT=build:<model>` the run and its dbt process are both killed the moment dbt
starts building that model. This is how the tests prove that a run killed at that moment loses
nothing and duplicates nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "SMARTMETER_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def crash_if_dbt_starts(line: str, dbt_pid: int) -> None:
    """Kill dbt and this process when dbt logs the start of the model named by build:<model>."""
    wanted = os.environ.get(ENV, "")
    if not wanted.startswith("build:"):
        return
    model = wanted.split(":", 1)[1]
    if " START " in line and f".{model} " in line:
        os.killpg(dbt_pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
