"""Incremental builds end where a full rebuild of the same files ends, late data included."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import REPO, duck, run_cli

pytestmark = pytest.mark.slow

COMPARED = {
    "marts.fct_readings": "meter_id, channel, reading_start_at, round(kw, 9), quality_flag, "
    "is_outlier, coalesce(source_line, -1)",
    "marts.quarantined_readings": "file_sha256, source_line, value_position, reason",
    "marts.meter_gaps": "meter_id, channel, gap_start_at, gap_end_at",
    "marts.meter_faults": "meter_id, channel, fault_kind, started_at, ended_at",
    "marts.meter_health": "meter_id, status",
    "marts.file_reading_balance": "file_sha256, raw_values, published, quarantined, "
    "duplicate_copies",
}


def snapshot(home) -> dict[str, list[tuple]]:
    with duck(home) as con:
        return {
            table: con.execute(f"select {cols} from {table} order by all").fetchall()
            for table, cols in COMPARED.items()
        }


def test_day_by_day_delivery_matches_a_full_build(tmp_path):
    files = tmp_path / "files"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            "--out",
            str(files),
            "--meters",
            "12",
            "--days",
            "10",
            "--split",
            "day",
            "--layouts",
            "canonical,cumulative",
        ],
        check=True,
        capture_output=True,
    )
    days = sorted(files.glob("canonical_*.csv"))
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    # In batches, one day late (day 7 after day 8), then a correction that turns an already
    # published reading into a conflict and repeats another one exactly.
    batches = [days[:5], [days[5], days[7]], [days[6]], [*days[8:], *files.glob("cumulative_*")]]
    for batch in batches:
        for path in batch:
            shutil.copy(path, home / "landing" / path.name)
        result = run_cli(home, "run")
        assert result.returncode == 0, result.stdout + result.stderr
    first_lines = days[3].read_text().splitlines()[1:3]
    meter, stamp, value, unit, interval = first_lines[0].split(",")
    correction = [
        "meter_id,timestamp,value,unit,interval_minutes",
        f"{meter},{stamp},{float(value) * 3 + 1:.3f},{unit},{interval}",
        first_lines[1],
    ]
    (home / "landing" / "correction.csv").write_text("\n".join(correction) + "\n")
    assert run_cli(home, "run").returncode == 0
    incremental = snapshot(home)
    conflicts = [
        r for r in incremental["marts.quarantined_readings"] if r[3] == "conflicting_duplicate"
    ]
    assert len(conflicts) >= 2  # the corrected reading and the one it contradicts

    rebuilt = run_cli(home, "build", "--", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    assert snapshot(home) == incremental
