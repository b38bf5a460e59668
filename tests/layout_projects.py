"""A copy of the project whose layouts.yml a test extends (or edits), and the CLI run in it: how
the tests load a vendor layout without touching the repository's own layouts.yml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO, cli_env, hang_timeout


def project_copy(root: Path, extra_layouts: str = "") -> Path:
    """The project's code under root/smartmeter, with `extra_layouts` (YAML list items)
    appended to its layouts.yml."""
    project = root / "smartmeter"
    for part in ("dbt_project", "dlt_pipelines", "smartmeter"):
        shutil.copytree(
            REPO / part,
            project / part,
            ignore=shutil.ignore_patterns("target", "logs", "__pycache__", ".user.yml"),
        )
    for part in ("profiles.yml", "pyproject.toml"):
        shutil.copy(REPO / part, project / part)
    layouts = layouts_file(project)
    layouts.write_text(layouts.read_text() + extra_layouts)
    return project


def layouts_file(project: Path) -> Path:
    return project / "dlt_pipelines" / "layouts.yml"


def run_in(
    project: Path, home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`smartmeter --home HOME ARGS...` with the code of `project`."""
    return subprocess.run(
        [sys.executable, "-m", "smartmeter.cli", "--home", str(home), *args],
        cwd=project,
        env=cli_env(PYTHONPATH=str(project), DBT_PROFILES_DIR=str(project), **(env or {})),
        capture_output=True,
        text=True,
        timeout=hang_timeout(args, 1800),
    )
