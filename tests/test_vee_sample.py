"""The dbt VEE chain on generated sample data: every injected defect has its expected outcome.

The generator writes a catalogue of what it injected; the warehouse must find exactly that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from conftest import REPO, duck, run_cli

pytestmark = pytest.mark.slow

QUARANTINE_KIND = {
    "invalid_unit": "invalid_unit",
    "unparseable_value": "unparseable_value",
    "empty_value": "missing_value",
    "negative_value": "negative_value",
    "off_grid_timestamp": "off_grid_timestamp",
    "out_of_range_timestamp": "out_of_range_timestamp",
    "unparseable_timestamp": "unparseable_timestamp",
}


def generate(landing: Path, expected: Path, *extra: str) -> list[dict]:
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            "--out",
            str(landing),
            "--expected",
            str(expected),
            *extra,
        ],
        check=True,
        capture_output=True,
    )
    return json.loads(expected.read_text())


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, list[dict]]:
    home = tmp_path_factory.mktemp("sample") / "home"
    catalogue = generate(home / "landing", home.parent / "expected.json")
    result = run_cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return home, catalogue


def defects(catalogue: list[dict], layout: str, kind: str) -> list[dict]:
    return [d for d in catalogue if d["layout"] == layout and d["kind"] == kind]


def test_each_bad_row_is_quarantined_with_its_reason(sample):
    home, catalogue = sample
    with duck(home) as con:
        rows = con.execute(
            "select layout, reason, meter_id, timestamp_text from marts.quarantined_readings"
        ).fetchall()
    found: dict[tuple[str, str], int] = {}
    for layout, reason, _, _ in rows:
        found[(layout, reason)] = found.get((layout, reason), 0) + 1
    for kind, reason in QUARANTINE_KIND.items():
        expected = sum(d["count"] for d in defects(catalogue, "canonical", kind))
        assert found.get(("canonical", reason), 0) == expected, kind
    conflicts = defects(catalogue, "canonical", "conflicting_duplicate")
    assert found[("canonical", "conflicting_duplicate")] == 2 * len(conflicts)
    assert found[("wide", "negative_value")] == 1
    assert found[("cumulative", "counter_reset")] == 1
    meters_with_registers = len({d["meter_id"] for d in catalogue if d["layout"] == "cumulative"})
    assert found[("cumulative", "register_baseline")] >= meters_with_registers


def test_exact_duplicates_are_kept_once_and_counted(sample):
    home, catalogue = sample
    with duck(home) as con:
        copies = con.execute(
            "select sum(duplicate_copies) from marts.file_reading_balance "
            "where layout = 'canonical'"
        ).fetchone()[0]
        published_twice = con.execute(
            "select count(*) from (select meter_id, channel, reading_start_at from "
            "marts.fct_readings group by all having count(*) > 1)"
        ).fetchone()[0]
    assert copies == len(defects(catalogue, "canonical", "exact_duplicate"))
    assert published_twice == 0


def test_short_gaps_are_interpolated_and_long_gaps_listed(sample):
    home, catalogue = sample
    with duck(home) as con:
        for gap in defects(catalogue, "canonical", "short_gap"):
            estimated = con.execute(
                "select count(*) from marts.fct_readings where meter_id = ? "
                "and estimation_method = 'linear_interpolation' "
                "and reading_start_at between ? and ?",
                [gap["meter_id"], utc(gap["start"]), utc(gap["end"])],
            ).fetchone()[0]
            assert estimated == gap["count"], gap
        for gap in defects(catalogue, "canonical", "long_gap"):
            listed = con.execute(
                "select intervals_missing from marts.meter_gaps where meter_id = ? "
                "and gap_start_at = ?",
                [gap["meter_id"], utc(gap["start"])],
            ).fetchall()
            assert listed == [(gap["count"],)], gap
            filled = con.execute(
                "select count(*) from marts.fct_readings where meter_id = ? "
                "and reading_start_at between ? and ?",
                [gap["meter_id"], utc(gap["start"]), utc(gap["end"])],
            ).fetchone()[0]
            assert filled == 0


def test_wide_cells_and_dst_start_day(sample):
    home, catalogue = sample
    gap = defects(catalogue, "wide", "short_gap")[0]
    with duck(home) as con:
        estimated = con.execute(
            "select count(*) from marts.fct_readings where meter_id = ? and quality_flag = 'E' "
            "and reading_start_at between ? and ?",
            [gap["meter_id"], utc(gap["start"]), utc(gap["end"])],
        ).fetchone()[0]
        per_local_day = con.execute(
            "select meter_id, count(*) from marts.fct_readings where meter_id like 'WIDE-%' and "
            "timezone('Europe/London', timezone('UTC', reading_start_at))::date = date '2024-03-31'"
            " group by meter_id"
        ).fetchall()
    assert estimated == gap["count"]
    assert per_local_day and {n for _, n in per_local_day} == {46}  # the clock skipped an hour


def test_registers_are_differenced_and_a_missing_read_is_prorated(sample):
    home, catalogue = sample
    missing = defects(catalogue, "cumulative", "missing_read")[0]
    with duck(home) as con:
        prorated = con.execute(
            "select count(*), count(distinct round(kwh, 9)) from marts.fct_readings "
            "where meter_id = ? and estimation_method = 'register_prorated'",
            [missing["meter_id"]],
        ).fetchone()
    assert prorated == (2, 1)


def test_outliers_are_flagged_not_dropped(sample):
    home, catalogue = sample
    with duck(home) as con:
        flagged = dict(
            ((m, t), r)
            for m, t, r in con.execute(
                "select meter_id, reading_start_at, outlier_reason from marts.fct_readings "
                "where is_outlier"
            ).fetchall()
        )
    for spike in defects(catalogue, "canonical", "spike"):
        assert flagged[(spike["meter_id"], utc(spike["start"]))] == "spike"
    for high in defects(catalogue, "canonical", "over_max_demand"):
        assert flagged[(high["meter_id"], utc(high["start"]))] == "above_max_plausible_kw"
    assert len(flagged) == len(defects(catalogue, "canonical", "spike")) + len(
        defects(catalogue, "canonical", "over_max_demand")
    )


def test_zero_and_constant_runs_make_meters_faulty(sample):
    home, catalogue = sample
    expected = {
        d["meter_id"]: {"zero_run": "zero_run", "constant_run": "constant_run"}[d["kind"]]
        for d in catalogue
        if d["kind"] in ("zero_run", "constant_run")
    }
    with duck(home) as con:
        faults = con.execute(
            "select meter_id, fault_kind from marts.meter_faults where severity = 'critical'"
        ).fetchall()
        faulty = {
            r[0]
            for r in con.execute(
                "select meter_id from marts.meter_health where status = 'faulty'"
            ).fetchall()
        }
        alerts = {r[0] for r in con.execute("select meter_id from marts.meter_alerts").fetchall()}
    assert dict(faults) == expected
    assert faulty == set(expected)
    assert set(expected) <= alerts


def test_nem12_quality_flags_are_kept(sample):
    home, catalogue = sample
    estimated = defects(catalogue, "nem12", "estimated_intervals")[0]
    with duck(home) as con:
        flags = con.execute(
            "select count(*) from marts.fct_readings where layout = 'nem12' "
            "and source_quality_flag = 'E' and quality_flag = 'A'"
        ).fetchone()[0]
    assert flags == estimated["count"]


def test_every_file_balances(sample):
    home, _ = sample
    with duck(home) as con:
        rows = con.execute(
            "select source_file, is_balanced from marts.file_reading_balance"
        ).fetchall()
    assert rows and all(balanced for _, balanced in rows)


def test_parquet_archive_holds_exactly_the_published_readings(sample):
    home, _ = sample
    root = home / "parquet" / "readings"
    with duck(home) as con:
        published = con.execute("select count(*) from marts.fct_readings").fetchone()[0]
        via_duckdb = con.execute(
            f"select count(*) from read_parquet('{root}/**/*.parquet', hive_partitioning = true)"
        ).fetchone()[0]
    partitioning = ds.partitioning(
        pa.schema([("reading_date", pa.date32()), ("meter_id", pa.string())]), flavor="hive"
    )
    dataset = ds.dataset(root, format="parquet", partitioning=partitioning)
    table = dataset.to_table()
    assert via_duckdb == published == table.num_rows
    assert table.schema.field("meter_id").type == pa.string()
    assert table.schema.field("reading_start_at").type == pa.timestamp("us", tz="UTC")
    one_day = dataset.to_table(
        filter=ds.field("reading_date") == pa.scalar(datetime(2024, 3, 25).date())
    )
    assert one_day.num_rows > 0
    assert set(one_day.column("reading_date").to_pylist()) == {datetime(2024, 3, 25).date()}


def test_rebuilding_rewrites_the_archive_without_duplicates_or_orphans(sample):
    home, _ = sample
    root = home / "parquet" / "readings"
    stray = root / "reading_date=1999-01-01" / "meter_id=X"
    stray.mkdir(parents=True)
    (stray / "data_0.parquet").write_bytes(b"not data")
    rebuilt = run_cli(home, "build", "--", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-2000:]
    exported = run_cli(home, "export")
    assert exported.returncode == 0, exported.stderr
    assert not stray.parent.exists()
    with duck(home) as con:
        published = con.execute("select count(*) from marts.fct_readings").fetchone()[0]
        archived = con.execute(
            f"select count(*), count(distinct (meter_id, channel, reading_start_at)) "
            f"from read_parquet('{root}/**/*.parquet', hive_partitioning = true)"
        ).fetchone()
    assert archived == (published, published)
    assert not list(root.glob(".*"))


def test_dbt_docs_generate(sample):
    home, _ = sample
    from smartmeter import targets
    from smartmeter.dbt_runner import run_dbt
    from smartmeter.home import Home

    result = run_dbt(Home.resolve(home), targets.get("duckdb"), "docs", "generate")
    assert result.returncode == 0, result.output[-2000:]
    catalog = json.loads((home / ".state/dbt/target/catalog.json").read_text())
    assert "model.smartmeter.fct_readings" in catalog["nodes"]


def test_gap_straddling_two_files_is_filled_when_the_later_one_arrives(tmp_path):
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    start = datetime(2024, 5, 1)

    def write(name: str, slots: range) -> None:
        lines = ["meter_id,timestamp,value,unit"]
        for i in slots:
            stamp = (start + timedelta(minutes=30 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append(f"S1,{stamp},{1 + i % 5},kW")
        (home / "landing" / name).write_text("\n".join(lines) + "\n")

    write("first.csv", range(0, 47))  # ends 23:00 on day 1; 23:30 missing
    assert run_cli(home, "run").returncode == 0
    with duck(home) as con:
        before = con.execute(
            "select count(*) from marts.fct_readings where quality_flag = 'E'"
        ).fetchone()
    write("second.csv", range(48, 96))  # starts 00:00 on day 2
    assert run_cli(home, "run").returncode == 0
    with duck(home) as con:
        after = con.execute(
            "select reading_start_at, kw from marts.fct_readings where quality_flag = 'E'"
        ).fetchall()
    assert before == (0,)
    assert after == [(start + timedelta(minutes=30 * 47), 3.0)]  # halfway between 2 kW and 4 kW


def test_dbt_unit_tests_pass(sample):
    """A pipeline run leaves the unit tests out (fixed inputs, nothing to learn in production);
    they run here, in CI, through `smartmeter test`."""
    home, _ = sample
    result = run_cli(home, "test", "--", "--select", "test_type:unit")
    assert result.returncode == 0, result.stdout
    results = json.loads((home / ".state/dbt/target/run_results.json").read_text())["results"]
    outcomes = [r for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(outcomes) >= 6
    assert {r["status"] for r in outcomes} == {"pass"}
