"""Incremental builds end where a full rebuild of the same files ends, late data included."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys

import pytest
from channel_inputs import stamp, write_prosumer_file
from conftest import REPO, duck, run_cli

pytestmark = pytest.mark.slow

COMPARED = {
    "marts.fct_readings": "meter_id, channel, reading_start_at, kw, quality_flag, "
    "is_outlier, coalesce(source_line, -1)",
    "marts.quarantined_readings": "file_sha256, source_line, value_position, reason",
    "marts.meter_gaps": "meter_id, channel, gap_start_at, gap_end_at",
    "marts.meter_faults": "meter_id, channel, fault_kind, started_at, ended_at",
    "marts.meter_health": "meter_id, status",
    "marts.file_reading_balance": "file_sha256, raw_values, published, quarantined, "
    "duplicate_copies",
    "intermediate.int_files_counted": "file_sha256, raw_rows, rows_with_values, raw_values",
    "intermediate.int_file_verdicts_counted": "file_sha256, value_date, published, "
    "quarantined, duplicate_copies",
    "intermediate.int_meter_runs_detected": "meter_id, channel, run_kind, run_start_at, "
    "run_end_at, readings",
    "intermediate.int_meter_hours_scored": "meter_id, hour_start_at, kw, "
    "baseline_kw, baseline_weeks, is_deviation",
    "intermediate.int_timezone_offsets": "timezone, utc_hour_start_at, offset_minutes",
    "intermediate.int_meter_hours": "meter_id, channel, hour_start_at, kw, readings",
    "intermediate.int_meter_sources": "meter_id, layout, timezone, last_load",
    "marts.dim_meters": "meter_id, layout, timezone, first_reading_at, published_readings",
    "intermediate.int_fleet_demand": "slot_start_at, kw, meters",
    "marts.fct_net_demand": "meter_id, reading_start_at, import_kwh, export_kwh, net_kwh, "
    "is_estimated",
    "marts.fct_daily_consumption": "meter_id, local_date, kwh, peak_kw, "
    "peak_at, readings, expected_readings, is_complete",
    "marts.fct_peak_periods": "peak_type, scope, meter_id, period_month, peak_rank, "
    "period_start_at, kw",
    "marts.fct_usage_profiles": "scope, meter_id, season, day_type, local_hour, avg_kw",
    "marts.fct_meter_baseload": "meter_id, local_month, baseload_kw, nights",
    "marts.fct_anomalies": "meter_id, anomaly_level, reason, period_start_at, observed",
    "marts.forecast_accuracy": "scope, meter_id, forecast_method, horizon_days, hours_scored, "
    "mae_kw",
    "marts.fct_forecasts": "scope, meter_id, forecast_date, local_hour, forecast_method, "
    "forecast_kw",
}


def snapshot(home) -> dict[str, list[tuple]]:
    with duck(home) as con:
        return {
            table: con.execute(f"select {cols} from {table} order by all").fetchall()
            for table, cols in COMPARED.items()
        }


def split_prosumer_file(folder) -> list:
    """The prosumer sites' file in three: every channel's first two days, the later days but
    the exports, and the later exports."""
    lines = write_prosumer_file(folder).read_text().splitlines()
    header, rows = lines[0], [line.split(",") for line in lines[1:]]
    later = stamp(96)  # the third day
    parts = {
        "prosumers_early.csv": [r for r in rows if r[1] < later],
        "prosumers_later.csv": [r for r in rows if r[1] >= later and r[5] != "export"],
        "prosumers_later_export.csv": [r for r in rows if r[1] >= later and r[5] == "export"],
    }
    paths = []
    for name, part in parts.items():
        path = folder / name
        path.write_text("\n".join([header, *(",".join(r) for r in part)]) + "\n")
        paths.append(path)
    return paths


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
    prosumers = split_prosumer_file(tmp_path / "prosumers")
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    # In batches, one day late (day 7 after day 8), then a correction that turns an already
    # published reading into a conflict and repeats another one exactly. A prosumer site's
    # first two days come first, its later imports after, and the exports of those days last.
    batches = [
        [*days[:5], prosumers[0]],
        [days[5], days[7]],
        [days[6], prosumers[1]],
        [*days[8:], *files.glob("cumulative_*"), prosumers[2]],
    ]
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

    assert len(incremental["marts.fct_net_demand"]) == 4 * 48  # SITE-A's four days

    rebuilt = run_cli(home, "build", "--", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    full = snapshot(home)
    for table in COMPARED:
        assert same_rows(full[table], incremental[table]), table


def same_rows(left: list[tuple], right: list[tuple]) -> bool:
    """Equal, but floats only to 1e-9 (sums in another order differ in the last bits)."""
    if len(left) != len(right):
        return False
    for a_row, b_row in zip(left, right, strict=True):
        for a, b in zip(a_row, b_row, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif a != b:
                return False
    return True
