"""What decides whether a file loads: the layouts, the data home's zone settings, the loader's and
the pipeline's code and the dbt project. A dead letter records a fingerprint of all of it, so
replaying a letter whose file and cause are unchanged can say so without a build."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dlt_pipelines
from dlt_pipelines.file_zones import SETTINGS_FILE
from dlt_pipelines.layouts import LAYOUTS_FILE
from smartmeter import __version__
from smartmeter.dbt_runner import dbt_project_dir
from smartmeter.home import Home

PACKAGE = Path(__file__).parent
DBT_FOLDERS = ("models", "macros", "seeds", "snapshots", "tests")


def _inputs(home: Home) -> list[Path]:
    project = dbt_project_dir(home)
    files = [LAYOUTS_FILE, home.root / SETTINGS_FILE, project / "dbt_project.yml"]
    files += sorted(PACKAGE.rglob("*.py")) + sorted(Path(dlt_pipelines.__file__).parent.rglob("*"))
    for folder in DBT_FOLDERS:
        files += sorted((project / folder).rglob("*"))
    return [path for path in files if path.is_file() and "__pycache__" not in path.parts]


def cause_fingerprint(home: Home) -> str:
    """A digest of every input that decides a file's fate (missing files count as empty)."""
    digest = hashlib.sha256(__version__.encode())
    for path in _inputs(home):
        digest.update(str(path).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
