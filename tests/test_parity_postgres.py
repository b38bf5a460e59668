"""The same dbt models on DuckDB and PostgreSQL give the same answers, and both stores get the
Parquet archive."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from channel_inputs import write_prosumer_file, write_register_file, write_wide_file
from conftest import FIXTURES, REPO, duck, land, pg_connect, run_cli

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PER_METER_DAY = """
    select meter_id, channel, cast(reading_date as varchar), count(*),
        round(cast(sum(kwh) as numeric(28, 6)), 5),
        sum(case when quality_flag = 'E' then 1 else 0 end),
        sum(case when is_outlier then 1 else 0 end)
    from marts.fct_readings group by 1, 2, 3 order by 1, 2, 3
"""
OTHERS = {
    "quarantine": "select file_sha256, source_line, value_position, reason "
    "from marts.quarantined_readings order by 1, 2, 3",
    "gaps": "select meter_id, channel, cast(gap_start_at as varchar), intervals_missing "
    "from marts.meter_gaps order by 1, 2, 3",
    "health": "select meter_id, status, zero_runs, constant_runs, deviation_episodes "
    "from marts.meter_health order by 1",
    "balance": "select file_sha256, raw_values, published, quarantined, duplicate_copies, "
    "is_balanced from marts.file_reading_balance order by 1",
    "daily": "select meter_id, cast(local_date as varchar), round(cast(kwh as numeric(28, 6)), 5), "
    "expected_readings, is_complete from marts.fct_daily_consumption order by 1, 2",
    "peaks": "select peak_type, scope, coalesce(meter_id, ''), cast(period_month as varchar), "
    "peak_rank, cast(period_start_at as varchar), round(cast(kw as numeric(28, 6)), 5) "
    "from marts.fct_peak_periods order by 1, 2, 3, 4, 5",
    "accuracy": "select scope, coalesce(meter_id, ''), forecast_method, horizon_days, "
    "hours_scored, round(cast(mae_kw as numeric(28, 6)), 5) from marts.forecast_accuracy "
    "order by 1, 2, 3, 4",
    "anomalies": "select meter_id, anomaly_level, reason, cast(period_start_at as varchar) "
    "from marts.fct_anomalies order by 1, 2, 3, 4",
    "kinds": "select meter_id, channel, channel_kind, count(*), "
    "sum(case when source_quality_flag = 'E' then 1 else 0 end) "
    "from marts.fct_readings group by 1, 2, 3 order by 1, 2",
    "faults": "select meter_id, channel, fault_kind, cast(started_at as varchar), duration_hours "
    "from marts.meter_faults where severity = 'critical' order by 1, 2, 3, 4",
    "gap_energy": "select meter_id, channel, cast(gap_start_at as varchar), "
    "round(cast(gap_kwh as numeric(28, 6)), 5) from marts.meter_gaps "
    "where gap_kwh is not null order by 1, 2, 3",
    "daily_gap_energy": "select meter_id, cast(local_date as varchar), "
    "round(cast(gap_kwh as numeric(28, 6)), 5), source_estimated_readings "
    "from marts.fct_daily_consumption order by 1, 2",
    "net_demand": "select meter_id, cast(reading_start_at as varchar), "
    "round(cast(net_kwh as numeric(28, 6)), 5) from marts.fct_net_demand order by 1, 2",
    "gap_reads": "select file_sha256, register_gap_reads from marts.file_reading_balance "
    "order by 1",
    "report_overview": "select meters, readings_published, readings_estimated, "
    "readings_source_estimated, readings_quarantined, cast(first_reading_at as varchar), "
    "cast(last_reading_at as varchar), long_gaps, gap_meters, fleet_timezone "
    "from reporting.rpt_overview",
    "report_fleet": "select cast(reading_start_at as varchar), "
    "round(cast(fleet_kw as numeric(28, 6)), 5) from reporting.rpt_fleet_demand order by 1",
}


def normalize(rows: list[tuple]) -> list[tuple]:
    return [tuple(float(v) if hasattr(v, "as_tuple") else v for v in row) for row in rows]


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory, real_data):
    base = tmp_path_factory.mktemp("parity")
    files = base / "files"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            "--out",
            str(files),
            "--meters",
            "12",
            "--days",
            "8",
        ],
        check=True,
        capture_output=True,
    )
    # Channel kinds, registers with gaps of every length and a rollover, a wide file with its
    # own columns and quality list.
    write_prosumer_file(files)
    write_register_file(files)
    write_wide_file(files)
    inputs = [
        *sorted(files.glob("*.csv")),
        real_data / "sgsc-smart-grid-smart-city/sgsc_interval_2013-04-05_to_2013-04-09.csv",
        real_data / "lcl-london-smart-meters/kaggle-halfhourly-2013/MAC000037.csv",
        *sorted(FIXTURES.glob("green_button_*/*.xml")),  # Green Button XML, local days in LA
    ]
    homes = {}
    for target in ("duckdb", "postgres"):
        home = base / target
        (home / "landing").mkdir(parents=True)
        land(home, *inputs)
        homes[target] = home
    return homes, inputs


def test_same_answers_on_duckdb_and_postgres(both_stores, pg_env):
    homes, _ = both_stores
    for target, home in homes.items():
        result = run_cli(home, "run", "--target", target, env=pg_env)
        assert result.returncode == 0, f"{target}: {result.stdout}{result.stderr}"
    with duck(homes["duckdb"]) as con, pg_connect(pg_env) as pg:
        duck_rows = normalize(con.execute(PER_METER_DAY).fetchall())
        pg_rows = normalize(pg.execute(PER_METER_DAY).fetchall())
        assert len(duck_rows) > 500
        assert duck_rows == pg_rows
        for name, sql in OTHERS.items():
            assert normalize(con.execute(sql).fetchall()) == normalize(
                pg.execute(sql).fetchall()
            ), name
    for target, home in homes.items():
        report = run_cli(home, "report", "--target", target, env=pg_env)
        assert report.returncode == 0, f"{target}: {report.stdout}{report.stderr}"
    for target, home in homes.items():
        archived = duckdb.sql(
            f"select count(*) from read_parquet('{home}/parquet/readings/**/*.parquet', "
            "hive_partitioning = true)"
        ).fetchone()[0]
        assert archived == sum(row[3] for row in duck_rows), target
    # The audit (every test on every row, the file balance recounted) passes on both stores.
    for target, home in homes.items():
        audit = run_cli(home, "test", "--target", target, env=pg_env)
        assert audit.returncode == 0, f"{target}: {audit.stdout}"
