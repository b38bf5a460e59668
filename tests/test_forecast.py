"""The learned day-ahead forecast (smartmeter/forecast.py): no leakage, too little history, and
the step of `smartmeter run` on DuckDB and PostgreSQL, scored beside the baselines on the same
meter-hours."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO, land, pg_connect, q, run_cli
from forecast_data import SETTINGS, synthetic_hours

from smartmeter import forecast, forecast_models


def generated(folder, meters: int, days: int) -> list:
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            "--out",
            str(folder),
            "--meters",
            str(meters),
            "--days",
            str(days),
            "--seed",
            "7",
        ],
        check=True,
        capture_output=True,
    )
    return sorted(folder.glob("*.csv"))


SAME_HOURS = """
    select scope, coalesce(meter_id, ''), count(distinct hours_scored), count(*),
        max(case when forecast_method = 'lightgbm_quantile' then 1 else 0 end)
    from marts.forecast_accuracy where horizon_days = 1 group by 1, 2
"""


@pytest.mark.slow
def test_run_forecasts_and_scores_on_the_same_hours(home, tmp_path):
    land(home, *generated(tmp_path / "gen", 8, 21))
    result = run_cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "forecast ok" in result.stdout
    rows = q(home, "select count(*) from forecasts.learned_forecasts")[0][0]
    assert rows > 0
    groups = q(home, SAME_HOURS)
    assert groups and all(
        hours == 1 and methods == 4 and learned for *_, hours, methods, learned in groups
    )
    fleet = q(
        home,
        "select skill_vs_naive from marts.forecast_accuracy where scope = 'fleet' "
        "and forecast_method = 'lightgbm_quantile'",
    )
    assert len(fleet) == 1 and fleet[0][0] is not None
    assert (
        q(
            home,
            "select count(*) from marts.fct_forecasts "
            "where forecast_method = 'lightgbm_quantile' and scope = 'fleet'",
        )[0][0]
        == 24
    )

    # The step again, on the same archive: every block's models come from the home's store, and
    # the forecasts are the same to the last bit.
    from smartmeter import targets
    from smartmeter.home import Home

    learned = "select * exclude (issued_at) from forecasts.learned_forecasts order by all"
    before = q(home, learned)
    stored = sorted((home / ".state/forecast_models").iterdir())
    models = [p for p in stored if p.name.endswith(forecast_models.SUFFIX)]
    days = [p for p in stored if p.name.endswith(forecast_models.ARRAY_SUFFIX)]
    assert models and len(models) % len(forecast.OBJECTIVES) == 0
    assert len(days) == len({row[1] for row in before})  # one array per forecast day
    data_home = Home.resolve(home)
    with targets.connected(data_home, "duckdb") as warehouse:
        again = forecast.run_forecast(
            data_home, warehouse, forecast.Settings.from_project(data_home)
        )
    assert again.fits == 0
    assert f"({len(models)} models and {len(days)} days' forecasts reused)" in again.detail
    assert q(home, learned) == before
    assert sorted((home / ".state/forecast_models").iterdir()) == stored


@pytest.mark.slow
def test_run_with_too_little_history_or_switched_off_writes_nothing(home, tmp_path):
    land(home, *generated(tmp_path / "gen", 4, 8))
    result = run_cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not enough history yet" in result.stdout
    assert q(home, "select count(*) from forecasts.learned_forecasts") == [(0,)]
    result = run_cli(home, "run", "--no-forecast", "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")]
    assert "export" in steps and "forecast" not in steps


@pytest.mark.postgres
@pytest.mark.slow
def test_run_forecasts_on_postgres(home, tmp_path, pg_env):
    land(home, *generated(tmp_path / "gen", 6, 21))
    result = run_cli(home, "run", "--target", "postgres", env=pg_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "forecast ok" in result.stdout
    with pg_connect(pg_env) as con:
        learned = con.execute("select count(*) from forecasts.learned_forecasts").fetchone()[0]
        groups = con.execute(SAME_HOURS).fetchall()
    assert learned > 0
    assert groups and all(
        hours == 1 and methods == 4 and learned for *_, hours, methods, learned in groups
    )


def macro_columns() -> list[tuple[str, str]]:
    """The columns macros/plumbing/learned_forecasts.sql declares for the table."""
    text = (REPO / "dbt_project/macros/plumbing/learned_forecasts.sql").read_text()
    body = text.split("learned_forecast_columns() -%}", 1)[1].split("]) }}", 1)[0]
    return re.findall(r"\('(\w+)', '(\w+)'\)", body)


def test_the_step_writes_the_columns_the_table_declares():
    assert [name for name, _ in macro_columns()] == forecast.SCHEMA.names


@pytest.mark.spark
def test_spark_reads_the_forecasts_where_the_step_writes_them(tmp_path):
    """The Spark route: the step's Parquet file, under the folder the on-run-start macro
    registers as forecasts.learned_forecasts, read by Spark with the declared columns."""
    from pyspark.sql import SparkSession

    from smartmeter import spark_lake
    from smartmeter.home import Home

    home = Home(tmp_path / "home")
    table, _, _ = forecast.forecast_grid(
        forecast.Grid.from_hours(synthetic_hours(2, 20)), SETTINGS, forecast.datetime(2024, 3, 1)
    )

    relation = "forecasts.learned_forecasts"
    spark_lake.replace_lake_table(home, relation, table)  # what SparkWarehouse.replace_rows does
    # the macro's location, as dbt renders it: <raw>/../forecasts/learned_forecasts
    location = spark_lake.raw_dir(home) / ".." / "forecasts" / "learned_forecasts"
    assert location.resolve() == spark_lake.lake_table_dir(home, relation).resolve()
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    try:
        columns = ", ".join(f"{name} {kind}" for name, kind in macro_columns())
        spark.sql(f"create table learned_forecasts ({columns}) using parquet location '{location}'")
        rows = spark.sql(
            "select count(*), count(distinct meter_id), min(local_hour), max(local_hour), "
            "sum(forecast_kw) from learned_forecasts"
        ).collect()[0]
    finally:
        spark.stop()
    assert rows[0] == table.num_rows and rows[1] == 2 and (rows[2], rows[3]) == (0, 23)
    assert rows[4] == pytest.approx(sum(table.column("forecast_kw").to_pylist()))
