"""The learned forecast in process (smartmeter/forecast.py): no leakage, ordered quantiles,
too little history, the refit calendar, and the models kept between runs
(smartmeter/forecast_models.py), which must change no forecast by a bit."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from forecast_data import SETTINGS, forecasts_by_key, synthetic_hours

from smartmeter import forecast
from smartmeter.forecast_models import ARRAY_SUFFIX, SUFFIX, ModelStore


@pytest.fixture(autouse=True)
def fewer_rounds(monkeypatch):
    """Every property here holds for any number of boosting rounds; fewer keep the file fast."""
    monkeypatch.setattr(forecast, "ROUNDS", 40)


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


# -- models kept between runs -------------------------------------------------------------------

ISSUED = forecast.datetime(2024, 3, 1)


def table_values(table) -> dict[tuple, tuple]:
    """Every forecast by meter, day and hour, with when its model was trained."""
    keys = zip(
        *(table.column(n).to_pylist() for n in ("meter_id", "local_date", "local_hour")),
        strict=True,
    )
    values = zip(
        *(
            table.column(n).to_pylist()
            for n in ("forecast_kw", "p10_kw", "p90_kw", "mean_kw", "trained_through")
        ),
        strict=True,
    )
    return dict(zip(keys, values, strict=True))


def run(hours, store=None, settings=SETTINGS):
    grid = forecast.Grid.from_hours(hours)
    table, fits, _ = forecast.forecast_grid(grid, settings, ISSUED, store)
    return table_values(table), fits


def first_days(hours, days: int):
    last = min(hours.column("local_date").to_pylist()) + timedelta(days=days - 1)
    keep = [d <= last for d in hours.column("local_date").to_pylist()]
    return hours.filter(keep)


def test_a_second_run_fits_nothing_and_forecasts_the_same_to_the_bit(tmp_path):
    hours = synthetic_hours(5, 40)
    fresh, fresh_fits = run(hours)
    store = ModelStore(tmp_path / "models")
    first, first_fits = run(hours, store)
    assert first == fresh and first_fits == fresh_fits > 0
    again = ModelStore(tmp_path / "models")
    second, second_fits = run(hours, again)
    assert second == fresh and second_fits == 0 and again.reused == fresh_fits
    assert again.days_reused == len({key[1] for key in fresh})  # nothing predicted again


@pytest.mark.parametrize("days", [35, 36])  # a new block begins on day 35 (a Monday)
def test_one_more_day_fits_at_most_the_newest_block(tmp_path, days):
    """Day after day, each run refits only a block that begins on the new day, and gives what a
    run with no stored model gives."""
    hours = synthetic_hours(4, 40)
    store = ModelStore(tmp_path / "models")
    run(first_days(hours, days - 1), store)
    store.keep_only_used()
    store = ModelStore(tmp_path / "models")
    kept, fits = run(first_days(hours, days), store)
    fresh, fresh_fits = run(first_days(hours, days))
    assert kept == fresh
    # only the day after the new data is predicted: the earlier days' features read nothing new
    assert store.days_reused == len({key[1] for key in fresh}) - 1
    grid = forecast.Grid.from_hours(first_days(hours, days))
    new_day = grid.day(days)  # the day after the data, forecast for the first time
    starts_a_block = forecast.refit_day(new_day, SETTINGS.refit_days) == new_day
    assert fits == (len(forecast.OBJECTIVES) if starts_a_block else 0)
    assert fits < fresh_fits


def test_a_revised_hour_refits_the_blocks_that_learned_from_it(tmp_path):
    hours = synthetic_hours(4, 40)
    store = ModelStore(tmp_path / "models")
    run(hours, store)
    grid = forecast.Grid.from_hours(hours)
    revised = forecast.Grid.from_hours(hours)
    revised.values[2, 33, 5] = 40.0  # one hour of one meter, inside the backtest
    blocks = {forecast.refit_day(grid.day(d), 7) for d in range(30, 41)}
    learned_from_it = {b for b in blocks if b > grid.day(33)}
    table, fits, _ = forecast.forecast_grid(revised, SETTINGS, ISSUED, store)
    _, fresh_fits = run(hours)
    revised_fresh = forecast.Grid.from_hours(hours)
    revised_fresh.values[2, 33, 5] = 40.0
    expected, _, _ = forecast.forecast_grid(revised_fresh, SETTINGS, ISSUED)
    assert table_values(table) == table_values(expected)
    assert fits == len(forecast.OBJECTIVES) * len(learned_from_it) and 0 < fits < fresh_fits


def test_other_settings_or_meters_miss_the_stored_models(tmp_path):
    hours = synthetic_hours(4, 40)
    store = ModelStore(tmp_path / "models")
    _, fits = run(hours, store)
    longer = forecast.Settings(
        refit_days=7, training_days=90, min_history_days=14, backtest_days=10
    )
    _, other_fits = run(hours, ModelStore(tmp_path / "models"), longer)
    assert other_fits == fits
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forecast, "ROUNDS", forecast.ROUNDS + 1)
        _, more_rounds_fits = run(hours, ModelStore(tmp_path / "models"))
    assert more_rounds_fits == fits
    fewer = hours.filter([m != "M03" for m in hours.column("meter_id").to_pylist()])
    _, fewer_fits = run(fewer, ModelStore(tmp_path / "models"))
    assert fewer_fits == fits


def test_the_store_keeps_only_what_the_run_used(tmp_path):
    folder = tmp_path / "models"
    store = ModelStore(folder)
    run(synthetic_hours(3, 40), store)
    used = set(store.used)
    (folder / ".partial-left-by-a-stopped-run").write_text("tree")
    (folder / f"old{SUFFIX}").write_text("tree")
    store.keep_only_used()
    kept = {p.name.removesuffix(SUFFIX).removesuffix(ARRAY_SUFFIX) for p in folder.iterdir()}
    assert kept == used


def test_an_unreadable_model_is_fitted_again(tmp_path):
    hours = synthetic_hours(3, 40)
    fresh, _ = run(hours)
    store = ModelStore(tmp_path / "models")
    run(hours, store)
    damaged = sorted((tmp_path / "models").glob(f"*{SUFFIX}"))[0]
    damaged.write_text("not a model")
    again, fits = run(hours, ModelStore(tmp_path / "models"))
    assert again == fresh and fits == len(forecast.OBJECTIVES)


def test_an_unreadable_days_forecasts_are_predicted_again(tmp_path):
    hours = synthetic_hours(3, 40)
    fresh, _ = run(hours)
    run(hours, ModelStore(tmp_path / "models"))
    for damaged in sorted((tmp_path / "models").glob(f"*{ARRAY_SUFFIX}"))[:2]:
        damaged.write_bytes(b"\x93NUMPY not an array")
    store = ModelStore(tmp_path / "models")
    again, fits = run(hours, store)
    assert again == fresh and fits == 0
    assert store.days_reused == len({key[1] for key in fresh}) - 2
