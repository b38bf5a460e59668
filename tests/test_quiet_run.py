"""A run with nothing new is cheap: no build, no export, and it says so; the summary's files,
rows and readings reconcile."""

from __future__ import annotations

import json
import shutil

from conftest import FIXTURES, run_cli


def run_json(home, *flags: str) -> dict:
    result = run_cli(home, "--json", "run", *flags)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_a_quiet_run_skips_the_build_until_there_is_work(home):
    for name in ("wide_small.csv", "canonical_small.csv"):
        shutil.copy(FIXTURES / name, home / "landing" / name)
    first = run_json(home)
    assert {"build", "export"} <= set(first["steps"])
    counts = first["counts"]
    # a wide row holds several readings: the readings, not the rows, balance
    assert counts["rows_in"] < counts["readings_in"]
    assert counts["readings_in"] >= (
        counts["published_from_new_files"] + counts["quarantined_from_new_files"]
    )
    text = run_cli(home, "run", "--force").stdout  # --force builds with nothing new
    assert "  build " in text and "nothing new" not in text
    assert "files, " in text and "readings (a wide row holds several)" in text

    quiet = run_json(home)
    assert "build" not in quiet["steps"] and "export" not in quiet["steps"]
    assert any("nothing new" in m and "--force" in m for m in quiet["messages"])
    assert quiet["counts"]["published_total"] == first["counts"]["published_total"]

    # work left by `ingest` alone is pending: the next run builds it
    shutil.copy(FIXTURES / "cumulative_small.csv", home / "landing" / "cumulative_small.csv")
    assert run_cli(home, "ingest").returncode == 0
    catching_up = run_json(home)
    assert "build" in catching_up["steps"]
    assert catching_up["counts"]["published_total"] > first["counts"]["published_total"]
