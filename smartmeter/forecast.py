"""The learned day-ahead forecast, a step of `smartmeter run` after the Parquet export.

One global LightGBM model over every meter's healthy consumption hours (quantile loss for P10,
P50 and P90, squared loss for the mean that fleet sums add), refit every `forecast_refit_days`
on at most `forecast_training_days` of history. It reads its history from the Parquet archive
(folder or bucket), the same on every target, and writes its forecasts to the warehouse table
`forecasts.learned_forecasts` (a dbt source), where `forecast_accuracy` scores them beside the
baselines on the same meter-hours.

No leakage: the features of day d are computed from the days before d only (`features`), and a
model that forecasts d learned only from days before its refit day, which is at most d.
Targets are divided by the meter's mean of the 28 days before (its scale), so one model serves
households of every size.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from smartmeter.dbt_runner import project_var
from smartmeter.forecast_models import ModelStore, digest
from smartmeter.home import Home
from smartmeter.places import home_places
from smartmeter.warehouse import Warehouse, connect_duckdb

METHOD = "lightgbm_quantile"
# What scores the forecasts, rebuilt after they are written.
SCORING_MODELS = ("int_forecasts_scored+", "fct_forecasts+")
# The table's columns, as macros/plumbing/learned_forecasts.sql declares them.
SCHEMA = pa.schema(
    [
        ("meter_id", pa.string()),
        ("local_date", pa.date32()),
        ("local_hour", pa.int32()),
        ("forecast_method", pa.string()),
        ("horizon_days", pa.int32()),
        ("forecast_kw", pa.float64()),
        ("p10_kw", pa.float64()),
        ("p90_kw", pa.float64()),
        ("mean_kw", pa.float64()),
        ("trained_through", pa.date32()),
        ("issued_at", pa.timestamp("us")),
    ]
)
QUANTILES = {"p10_kw": 0.1, "forecast_kw": 0.5, "p90_kw": 0.9}
# What a forecast row holds, in this order wherever they travel together.
OUTPUTS = ("forecast_kw", "p10_kw", "p90_kw", "mean_kw")
# The models of a refit block: three quantiles and the mean, one objective each.
OBJECTIVES = {
    **{name: {"objective": "quantile", "alpha": q} for name, q in QUANTILES.items()},
    "mean_kw": {"objective": "regression"},
}
SCALE_DAYS = 28  # a meter's scale: its mean kW over the 28 days before the forecast day
LOOKBACK_DAYS = 28  # the furthest back a feature reads
MIN_SCALE_KW = 0.01  # a meter drawing nothing still divides by something
# Refit days fall on the same calendar for every run (Mondays when refitting weekly), so a
# backtest day keeps its forecast from one run to the next.
REFIT_EPOCH = date(1970, 1, 5)
PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "max_bin": 63,
    "deterministic": True,
    "seed": 7,
    "verbosity": -1,
}
ROUNDS = 300
# This module's source: a change to the features or the fitting misses every stored model.
_CODE = Path(__file__).read_bytes()
FEATURES = (
    "hour",
    "weekday",
    "log_scale",
    "lag_1d",
    "lag_2d",
    "lag_7d",
    "lag_14d",
    "median_7d",
    "mean_7d",
    "min_7d",
    "max_7d",
    "mean_28d",
    "like_day_4w",
    "yesterday_mean",
    "yesterday_hour_before",
    "yesterday_hour_after",
    "yesterday_last_hour",
)


@dataclass(frozen=True)
class Settings:
    refit_days: int = 7
    training_days: int = 365
    min_history_days: int = 14
    backtest_days: int = 28
    threads: int = 1

    @classmethod
    def from_project(cls, home: Home) -> Settings:
        """The dbt vars (dbt_project/dbt_project.yml): one place declares them for both."""
        return cls(
            refit_days=int(project_var(home, "forecast_refit_days")),
            training_days=int(project_var(home, "forecast_training_days")),
            min_history_days=int(project_var(home, "forecast_min_history_days")),
            backtest_days=int(project_var(home, "backtest_days")),
            threads=home.settings.forecast_threads,
        )


@dataclass
class Outcome:
    rows: int = 0
    fits: int = 0
    detail: str = ""


# -- history ------------------------------------------------------------------------------------


def archive_readings(con: duckdb.DuckDBPyConnection, home: Home) -> str:
    """A relation over the Parquet archive's readings (folder or bucket), "" when the archive
    has no file yet: the data home's places say where it is (smartmeter.places)."""
    return home_places(home).readings.duckdb_parquet_scan(con)


@dataclass
class Fleet:
    """The consumption channels and zones of the meters, and what analytics leave out."""

    channels: pa.Table  # meter_id, channel, timezone
    findings: pa.Table  # meter_id, started_at, ended_at (consumption channels, UTC)


def fleet_from_warehouse(warehouse: Warehouse) -> Fleet:
    channels = warehouse.query(
        "select distinct readings.meter_id, readings.channel, meters.timezone "
        "from marts.fct_readings as readings "
        "inner join marts.dim_meters as meters on readings.meter_id = meters.meter_id "
        "left join marts.meter_health as health on readings.meter_id = health.meter_id "
        "where readings.channel_kind = 'consumption' "
        "and not coalesce(health.is_excluded_from_peaks, false)"
    )
    findings = warehouse.query(
        "select meter_id, started_at, ended_at from marts.meter_faults "
        "where channel_kind = 'consumption'"
    )
    return Fleet(
        pa.table(
            {
                name: [row[i] for row in channels]
                for i, name in enumerate(["meter_id", "channel", "timezone"])
            },
            schema=pa.schema(
                [("meter_id", pa.string()), ("channel", pa.string()), ("timezone", pa.string())]
            ),
        ),
        pa.table(
            {
                name: [row[i] for row in findings]
                for i, name in enumerate(["meter_id", "started_at", "ended_at"])
            },
            schema=pa.schema(
                [
                    ("meter_id", pa.string()),
                    ("started_at", pa.timestamp("us")),
                    ("ended_at", pa.timestamp("us")),
                ]
            ),
        ),
    )


def hourly_history(home: Home, fleet: Fleet, since: date | None = None) -> pa.Table:
    """Each meter's average consumption kW per local day and hour, from the archive: its
    consumption channels summed per interval, outlier intervals and the hours overlapping a
    finding left out. Columns meter_id, local_date, local_hour, kw."""
    con = connect_duckdb(home)
    try:
        con.execute("set TimeZone = 'UTC'")
        source = archive_readings(con, home)
        if not source or fleet.channels.num_rows == 0:
            return pa.table({"meter_id": [], "local_date": [], "local_hour": [], "kw": []})
        # Copied into typed tables: an Arrow scan's statistics (an empty table, a column of
        # nulls) can fail DuckDB's planner.
        con.register("channels_given", fleet.channels)
        con.register("findings_given", fleet.findings)
        con.execute(
            "create temp table channels as select cast(meter_id as varchar) as meter_id, "
            "cast(channel as varchar) as channel, cast(timezone as varchar) as timezone "
            "from channels_given"
        )
        con.execute(
            "create temp table findings as select cast(meter_id as varchar) as meter_id, "
            "cast(started_at as timestamp) as started_at, cast(ended_at as timestamp) as ended_at "
            "from findings_given"
        )
        since_filter = f"and reading_date >= date '{since.isoformat()}'" if since else ""
        # The archive's rows first into a table: planning the aggregates straight over the
        # Parquet scan's statistics hit a DuckDB internal error on some archives.
        con.execute(
            f"""
            create temp table readings as
            select
                cast(meter_id as varchar) as meter_id,
                cast(channel as varchar) as channel,
                cast(reading_start_at as timestamptz) as start_at,
                cast(reading_end_at as timestamptz) as end_at,
                cast(kw as double) as kw,
                coalesce(cast(is_outlier as boolean), false) as is_outlier
            from {source}
            where kw is not null {since_filter}
            """
        )
        return con.execute(
            """
            with intervals as (
                select
                    readings.meter_id,
                    channels.timezone,
                    readings.start_at,
                    max(readings.end_at) as end_at,
                    sum(readings.kw) as kw,
                    bool_or(readings.is_outlier) as is_outlier
                from readings
                inner join channels
                    on readings.meter_id = channels.meter_id
                    and readings.channel = channels.channel
                group by readings.meter_id, channels.timezone, readings.start_at
            ),
            hours as (
                select
                    meter_id,
                    cast(timezone(timezone, start_at) as date) as local_date,
                    cast(hour(timezone(timezone, start_at)) as integer) as local_hour,
                    min(cast(timezone('UTC', date_trunc('hour', start_at)) as timestamp))
                        as hour_start_at,
                    max(cast(timezone('UTC', end_at) as timestamp)) as hour_end_at,
                    avg(kw) as kw
                from intervals
                where not is_outlier
                group by all
            )
            select meter_id, local_date, local_hour, kw
            from hours
            where not exists (
                select 1 from findings
                where findings.meter_id = hours.meter_id
                and findings.started_at < hours.hour_end_at
                and findings.ended_at > hours.hour_start_at
            )
            order by meter_id, local_date, local_hour
            """
        ).to_arrow_table()
    finally:
        con.close()


# -- features -----------------------------------------------------------------------------------


@dataclass
class Grid:
    """Hourly kW per meter on one calendar: values[meter, day, hour] (NaN where unknown)."""

    meters: list[str]
    first_day: date
    values: np.ndarray
    last_days: np.ndarray  # per meter, the index of its last day with data
    first_days: np.ndarray  # per meter, the index of its first day with data
    rows: dict = field(default_factory=dict, repr=False)  # day -> (features, scale), computed once

    @classmethod
    def from_hours(cls, hours: pa.Table) -> Grid:
        meter_ids = hours.column("meter_id").to_pylist()
        dates = hours.column("local_date").to_pylist()
        meters = sorted(set(meter_ids))
        first = min(dates)
        n_days = (max(dates) - first).days + 1
        values = np.full((len(meters), n_days, 24), np.nan)
        index = {m: i for i, m in enumerate(meters)}
        rows = np.array([index[m] for m in meter_ids], dtype=np.int64)
        days = np.array([(d - first).days for d in dates], dtype=np.int64)
        hour = np.asarray(hours.column("local_hour").to_numpy(zero_copy_only=False), dtype=np.int64)
        values[rows, days, hour] = hours.column("kw").to_numpy(zero_copy_only=False)
        last_days = np.full(len(meters), -1, dtype=np.int64)
        np.maximum.at(last_days, rows, days)
        first_days = np.full(len(meters), n_days, dtype=np.int64)
        np.minimum.at(first_days, rows, days)
        return cls(meters, first, values, last_days, first_days)

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=int(index))


def _nanmean(block: np.ndarray, axis: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = np.sum(~np.isnan(block), axis=axis)
        return np.where(counts > 0, np.nansum(block, axis=axis) / np.maximum(counts, 1), np.nan)


def _nan_reduce(fn, block: np.ndarray, axis: int) -> np.ndarray:
    out = np.full(np.delete(block.shape, axis), np.nan)
    present = np.any(~np.isnan(block), axis=axis)
    if present.any():
        moved = np.moveaxis(block, axis, -1)[present]
        out[present] = fn(moved, axis=-1)
    return out


def features(values: np.ndarray, day: int, weekday: int) -> tuple[np.ndarray, np.ndarray]:
    """The feature rows of one forecast day for every meter and hour (meters x 24 rows, in that
    order) and each meter's scale. `values` holds days [day - LOOKBACK_DAYS, day) only, so
    nothing of day `day` or later can reach a feature."""
    past = values  # (meters, LOOKBACK_DAYS, 24): the days before the forecast day
    meters = past.shape[0]
    scale = _nanmean(past[:, -SCALE_DAYS:, :].reshape(meters, -1), axis=1)
    scale = np.where(np.isnan(scale), np.nan, np.maximum(scale, MIN_SCALE_KW))
    s = scale[:, None]
    week = past[:, -7:, :]
    yesterday = past[:, -1, :]
    hour_before = np.concatenate([past[:, -2, -1:], yesterday[:, :-1]], axis=1)
    hour_after = np.concatenate([yesterday[:, 1:], np.full((meters, 1), np.nan)], axis=1)
    columns = {
        "hour": np.broadcast_to(np.arange(24), (meters, 24)),
        "weekday": np.full((meters, 24), weekday),
        "log_scale": np.broadcast_to(np.log(scale)[:, None], (meters, 24)),
        "lag_1d": yesterday / s,
        "lag_2d": past[:, -2, :] / s,
        "lag_7d": past[:, -7, :] / s,
        "lag_14d": past[:, -14, :] / s,
        "median_7d": _nan_reduce(np.median, week, axis=1) / s,
        "mean_7d": _nanmean(week, axis=1) / s,
        "min_7d": _nan_reduce(np.min, week, axis=1) / s,
        "max_7d": _nan_reduce(np.max, week, axis=1) / s,
        "mean_28d": _nanmean(past, axis=1) / s,
        "like_day_4w": _nanmean(past[:, [-7, -14, -21, -28], :], axis=1) / s,
        "yesterday_mean": np.broadcast_to(_nanmean(yesterday, axis=1)[:, None], (meters, 24)) / s,
        "yesterday_hour_before": hour_before / s,
        "yesterday_hour_after": hour_after / s,
        "yesterday_last_hour": np.broadcast_to(yesterday[:, -1:], (meters, 24)) / s,
    }
    matrix = np.stack([np.asarray(columns[name], dtype=np.float64) for name in FEATURES], axis=-1)
    return matrix.reshape(meters * 24, len(FEATURES)), scale


def day_rows(grid: Grid, day: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and scale of forecast day `day` (an index on the grid; it may be one past it),
    from the LOOKBACK_DAYS days before it (missing days are NaN)."""
    if day not in grid.rows:
        grid.rows[day] = _day_rows(grid, day)
    return grid.rows[day]


def _day_rows(grid: Grid, day: int) -> tuple[np.ndarray, np.ndarray]:
    start = day - LOOKBACK_DAYS
    past = np.full((len(grid.meters), LOOKBACK_DAYS, 24), np.nan)
    lo, hi = max(start, 0), min(day, grid.values.shape[1])
    if hi > lo:
        past[:, lo - start : hi - start, :] = grid.values[:, lo:hi, :]
    return features(past, day, grid.day(day).isoweekday())


# -- fitting ------------------------------------------------------------------------------------


def _training_set(grid: Grid, first_day: int, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for day in range(max(first_day, 1), end_day):
        x, scale = day_rows(grid, day)
        y = (grid.values[:, day, :] / scale[:, None]).reshape(-1)
        keep = ~np.isnan(y)
        xs.append(x[keep])
        ys.append(y[keep])
    if not xs:
        return np.empty((0, len(FEATURES))), np.empty(0)
    return np.concatenate(xs), np.concatenate(ys)


def _fit(x: np.ndarray, y: np.ndarray, objective: dict, threads: int = 1) -> object:
    import lightgbm

    # One thread unless told (settings.forecast_threads): OpenMP threads spinning on a busy
    # machine cost 10x (measured).
    data = lightgbm.Dataset(x, y, feature_name=list(FEATURES), categorical_feature=["weekday"])
    params = {**PARAMS, **objective, "num_threads": threads}
    return lightgbm.train(params, data, num_boost_round=ROUNDS)


def _block_key(grid: Grid, refit: int, settings: Settings) -> str:
    """Everything a refit block's models are a function of: the hours its training days and
    their features read (from LOOKBACK_DAYS before its first training day up to its refit
    day), on their calendar, the meters in grid order, the settings and this module's code."""
    import lightgbm

    lo = max(refit - settings.training_days - LOOKBACK_DAYS, 0)
    return digest(
        _CODE,
        lightgbm.__version__,
        json.dumps(
            {
                "params": PARAMS,
                "objectives": OBJECTIVES,
                "rounds": ROUNDS,
                "features": FEATURES,
                "training_days": settings.training_days,
                "threads": settings.threads,
            },
            sort_keys=True,
        ),
        grid.day(lo).isoformat(),
        grid.day(refit).isoformat(),
        "\n".join(grid.meters),
        np.ascontiguousarray(grid.values[:, lo:refit, :]).tobytes(),
    )


def _block_models(
    grid: Grid, refit: int, settings: Settings, store: ModelStore | None, key: str | None
) -> tuple[dict[str, object], int]:
    """The models of the block refit on day index `refit` (empty when there is too little to
    learn from) and how many were fitted now rather than taken from the store (under `key`,
    the block's _block_key; None keeps nothing)."""
    import lightgbm

    if store is not None and key is not None:
        texts = {name: store.get(f"{key}-{name}") for name in OBJECTIVES}
        if all(texts.values()):
            try:
                models = {name: lightgbm.Booster(model_str=t) for name, t in texts.items()}
            except lightgbm.basic.LightGBMError:
                pass  # a damaged file: fitted again below, and written over
            else:
                store.reused += len(models)
                return models, 0
    x, y = _training_set(grid, refit - settings.training_days, refit)
    if len(y) < 24 * settings.min_history_days:
        return {}, 0
    models = {
        name: _fit(x, y, objective, settings.threads) for name, objective in OBJECTIVES.items()
    }
    if store is not None and key is not None:
        for name, model in models.items():
            store.put(f"{key}-{name}", model.model_to_string())
    return models, len(models)


def _day_forecasts(
    grid: Grid,
    day: int,
    known: np.ndarray,
    models: dict[str, object],
    store: ModelStore | None,
    block_key: str | None,
) -> np.ndarray:
    """The forecasts of day index `day` for the `known` meter-hours, one row per OUTPUTS name
    (the quantiles ordered, none negative). Kept under a key of the block's models, the day,
    the rows asked for and the hours the day's features read, so an unchanged day is read back
    rather than predicted again."""
    key = None
    if store is not None and block_key is not None:
        lo = max(day - LOOKBACK_DAYS, 0)
        key = digest(
            block_key,
            grid.day(lo).isoformat(),
            grid.day(day).isoformat(),
            known.tobytes(),
            np.ascontiguousarray(grid.values[:, lo:day, :]).tobytes(),
        )
        kept = store.get_array(key, (len(OUTPUTS), int(known.sum())))
        if kept is not None:
            return kept
    rows, scale = day_rows(grid, day)
    predicted = {
        name: np.maximum(model.predict(rows[known]), 0) * np.repeat(scale, 24)[known]
        for name, model in models.items()
    }
    ordered = np.sort(
        np.stack([predicted["p10_kw"], predicted["forecast_kw"], predicted["p90_kw"]]), axis=0
    )
    predicted.update(p10_kw=ordered[0], forecast_kw=ordered[1], p90_kw=ordered[2])
    result = np.stack([predicted[name] for name in OUTPUTS])
    if store is not None and key is not None:
        store.put_array(key, result)
    return result


def refit_day(day: date, refit_days: int) -> date:
    """The refit day of the block `day` falls in (a fixed calendar of refit_days blocks)."""
    offset = (day - REFIT_EPOCH).days % refit_days
    return day - timedelta(days=offset)


def forecast_grid(
    grid: Grid, settings: Settings, issued_at: datetime, store: ModelStore | None = None
) -> tuple[pa.Table, int, str]:
    """Backtest and next-day forecasts from one grid: (table, fits, message). With a store,
    the blocks whose inputs are unchanged since a run fitted them reuse its models."""
    history = grid.last_days - grid.first_days + 1
    if history.max() < settings.min_history_days:
        return (
            SCHEMA.empty_table(),
            0,
            f"not enough history yet: {int(history.max())} day(s), the forecast needs "
            f"{settings.min_history_days} (forecast_min_history_days)",
        )
    # Each meter: its last backtest_days and the day after its data, once it has
    # min_history_days behind it.
    wanted: dict[int, np.ndarray] = {}
    for m, (first, last) in enumerate(zip(grid.first_days, grid.last_days, strict=True)):
        start = max(last - settings.backtest_days + 1, first + settings.min_history_days)
        for day in range(int(start), int(last) + 2):
            wanted.setdefault(day, np.zeros(len(grid.meters), dtype=bool))[m] = True
    blocks: dict[int, list[int]] = {}
    for day in sorted(wanted):
        refit = (refit_day(grid.day(day), settings.refit_days) - grid.first_day).days
        blocks.setdefault(refit, []).append(day)
    columns: dict[str, list] = {name: [] for name in SCHEMA.names}
    fits = 0
    for refit, days in sorted(blocks.items()):
        key = _block_key(grid, refit, settings) if store is not None and refit > 0 else None
        models, fitted = _block_models(grid, refit, settings, store, key)
        fits += fitted
        if not models:
            continue  # too little to learn from before this refit day
        for day in days:
            _, scale = day_rows(grid, day)
            known = np.repeat(wanted[day] & ~np.isnan(scale), 24)
            if not known.any():
                continue
            predicted = dict(
                zip(OUTPUTS, _day_forecasts(grid, day, known, models, store, key), strict=True)
            )
            meters = np.repeat(np.array(grid.meters, dtype=object), 24)[known]
            hours = np.tile(np.arange(24), len(grid.meters))[known]
            count = int(known.sum())
            columns["meter_id"] += meters.tolist()
            columns["local_date"] += [grid.day(day)] * count
            columns["local_hour"] += hours.tolist()
            columns["forecast_method"] += [METHOD] * count
            columns["horizon_days"] += [1] * count
            for name in OUTPUTS:
                columns[name] += predicted[name].tolist()
            columns["trained_through"] += [grid.day(refit - 1)] * count
            columns["issued_at"] += [issued_at] * count
    table = pa.table(columns, schema=SCHEMA)
    if table.num_rows == 0:
        return table, fits, "not enough history yet to train the forecast"
    return table, fits, f"{table.num_rows:,} forecasts by {fits} fits"


# -- the step -----------------------------------------------------------------------------------


def run_forecast(home: Home, warehouse: Warehouse, settings: Settings) -> Outcome:
    """Read the archive, forecast, write the table. Writes nothing when history is short."""
    fleet = fleet_from_warehouse(warehouse)
    # Every meter's backtest, and the models that make it, read at most this far back from the
    # meter's last reading (its oldest block's refit day can be refit_days before its backtest,
    # and that block's first training day reads LOOKBACK_DAYS before it); the meter that
    # stopped first bounds what is read. A block's inputs then stay the same as days arrive.
    earliest_end = warehouse.scalar("select min(last_reading_at) from marts.dim_meters")
    since = None
    if earliest_end is not None:
        span = (
            settings.training_days
            + settings.backtest_days
            + settings.refit_days
            + LOOKBACK_DAYS
            + 2
        )
        since = (earliest_end - timedelta(days=span)).date()
    hours = hourly_history(home, fleet, since)
    if hours.num_rows == 0:
        return Outcome(
            detail="not enough history yet: the Parquet archive has no consumption hours"
        )
    grid = Grid.from_hours(hours)
    store = ModelStore(home.state / "forecast_models")
    issued_at = datetime.now(UTC).replace(tzinfo=None)
    table, fits, message = forecast_grid(grid, settings, issued_at, store)
    if table.num_rows == 0:
        return Outcome(fits=fits, detail=message)
    write_forecasts(warehouse, table)
    store.keep_only_used()
    if store.reused or store.days_reused:
        message += f" ({store.reused} models and {store.days_reused} days' forecasts reused)"
    return Outcome(rows=table.num_rows, fits=fits, detail=message)


def write_forecasts(warehouse: Warehouse, table: pa.Table) -> None:
    """Replace the table's rows, all or nothing, the target's way (targets/*.py)."""
    warehouse.replace_rows("forecasts.learned_forecasts", table)
