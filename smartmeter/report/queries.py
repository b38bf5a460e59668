"""Reading the report's numbers: plain selects from the rpt_ models.

Every number the report shows is built by dbt, in the `reporting` schema
(dbt_project/models/reporting/rpt_*.sql), each model's columns an enforced contract in its .yml.
The selects here only pick columns, filter and order; what the report needs of the warehouse is
derived from them (`SELECTS`), and tests/unit/test_report_queries.py proves every column they
name is in its model's contract. They run alike on DuckDB, PostgreSQL and Spark (read through
the lake's DuckDB views, smartmeter/spark_lake.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from smartmeter.warehouse import Warehouse

SCHEMA = "reporting"
NO_DATA = "no data yet: run `smartmeter run` first"
TABLE_ROWS = 200  # the longest table a panel shows
TOP_ANOMALIES = 50
BACKTEST_DAYS = 14  # the last days of the fleet's backtest drawn against the actuals

FleetSeries = list[tuple[datetime, float]]
Row = tuple[Any, ...]


class ReportError(Exception):
    """The report cannot be written: the warehouse has no report models yet, or only older
    ones."""


@dataclass(frozen=True)
class Select:
    """One select from an rpt_ model: `columns` are returned; `uses` are the other columns the
    `tail` (where, order by, limit with %s placeholders) filters or orders on."""

    model: str
    columns: tuple[str, ...]
    tail: str = ""
    uses: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        select = f"select {', '.join(self.columns)} from {SCHEMA}.{self.model}"
        return f"{select} {self.tail}" if self.tail else select

    @property
    def count_sql(self) -> str:
        return f"select count(*) from {SCHEMA}.{self.model}"

    @property
    def needs(self) -> tuple[str, ...]:
        return (*self.columns, *self.uses)


OVERVIEW = Select(
    "rpt_overview",
    (
        "meters",
        "readings_published",
        "readings_estimated",
        "readings_source_estimated",
        "readings_quarantined",
        "first_reading_at",
        "last_reading_at",
        "long_gaps",
        "gap_meters",
        "intervals_missing",
        "fleet_timezone",
    ),
)
METER_STATUSES = Select("rpt_meter_statuses", ("status", "meters"))
FLEET_DEMAND = Select(
    "rpt_fleet_demand", ("reading_start_at", "fleet_kw"), "order by reading_start_at"
)
FLEET_PEAKS = Select(
    "rpt_fleet_peaks",
    ("peak_type", "period_month", "period_start_at", "period_end_at", "kw", "peak_rank"),
    "order by peak_type, period_start_at",
    uses=("excluded_energy_share",),
)
MONTHLY_SHARES = Select(
    "rpt_fleet_peaks",
    ("period_month", "excluded_energy_share"),
    "where peak_type = 'interval' order by period_month",
    uses=("peak_type",),
)
LOAD_PROFILES = Select(
    "rpt_load_profiles",
    ("season", "day_type", "local_hour", "avg_kw"),
    "order by season, day_type, local_hour",
)
QUARANTINE_REASONS = Select(
    "rpt_quarantine_reasons", ("reason", "readings"), "order by readings desc, reason"
)
FILE_BALANCE = Select(
    "rpt_file_balance",
    (
        "source_file",
        "layout",
        "raw_values",
        "published",
        "quarantined",
        "duplicate_copies",
        "is_balanced",
    ),
    "order by is_balanced, source_file",
)
UNHEALTHY_METERS = Select(
    "rpt_unhealthy_meters",
    (
        "meter_id",
        "status",
        "reasons",
        "zero_runs",
        "constant_runs",
        "deviation_episodes",
        "long_gaps",
    ),
    "order by status_order, meter_id",
    uses=("status_order",),
)
METER_FAULTS = Select(
    "rpt_meter_faults",
    (
        "meter_id",
        "fault_kind",
        "started_at",
        "ended_at",
        "duration_hours",
        "severity",
        "detail",
    ),
    "order by meter_id, started_at limit %s",
)
ANOMALY_COUNTS = Select(
    "rpt_anomaly_counts",
    ("anomaly_level", "reason", "anomalies"),
    "order by anomalies desc, reason, anomaly_level",
)
STRONGEST_ANOMALIES = Select(
    "rpt_anomalies_ranked",
    (
        "meter_id",
        "anomaly_level",
        "period_start_at",
        "period_end_at",
        "observed",
        "expected",
        "unit",
        "score",
        "reason",
    ),
    "where strength_rank <= %s order by strength_rank",
    uses=("strength_rank",),
)
FORECAST_ACCURACY = Select(
    "rpt_forecast_accuracy",
    (
        "forecast_method",
        "horizon_days",
        "first_date",
        "last_date",
        "hours_scored",
        "mae_kw",
        "rmse_kw",
        "mape_pct",
        "skill_vs_naive",
    ),
    "order by horizon_days, skill_vs_naive desc, forecast_method",
)
FORECAST_BACKTEST = Select(
    "rpt_forecast_backtest",
    ("local_date", "local_hour", "forecast_method", "actual_kw", "forecast_kw"),
    "where days_before_latest < %s order by local_date, local_hour, forecast_method",
    uses=("days_before_latest",),
)
NEXT_DAY_FORECAST = Select(
    "rpt_next_day_forecast",
    ("forecast_date", "local_hour", "forecast_method", "forecast_kw"),
    "order by forecast_method, local_hour",
)
# Everything the report reads.
SELECTS = (
    OVERVIEW,
    METER_STATUSES,
    FLEET_DEMAND,
    FLEET_PEAKS,
    MONTHLY_SHARES,
    LOAD_PROFILES,
    QUARANTINE_REASONS,
    FILE_BALANCE,
    UNHEALTHY_METERS,
    METER_FAULTS,
    ANOMALY_COUNTS,
    STRONGEST_ANOMALIES,
    FORECAST_ACCURACY,
    FORECAST_BACKTEST,
    NEXT_DAY_FORECAST,
)


def required_columns() -> dict[str, set[str]]:
    """Each rpt_ model the report reads, and the columns it needs of it."""
    needed: dict[str, set[str]] = {}
    for select in SELECTS:
        needed.setdefault(select.model, set()).update(select.needs)
    return needed


@dataclass(frozen=True)
class Totals:
    meters: int
    published: int
    estimated: int  # by the pipeline (quality_flag E)
    source_estimated: int  # delivered as estimated or substituted by the source
    quarantined: int
    first_reading_at: datetime | None
    last_reading_at: datetime | None
    status_counts: dict[str, int]
    long_gaps: int = 0
    gap_meters: int = 0
    intervals_missing: float = 0.0

    @property
    def estimated_share(self) -> float:
        return self.estimated / self.published if self.published else 0.0

    @property
    def source_estimated_share(self) -> float:
        return self.source_estimated / self.published if self.published else 0.0


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, as read from the warehouse (rows in their select's column
    order)."""

    totals: Totals
    zone: str = "UTC"  # the fleet's day is drawn in it
    fleet: FleetSeries = field(default_factory=list)
    peaks: list[Row] = field(default_factory=list)  # FLEET_PEAKS
    monthly_shares: list[Row] = field(default_factory=list)  # MONTHLY_SHARES
    profiles: list[Row] = field(default_factory=list)  # LOAD_PROFILES
    quarantine_reasons: list[Row] = field(default_factory=list)
    file_balance: list[Row] = field(default_factory=list)
    unhealthy_meters: list[Row] = field(default_factory=list)
    faults: list[Row] = field(default_factory=list)  # the first TABLE_ROWS
    fault_total: int = 0
    anomaly_counts: list[Row] = field(default_factory=list)
    strongest_anomalies: list[Row] = field(default_factory=list)  # the TOP_ANOMALIES strongest
    accuracy: list[Row] = field(default_factory=list)
    backtest: list[Row] = field(default_factory=list)  # the last BACKTEST_DAYS days
    next_day: list[tuple[date, int, str, float]] = field(default_factory=list)


def require_models(warehouse: Warehouse) -> None:
    """Raise ReportError unless every rpt_ model and column the report reads is there."""
    present = {
        (table, column)
        for table, column in warehouse.query(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = %s",
            (SCHEMA,),
        )
    }
    tables = {table for table, _ in present}
    needed = required_columns()
    missing_tables = [f"{SCHEMA}.{model}" for model in needed if model not in tables]
    if missing_tables:
        raise ReportError(f"{NO_DATA} (missing: {', '.join(missing_tables)})")
    missing_columns = [
        f"{SCHEMA}.{model}.{column}"
        for model, columns in needed.items()
        for column in sorted(columns)
        if (model, column) not in present
    ]
    if missing_columns:
        raise ReportError(
            "the report models were built by an older version (missing: "
            f"{', '.join(missing_columns)}): run `smartmeter run` to rebuild them"
        )


def read(warehouse: Warehouse) -> ReportData:
    """Every number of the report, in one pass over the rpt_ models."""
    overview = dict(zip(OVERVIEW.columns, warehouse.query(OVERVIEW.sql)[0], strict=True))
    totals = Totals(
        meters=overview["meters"],
        published=overview["readings_published"],
        estimated=overview["readings_estimated"],
        source_estimated=overview["readings_source_estimated"],
        quarantined=overview["readings_quarantined"],
        first_reading_at=overview["first_reading_at"],
        last_reading_at=overview["last_reading_at"],
        status_counts=dict(warehouse.query(METER_STATUSES.sql)),
        long_gaps=overview["long_gaps"],
        gap_meters=overview["gap_meters"],
        intervals_missing=float(overview["intervals_missing"] or 0),
    )
    chosen = warehouse.home.settings.report_timezone if warehouse.home is not None else ""
    return ReportData(
        totals=totals,
        zone=fleet_zone(chosen, overview["fleet_timezone"]),
        fleet=[(at, float(kw)) for at, kw in warehouse.query(FLEET_DEMAND.sql)],
        peaks=warehouse.query(FLEET_PEAKS.sql),
        monthly_shares=warehouse.query(MONTHLY_SHARES.sql),
        profiles=warehouse.query(LOAD_PROFILES.sql),
        quarantine_reasons=warehouse.query(QUARANTINE_REASONS.sql),
        file_balance=warehouse.query(FILE_BALANCE.sql),
        unhealthy_meters=warehouse.query(UNHEALTHY_METERS.sql),
        faults=warehouse.query(METER_FAULTS.sql, (TABLE_ROWS,)),
        fault_total=warehouse.scalar(METER_FAULTS.count_sql),
        anomaly_counts=warehouse.query(ANOMALY_COUNTS.sql),
        strongest_anomalies=warehouse.query(STRONGEST_ANOMALIES.sql, (TOP_ANOMALIES,)),
        accuracy=warehouse.query(FORECAST_ACCURACY.sql),
        backtest=warehouse.query(FORECAST_BACKTEST.sql, (BACKTEST_DAYS,)),
        next_day=[
            (day, hour, method, float(kw))
            for day, hour, method, kw in warehouse.query(NEXT_DAY_FORECAST.sql)
        ],
    )


def fleet_zone(chosen: str, most_kept: str | None) -> str:
    """The zone the fleet's day is drawn in: SMARTMETER_REPORT_TIMEZONE (UTC on request), else
    the zone most of the meters keep (an evening peak reads 18:00 local), else UTC."""
    if chosen:
        ZoneInfo(chosen)  # an unknown zone is a clear error, not a silent UTC
        return chosen
    return most_kept or "UTC"
