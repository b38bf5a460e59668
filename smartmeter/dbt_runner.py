"""Running dbt for a data home and target, as a subprocess, and reading what it did.

Each data home keeps its own dbt target folder (compiled SQL, partial-parse cache,
run_results.json) under .state/dbt, so two homes never share state.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from smartmeter.faults import crash_if_dbt_starts
from smartmeter.home import Home

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
# A project of one's own (this one extended with local marts) instead of the bundled one.
PROJECT_ENV = "SMARTMETER_DBT_PROJECT"
PROFILES_DIR = REPO
# The Parquet archive as a dbt model: `smartmeter build` runs it; `smartmeter run` exports after
# the build instead, so its runs and audits leave the model out.
ARCHIVE_MODEL = "parquet_archive_exports"


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


def dbt_project_dir() -> Path:
    return Path(os.environ.get(PROJECT_ENV) or DBT_PROJECT)


def dbt_state_dir(home: Home) -> Path:
    return home.state / "dbt"


def dbt_env(home: Home, target: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SMARTMETER_HOME=str(home.root),
        DBT_PROFILES_DIR=str(PROFILES_DIR),
        DBT_TARGET_PATH=str(dbt_state_dir(home) / "target"),
        DBT_LOG_PATH=str(dbt_state_dir(home) / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    if target == "postgres":
        env["PGOPTIONS"] = postgres_session_options(env.get("PGOPTIONS", ""))
    return env


def postgres_session_options(given: str) -> str:
    """libpq's PGOPTIONS for dbt's sessions: JIT off, unless the user's PGOPTIONS says
    otherwise. PostgreSQL compiles a query whose estimated cost is high (every model and many
    tests here) to machine code first; for the project's wide queries that took longer than
    running them (int_readings_validated on one more day of M: 13.2 s of compiling, 1.9 s of
    work)."""
    if re.search(r"(^|\s)(-c\s*|--)jit=", given):
        return given
    return f"{given} -c jit=off".strip()


def run_dbt(
    home: Home, target: str, *args: str, on_line: Callable[[str], None] | None = None
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
        target,
        "--project-dir",
        str(dbt_project_dir()),
    ]
    process = subprocess.Popen(
        command,
        cwd=dbt_project_dir(),
        env=dbt_env(home, target),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C reaches us, and we stop dbt between our steps
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


def project_var(name: str) -> object:
    """A var's default from dbt_project.yml (the one place thresholds and settings live)."""
    project = yaml.safe_load((dbt_project_dir() / "dbt_project.yml").read_text())
    return project["vars"][name]
