"""Running dbt for a data home and target, as a subprocess, and reading what it did.

Each data home keeps its own dbt target folder (compiled SQL, partial-parse cache,
run_results.json) under .state/dbt, so two homes never share state.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from smartmeter.faults import crash_if_dbt_starts
from smartmeter.home import Home

PR_SET_PDEATHSIG = 1  # linux/prctl.h

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
PROFILES_DIR = REPO


class DbtTarget(Protocol):
    """What dbt needs of a target (smartmeter.targets.Target): its profile's name and the
    environment its sessions need."""

    name: str

    def dbt_env(self, env: dict[str, str]) -> dict[str, str]: ...


@dataclass
class DbtResult:
    returncode: int
    command: list[str]
    output: str
    results: list[dict] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        return self.returncode < 0

    def failures(self) -> list[dict]:
        """Nodes that failed: model errors, and tests failing at error severity."""
        return [r for r in self.results if r["status"] in ("error", "fail", "runtime error")]

    def warnings(self) -> list[dict]:
        return [r for r in self.results if r["status"] == "warn"]

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failures()

    def summary(self) -> str:
        if self.killed:
            return f"dbt was killed by signal {-self.returncode}"
        failed = self.failures()
        if not failed:
            return f"dbt: {len(self.results)} nodes ok, {len(self.warnings())} warnings"
        names = ", ".join(r["unique_id"].split(".")[-1] for r in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        return f"dbt: {len(failed)} failed ({names}{more})"


def dbt_project_dir(home: Home) -> Path:
    return home.settings.dbt_project or DBT_PROJECT


def dbt_state_dir(home: Home) -> Path:
    return home.state / "dbt"


def dbt_env(home: Home, target: DbtTarget) -> dict[str, str]:
    """dbt's environment: the inherited one (PATH, Java, the AWS chain ...) with the variables
    profiles.yml and the project read set from the run's settings."""
    settings = home.settings
    env = dict(os.environ)
    env.update(
        SMARTMETER_HOME=str(home.root),
        SMARTMETER_DUCKDB_MEMORY_LIMIT=settings.duckdb_memory_limit,
        PGHOST=settings.postgres.host,
        PGPORT=str(settings.postgres.port),
        PGUSER=settings.postgres.user,
        PGDATABASE=settings.postgres.dbname,
        DBT_PROFILES_DIR=str(PROFILES_DIR),
        DBT_TARGET_PATH=str(dbt_state_dir(home) / "target"),
        DBT_LOG_PATH=str(dbt_state_dir(home) / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
        # colour codes only for a terminal (dbt's output is piped through us)
        DBT_USE_COLORS="true" if sys.stdout.isatty() else "false",
    )
    if settings.spark_raw_url:
        env["SMARTMETER_SPARK_RAW_URL"] = settings.spark_raw_url
    return target.dbt_env(env)


def _die_with_parent() -> None:
    """In the dbt child, before exec: Linux sends it SIGTERM when the run that started it dies
    (killed, out of memory), so no orphaned dbt goes on writing the warehouse."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_dbt(
    home: Home, target: DbtTarget, *args: str, on_line: Callable[[str], None] | None = None
) -> DbtResult:
    """Run `dbt ARGS --target TARGET` in the project; results come from run_results.json.

    dbt runs in its own session: Ctrl-C in the terminal reaches smartmeter only, which lets the
    current step finish and stops before the next."""
    state = dbt_state_dir(home)
    results_file = state / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).with_name("dbt")),
        *args,
        "--target",
        target.name,
        "--project-dir",
        str(dbt_project_dir(home)),
    ]
    process = subprocess.Popen(
        command,
        cwd=dbt_project_dir(home),
        env=dbt_env(home, target),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C reaches us, and we stop dbt between our steps
        preexec_fn=_die_with_parent,
    )
    lines = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            crash_if_dbt_starts(line, process.pid)
            if on_line:
                on_line(line.rstrip("\n"))
        process.wait()
    except BaseException:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        raise
    output = "".join(lines)
    results = []
    if results_file.exists():
        results = json.loads(results_file.read_text()).get("results", [])
    return DbtResult(process.returncode, command, output, results)


def project_var(home: Home, name: str) -> object:
    """A var's default from dbt_project.yml (the one place thresholds and settings live)."""
    project = yaml.safe_load((dbt_project_dir(home) / "dbt_project.yml").read_text())
    return project["vars"][name]
