"""Running dbt for a data home and target, as a subprocess, and reading what it did.

Each data home keeps its own dbt target folder (compiled SQL, partial-parse cache,
run_results.json) under .state/dbt, so two homes never share state. dbt runs in the data home:
the profile names the DuckDB file by a path relative to it, the same for every home, so a
home's first run can start from the project's last parse (the user's parse cache, settings
`dbt_parse_cache`) instead of parsing the whole project again; dbt itself checks that the parse
still fits (project files, profile, vars) and parses what changed.

A parse holds for one set of vars: dbt parses the whole project again when they change. Builds
that set vars of their own (the isolation search's probes) therefore run in a workspace of
their own (a target folder beside the usual one, with its own cached parse), so neither kind
of build makes the other parse from scratch.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
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
PARSE_FILE = "partial_parse.msgpack"
WORKSPACE = "target"  # the target folder of builds with the project's own vars


class DbtTarget(Protocol):
    """What dbt needs of a target (smartmeter.targets.Target): its profile's name, the
    environment its sessions need, and what it writes before dbt starts."""

    name: str

    def dbt_env(self, env: dict[str, str]) -> dict[str, str]: ...

    def before_dbt(self, home: Home) -> None: ...


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


def _workspace_dir(home: Home, workspace: str) -> Path:
    """dbt's target folder for a workspace (DBT_TARGET_PATH)."""
    return dbt_state_dir(home) / workspace


def dbt_env(home: Home, target: DbtTarget, workspace: str = WORKSPACE) -> dict[str, str]:
    """dbt's environment: the inherited one (PATH, Java, the AWS chain ...) with the variables
    profiles.yml and the project read set from the run's settings."""
    settings = home.settings
    env = dict(os.environ)
    env.update(
        SMARTMETER_HOME=str(home.root),
        SMARTMETER_DUCKDB_MEMORY_LIMIT=settings.duckdb_memory_limit,
        SMARTMETER_SPARK_THREADS=str(settings.spark_threads),
        PGHOST=settings.postgres.host,
        PGPORT=str(settings.postgres.port),
        PGUSER=settings.postgres.user,
        PGDATABASE=settings.postgres.dbname,
        DBT_PROFILES_DIR=str(PROFILES_DIR),
        DBT_TARGET_PATH=str(_workspace_dir(home, workspace)),
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
    home: Home,
    target: DbtTarget,
    *args: str,
    on_line: Callable[[str], None] | None = None,
    workspace: str = WORKSPACE,
) -> DbtResult:
    """Run `dbt ARGS --target TARGET` in the project; results come from run_results.json.
    `workspace`: the target folder under .state/dbt (another one for builds with other vars).

    dbt runs in its own session: Ctrl-C in the terminal reaches smartmeter only, which lets the
    current step finish and stops before the next."""
    results_file = _workspace_dir(home, workspace) / "run_results.json"
    results_file.unlink(missing_ok=True)
    parse_stamp = _start_from_cached_parse(home, target, workspace)
    target.before_dbt(home)
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
        cwd=home.root,
        env=dbt_env(home, target, workspace),
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
    _keep_parse(home, target, workspace, parse_stamp)
    output = "".join(lines)
    results = []
    if results_file.exists():
        results = json.loads(results_file.read_text()).get("results", [])
    return DbtResult(process.returncode, command, output, results)


def _parse_cache_file(home: Home, target: DbtTarget, workspace: str) -> Path | None:
    folder = home.settings.dbt_parse_cache
    if folder is None:
        return None
    project = hashlib.sha256(str(dbt_project_dir(home).resolve()).encode()).hexdigest()[:16]
    suffix = "" if workspace == WORKSPACE else f"-{workspace}"
    return folder / project / f"{target.name}{suffix}.msgpack"


def _own_parse(home: Home, workspace: str) -> Path:
    return _workspace_dir(home, workspace) / PARSE_FILE


def _parse_stamp(path: Path) -> int | None:
    with contextlib.suppress(OSError):
        return path.stat().st_mtime_ns
    return None


def _start_from_cached_parse(home: Home, target: DbtTarget, workspace: str) -> int | None:
    """A workspace dbt never parsed for starts from the project's last parse on this target
    (and workspace). The workspace's parse file's stamp, to tell whether dbt wrote it again."""
    own = _own_parse(home, workspace)
    cached = _parse_cache_file(home, target, workspace)
    if cached is not None and not own.exists() and cached.is_file():
        own.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # a cache, not a requirement
            shutil.copyfile(cached, own)
    return _parse_stamp(own)


def _keep_parse(home: Home, target: DbtTarget, workspace: str, stamp_before: int | None) -> None:
    """Offer a parse dbt just wrote to the next new home (written whole: a temporary name, then
    a rename, so a concurrent reader sees the old file or the new one)."""
    own = _own_parse(home, workspace)
    cached = _parse_cache_file(home, target, workspace)
    stamp = _parse_stamp(own)
    if cached is None or stamp is None or stamp == stamp_before:
        return  # no cache, or dbt reused the parse it had
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f".{cached.name}.{os.getpid()}.partial")
        shutil.copyfile(own, partial)
        os.replace(partial, cached)


def project_var(home: Home, name: str) -> object:
    """A var's default from dbt_project.yml (the one place thresholds and settings live)."""
    project = yaml.safe_load((dbt_project_dir(home) / "dbt_project.yml").read_text())
    return project["vars"][name]
