"""The learned day-ahead forecast (smartmeter/forecast.py): no leakage, too little history, and
the step of `smartmeter run` on DuckDB and PostgreSQL, scored beside the baselines on the same
meter-hours."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest
from conftest import REPO, land, pg_connect, q, run_cli

from smartmeter import forecast

SETTINGS = forecast.Settings(refit_days=7, training_days=60, min_history_days=14, backtest_days=10)


def synthetic_hours(meters: int, days: int, seed: int = 3) -> pa.Table:
    """Households with a daily and weekly rhythm, their own size, noise and a few holes."""
    rng = np.random.default_rng(seed)
    first = date(2024, 1, 1)
    rows: dict[str, list] = {"meter_id": [], "local_date": [], "local_hour": [], "kw": []}
    for m in range(meters):
        size = rng.uniform(0.2, 3.0)
        for d in range(days):
            day = first + timedelta(days=d)
            weekend = day.isoweekday() >= 6
            for h in range(24):
                if rng.random() < 0.02:
                    continue  # a missing hour
                shape = 1 + 0.8 * np.exp(-((h - (10 if weekend else 19)) ** 2) / 6)
                rows["meter_id"].append(f"M{m:02d}")
                rows["local_date"].append(day)
                rows["local_hour"].append(h)
                rows["kw"].append(float(size * shape * rng.lognormal(0, 0.3)))
    return pa.table(rows)


def forecasts_by_key(table: pa.Table) -> dict[tuple, tuple]:
    cols = [table.column(n).to_pylist() for n in ("meter_id", "local_date", "local_hour")]
    values = [table.column(n).to_pylist() for n in ("forecast_kw", "p10_kw", "p90_kw", "mean_kw")]
    return {
        key: vals
        for key, vals in zip(zip(*cols, strict=True), zip(*values, strict=True), strict=True)
    }


def test_features_of_a_day_read_only_earlier_days():
    grid = forecast.Grid.from_hours(synthetic_hours(5, 40))
    day = 30
    before, scale_before = forecast._day_rows(grid, day)
    grid.values[:, day:, :] = np.random.default_rng(0).uniform(0, 50, grid.values[:, day:].shape)
    after, scale_after = forecast._day_rows(grid, day)
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(scale_before, scale_after)
    # ...and the day before does reach them
    grid.values[:, day - 1, :] += 1
    changed, _ = forecast._day_rows(grid, day)
    assert not np.array_equal(np.nan_to_num(before), np.nan_to_num(changed))


@pytest.mark.parametrize("cut", [0, 3, 7])
def test_changing_the_future_changes_no_earlier_forecast(cut):
    """Forecasts of days up to D are the same whatever the data from day D on holds: neither
    their features nor the models that made them saw it."""
    hours = synthetic_hours(6, 45)
    issued = forecast.datetime(2024, 3, 1)
    base, _, _ = forecast.forecast_grid(forecast.Grid.from_hours(hours), SETTINGS, issued)
    grid = forecast.Grid.from_hours(hours)
    last = grid.values.shape[1]
    boundary = last - SETTINGS.backtest_days + cut  # the first day whose data is changed
    rng = np.random.default_rng(cut)
    grid.values[:, boundary:, :] *= rng.uniform(0.1, 10, grid.values[:, boundary:].shape)
    changed, _, _ = forecast.forecast_grid(grid, SETTINGS, issued)
    before, after = forecasts_by_key(base), forecasts_by_key(changed)
    boundary_day = grid.day(boundary)
    earlier = [key for key in before if key[1] <= boundary_day]
    later = [key for key in before if key[1] > boundary_day]
    assert earlier and later
    assert all(before[key] == after[key] for key in earlier)
    assert any(before[key] != after[key] for key in later)


def test_quantiles_are_ordered_and_not_negative():
    table, fits, _ = forecast.forecast_grid(
        forecast.Grid.from_hours(synthetic_hours(4, 30)), SETTINGS, forecast.datetime(2024, 3, 1)
    )
    assert fits >= 4 and table.num_rows > 0
    p10, p50, p90, mean = (
        np.array(table.column(n).to_pylist())
        for n in ("p10_kw", "forecast_kw", "p90_kw", "mean_kw")
    )
    assert (p10 <= p50).all() and (p50 <= p90).all() and (p10 >= 0).all() and (mean >= 0).all()
    # the next day after the data is forecast, for every meter
    last = max(table.column("local_date").to_pylist())
    assert {
        m
        for m, d in zip(
            *(table.column(n).to_pylist() for n in ("meter_id", "local_date")), strict=True
        )
        if d == last
    } == {f"M{m:02d}" for m in range(4)}


def test_too_little_history_forecasts_nothing():
    table, fits, message = forecast.forecast_grid(
        forecast.Grid.from_hours(synthetic_hours(3, 10)), SETTINGS, forecast.datetime(2024, 3, 1)
    )
    assert table.num_rows == 0 and fits == 0
    assert message.startswith("not enough history yet: 10 day(s)")


def test_refit_days_fall_on_one_calendar():
    days = [date(2024, 5, 1) + timedelta(days=i) for i in range(30)]
    refits = {forecast.refit_day(d, 7) for d in days}
    assert all(r.isoweekday() == 1 for r in refits)
    assert all(0 <= (d - forecast.refit_day(d, 7)).days < 7 for d in days)


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
