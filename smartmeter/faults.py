"""Crash points for the fault-injection tests.

`crash_point("name")` kills the process with SIGKILL, exactly as `kill -9` would, when the
environment variable SMARTMETER_CRASH_AT names that point. It does nothing otherwise; it is
how the tests prove that a run killed at that moment loses nothing and duplicates nothing.
"""

from __future__ import annotations

import os
import signal

ENV = "SMARTMETER_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
