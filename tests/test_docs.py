"""`make docs`: dbt's lineage site builds on a data home that has never run a build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO, cli_env, run_cli


def test_docs_generate_on_a_fresh_home(home: Path, tmp_path: Path):
    assert run_cli(home, "init").returncode == 0
    target = tmp_path / "target"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "docs", "generate"],
        cwd=REPO / "dbt_project",
        env=cli_env(SMARTMETER_HOME=str(home), DBT_TARGET_PATH=str(target)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    assert "model.smartmeter.fct_readings" in manifest["nodes"]
    assert (target / "index.html").exists() and (target / "catalog.json").exists()
