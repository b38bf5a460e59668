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
    assert_lineage_complete(manifest)


def assert_lineage_complete(manifest: dict) -> None:
    """Every raw table flows into a model, every exposure stands on models, every project macro
    says what it does."""
    raw = [uid for uid in manifest["sources"] if uid.startswith("source.smartmeter.raw.")]
    assert len(raw) >= 10
    childless = [uid for uid in raw if not manifest["child_map"].get(uid)]
    assert not childless, f"raw sources no model reads: {childless}"
    assert {"file_manifest", "dead_letters", "alerts", "pipeline_runs"} <= {
        s["name"] for s in manifest["sources"].values() if s["source_name"] == "ops"
    }
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"html_report", "parquet_archive", "learned_forecasts"} <= set(exposures)
    assert all(e["depends_on"]["nodes"] for e in exposures.values())
    undescribed = [
        m["name"]
        for m in manifest["macros"].values()
        if m["package_name"] == "smartmeter" and not m["description"]
    ]
    assert not undescribed, f"macros without a description: {undescribed}"
