"""Synthetic household hours for the forecast's tests, in process and end to end."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pyarrow as pa

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
