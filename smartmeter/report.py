"""`smartmeter report`: one self-contained HTML page about what the warehouse holds.

The page opens without a network: plotly.js is embedded inline once and every chart is a plotly
figure drawn by it; there are no external scripts, styles or fonts. Each panel is a <section>
with an id, a heading and a one-line explanation. The queries are plain selects on the marts
that run on DuckDB and PostgreSQL alike; all reshaping happens here, in Python. Every value
taken from the data is escaped before it goes into the HTML.

A tiny script records JavaScript errors into the hidden <pre id="js-errors">, so a headless
browser can prove the page rendered cleanly.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from smartmeter import targets
from smartmeter.home import Home
from smartmeter.warehouse import Warehouse, connected

REPORT_ZONE_ENV = "SMARTMETER_REPORT_TIMEZONE"
NO_DATA = "no data yet: run `smartmeter run` first"
# What the report reads: a warehouse built by an older version lacks some of it.
REQUIRED_COLUMNS = {
    "marts.dim_meters": ("meter_id",),
    "marts.fct_readings": (
        "meter_id",
        "channel",
        "reading_start_at",
        "reading_end_at",
        "kw",
        "quality_flag",
    ),
    "marts.fct_peak_periods": (
        "peak_type",
        "scope",
        "period_start_at",
        "period_end_at",
        "kw",
        "peak_rank",
        "excluded_energy_share",
    ),
    "marts.fct_usage_profiles": ("scope", "season", "day_type", "local_hour", "avg_kw"),
    "marts.quarantined_readings": ("reason",),
    "marts.meter_gaps": ("meter_id", "intervals_missing"),
    "marts.file_reading_balance": (
        "source_file",
        "layout",
        "raw_values",
        "published",
        "quarantined",
        "duplicate_copies",
        "is_balanced",
    ),
    "marts.meter_health": (
        "meter_id",
        "status",
        "reasons",
        "zero_runs",
        "constant_runs",
        "deviation_episodes",
        "long_gaps",
        "is_excluded_from_peaks",
    ),
    "marts.meter_faults": (
        "meter_id",
        "fault_kind",
        "started_at",
        "ended_at",
        "duration_hours",
        "severity",
        "detail",
    ),
    "marts.fct_anomalies": (
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
    "marts.forecast_accuracy": (
        "scope",
        "forecast_method",
        "horizon_days",
        "first_date",
        "last_date",
        "hours_scored",
        "mae_kw",
        "mape_pct",
        "skill_vs_naive",
    ),
    "marts.fct_forecasts": (
        "scope",
        "forecast_date",
        "local_hour",
        "forecast_method",
        "forecast_kw",
    ),
    "intermediate.int_forecasts_scored": (
        "scope",
        "local_date",
        "local_hour",
        "actual_kw",
        "forecast_method",
        "horizon_days",
        "forecast_kw",
    ),
}
# The day-ahead methods, as the report draws them (the learned one first).
METHODS = {
    "lightgbm_quantile": ("learned model (LightGBM, P50; fleet: mean)", "#2e7d32"),
    "same_hour_median": ("same-hour median, 7 days", "#7b4fb3"),
    "like_day_average": ("like-day average", "#3b6fc4"),
    "naive_persistence": ("naive persistence", "#ef6c00"),
}
LEARNED = "lightgbm_quantile"
ACCURACY_COLUMNS = [
    "method",
    "horizon (days)",
    "from",
    "to",
    "hours",
    "MAE kW",
    "RMSE kW",
    "MAPE %",
    "skill",
]
MAX_CHART_POINTS = 10_000
HEATMAP_DAYS = 366
TABLE_ROWS = 200
TOP_ANOMALIES = 50
BACKTEST_DAYS = 14
# Coarser and coarser buckets for the load curve: the first that fits MAX_CHART_POINTS wins.
RESOLUTIONS = (
    (timedelta(0), "each interval"),
    (timedelta(hours=1), "hourly maximum"),
    (timedelta(days=1), "daily maximum"),
    (timedelta(weeks=1), "weekly maximum"),
)
BUCKET_ORIGIN = datetime(1970, 1, 5)  # a Monday, so weekly buckets start on Mondays
STATUS_COLOURS = {"ok": "#2e7d32", "suspect": "#f9a825", "faulty": "#c62828"}
STATUS_ORDER = {status: rank for rank, status in enumerate(STATUS_COLOURS)}
SEASONS = ("summer", "autumn", "winter", "spring")
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}

STYLE = """
body { margin: 0; background: #f4f5f7; color: #1f2430;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
header, main { max-width: 1320px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 18px; }
h1 { margin: 0 0 4px; font-size: 26px; }
h2 { margin: 0 0 2px; font-size: 19px; }
h3 { margin: 14px 0 4px; font-size: 15px; }
code { background: #e8eaef; padding: 1px 4px; border-radius: 3px; }
.meta { margin: 0 0 12px; color: #555c6b; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; }
.tile { background: #fff; border-radius: 8px; padding: 10px 14px;
        box-shadow: 0 1px 2px rgba(0, 0, 0, .08); }
.tile .value { font-size: 24px; font-weight: 600; }
.tile .label { color: #555c6b; }
.tile .note { color: #7a8190; font-size: 12px; }
nav { margin: 12px 0 0; }
nav a { margin-right: 14px; color: #2f5fb3; text-decoration: none; }
section { background: #fff; border-radius: 8px; margin: 16px 0; padding: 14px 18px;
          box-shadow: 0 1px 2px rgba(0, 0, 0, .08); }
.explain { margin: 0 0 8px; color: #555c6b; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 18px; }
.pair.wide-right { grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); }
.none { color: #7a8190; font-style: italic; }
.facts { margin: 6px 0; }
.table-wrap { max-height: 340px; overflow: auto; border: 1px solid #e3e5ea; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eceef2; text-align: left;
         vertical-align: top; }
th { position: sticky; top: 0; background: #f0f2f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.when { white-space: nowrap; }
.badge { padding: 0 6px; border-radius: 8px; color: #fff; font-size: 11.5px; }
.badge.ok, .badge.yes { background: #2e7d32; }
.badge.suspect { background: #f9a825; color: #1f2430; }
.badge.faulty, .badge.no { background: #c62828; }
.caption { color: #7a8190; font-size: 12px; margin: 4px 0 0; }
"""

# Runs before plotly.js: every uncaught error or rejected promise lands in #js-errors.
ERROR_RECORDER = """
(function () {
  var log = document.getElementById("js-errors");
  function record(text) { log.textContent += text + "\\n"; }
  window.addEventListener("error", function (event) {
    record((event.message || "error") + " (" + (event.filename || "?") + ":" +
           (event.lineno || 0) + ")");
  });
  window.addEventListener("unhandledrejection", function (event) {
    record("unhandled rejection: " + event.reason);
  });
})();
"""


class ReportError(Exception):
    """The report cannot be written: the warehouse has no marts yet, or only older ones."""


class Markup(str):
    """HTML that is safe as it is (built here, with the data inside already escaped)."""


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    explanation: str
    body: str

    def html(self) -> str:
        return (
            f'<section id="{self.id}">\n<h2>{html.escape(self.title)}</h2>\n'
            f'<p class="explain">{html.escape(self.explanation)}</p>\n{self.body}\n</section>'
        )


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

    @property
    def estimated_share(self) -> float:
        return self.estimated / self.published if self.published else 0.0

    @property
    def source_estimated_share(self) -> float:
        return self.source_estimated / self.published if self.published else 0.0


FleetSeries = list[tuple[datetime, float]]


def write_report(home: Home, target: str, output: Path | None = None) -> Path:
    """Write the report and return its path: by default <home>/reports/report-<UTC time>.html,
    also copied to <home>/reports/latest.html."""
    generated_at = datetime.now(UTC)
    if not targets.get(target).is_built(home):
        raise ReportError(NO_DATA)
    with connected(home, target) as warehouse:
        require_marts(warehouse)
        page = render_page(warehouse, home, target, generated_at)
    path = output or home.reports / f"report-{generated_at:%Y%m%dT%H%M%SZ}.html"
    write_atomically(path, page)
    if output is None:
        write_atomically(home.reports / "latest.html", page)
    return path


def require_marts(warehouse: Warehouse) -> None:
    """Raise ReportError unless every relation and column the report reads is there."""
    present = {
        f"{schema}.{table}.{column}"
        for schema, table, column in warehouse.query(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'intermediate')"
        )
    }
    tables = {name.rsplit(".", 1)[0] for name in present}
    missing_tables = [name for name in REQUIRED_COLUMNS if name not in tables]
    if missing_tables:
        raise ReportError(f"{NO_DATA} (missing: {', '.join(missing_tables)})")
    missing_columns = [
        f"{name}.{column}"
        for name, columns in REQUIRED_COLUMNS.items()
        for column in columns
        if f"{name}.{column}" not in present
    ]
    if missing_columns:
        raise ReportError(
            f"the marts were built by an older version (missing: {', '.join(missing_columns)}): "
            "run `smartmeter run` to rebuild them"
        )


def write_atomically(path: Path, text: str) -> None:
    """Readers (a browser, a web server) never see a half-written page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def render_page(warehouse: Warehouse, home: Home, target: str, generated_at: datetime) -> str:
    totals = fetch_totals(warehouse)
    fleet = fetch_fleet_demand(warehouse)
    zone = fleet_zone(warehouse)
    panels = [
        fleet_load_panel(warehouse, fleet, zone),
        heatmap_panel(fleet, zone),
        profiles_panel(warehouse),
        data_quality_panel(warehouse, totals),
        meter_health_panel(warehouse, totals),
        anomalies_panel(warehouse),
        forecast_panel(warehouse),
    ]
    nav = " ".join(f'<a href="#{p.id}">{html.escape(p.title)}</a>' for p in panels)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Smart-meter report: {html.escape(str(home.root))}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            '<pre id="js-errors" hidden></pre>',
            f"<script>{ERROR_RECORDER}</script>",
            f"<script>{get_plotlyjs()}</script>",
            header_html(home, target, generated_at, totals),
            f"<main>\n<nav>{nav}</nav>",
            *(panel.html() for panel in panels),
            "</main>",
            "</body>",
            "</html>",
        ]
    )


# -- queries shared by several panels -------------------------------------------------------

# A delivered value the source itself estimated or substituted (NEM12 E/S/F, a layout's
# declared source_quality column).
SOURCE_ESTIMATED = "quality_flag = 'A' and source_quality_flag in ('E', 'S', 'F')"


def fetch_totals(warehouse: Warehouse) -> Totals:
    published, estimated, source_estimated, first_at, last_at = warehouse.query(
        "select count(*), sum(case when quality_flag = 'E' then 1 else 0 end), "
        f"sum(case when {SOURCE_ESTIMATED} then 1 else 0 end), "
        "min(reading_start_at), max(reading_end_at) from marts.fct_readings"
    )[0]
    status_counts = warehouse.query(
        "select status, count(*) from marts.meter_health group by status"
    )
    return Totals(
        meters=warehouse.scalar("select count(*) from marts.dim_meters"),
        published=published,
        estimated=int(estimated or 0),
        source_estimated=int(source_estimated or 0),
        quarantined=warehouse.scalar("select count(*) from marts.quarantined_readings"),
        first_reading_at=first_at,
        last_reading_at=last_at,
        status_counts={status: count for status, count in status_counts},
    )


def fetch_fleet_demand(warehouse: Warehouse) -> FleetSeries:
    """Fleet kW per interval start: the consumption channels of the meters that meter_health
    does not exclude from peaks, the same fleet as the peak, profile and forecast marts."""
    rows = warehouse.query(
        "select readings.reading_start_at, sum(readings.kw) "
        "from marts.fct_readings as readings "
        "inner join marts.meter_health as health on readings.meter_id = health.meter_id "
        "where readings.channel_kind = 'consumption' and not health.is_excluded_from_peaks "
        "and not readings.is_outlier "
        "group by readings.reading_start_at order by readings.reading_start_at"
    )
    return [(at, float(kw)) for at, kw in rows if kw is not None]


# -- header -----------------------------------------------------------------------------------


def header_html(home: Home, target: str, generated_at: datetime, totals: Totals) -> str:
    where = targets.get(target).describe(home)
    span = "no readings yet"
    if totals.first_reading_at:
        span = f"readings {fmt(totals.first_reading_at)} to {fmt(totals.last_reading_at)} UTC"
    suspect = totals.status_counts.get("suspect", 0)
    tiles = [
        ("meters", f"{totals.meters:,}", ""),
        ("readings published", f"{totals.published:,}", "all channels"),
        (
            "estimated here",
            f"{totals.estimated_share:.2%}",
            f"{totals.estimated:,} readings filled by VEE",
        ),
        (
            "estimated by the source",
            f"{totals.source_estimated_share:.2%}",
            f"{totals.source_estimated:,} readings delivered as estimates",
        ),
        ("quarantined", f"{totals.quarantined:,}", "readings held back"),
        ("faulty meters", f"{totals.status_counts.get('faulty', 0):,}", f"{suspect:,} suspect"),
    ]
    tile_html = "".join(
        f'<div class="tile"><div class="value">{html.escape(value)}</div>'
        f'<div class="label">{html.escape(label)}</div>'
        f'<div class="note">{html.escape(note)}</div></div>'
        for label, value, note in tiles
    )
    return (
        "<header>\n<h1>Smart-meter report</h1>\n"
        f'<p class="meta">Data home <code>{html.escape(str(home.root))}</code> · target '
        f"<code>{html.escape(where)}</code> · generated {generated_at:%Y-%m-%d %H:%M} UTC · "
        f"{html.escape(span)}</p>\n"
        f'<div class="tiles">{tile_html}</div>\n</header>'
    )


# -- panels -----------------------------------------------------------------------------------


def fleet_load_panel(warehouse: Warehouse, fleet: FleetSeries, zone: str = "UTC") -> Panel:
    explanation = (
        "Fleet demand in kW (the meters' consumption channels summed, outlier readings left "
        f"out) in {zone} time, with each month's peak interval and the highest hours of the "
        f"whole history marked ({REPORT_ZONE_ENV} chooses the zone)."
    )
    local = ZoneInfo(zone)

    def shown(at: datetime) -> str:
        return stamp(at.replace(tzinfo=UTC).astimezone(local))

    if not fleet:
        return Panel("fleet-load", "Fleet load", explanation, empty_note("no readings"))
    resolution, label = pick_resolution(fleet)
    points = with_gaps(bucket_maxima(fleet, resolution), resolution)
    figure = new_figure(height=430, yaxis_title="fleet kW", xaxis_title=f"{zone} time")
    figure.add_trace(
        go.Scatter(
            x=[shown(at) for at, _ in points],
            y=[rounded(kw) for _, kw in points],
            mode="lines",
            name=f"fleet demand ({label})",
            line={"width": 1.2, "color": "#3b6fc4"},
        )
    )
    shares = warehouse.query(
        "select period_month, excluded_energy_share from marts.fct_peak_periods "
        "where scope = 'fleet' and peak_type = 'interval' order by period_month"
    )
    peaks = warehouse.query(
        "select peak_type, period_start_at, period_end_at, kw, peak_rank "
        "from marts.fct_peak_periods "
        "where scope = 'fleet' and peak_type in ('interval', 'hour') "
        "order by peak_type, period_start_at"
    )
    monthly = [row for row in peaks if row[0] == "interval"]
    hours = [row for row in peaks if row[0] == "hour"]
    figure.add_trace(
        go.Scatter(
            x=[shown(start) for _, start, _, _, _ in monthly],
            y=[rounded(kw) for _, _, _, kw, _ in monthly],
            mode="markers",
            name="monthly peak interval",
            marker={"symbol": "diamond", "size": 10, "color": "#c62828"},
            hovertext=[f"{shown(start)} {zone}: {kw:,.2f} kW" for _, start, _, kw, _ in monthly],
            hoverinfo="text",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[shown(start + (end - start) / 2) for _, start, end, _, _ in hours],
            y=[rounded(kw) for _, _, _, kw, _ in hours],
            mode="markers",
            name="top hours",
            marker={"symbol": "circle-open", "size": 12, "color": "#ef6c00", "line": {"width": 2}},
            hovertext=[
                f"#{rank} hour {shown(start)} {zone}: {kw:,.2f} kW avg"
                for _, start, _, kw, rank in hours
            ],
            hoverinfo="text",
        )
    )
    caption = (
        f"{len(fleet):,} interval starts shown as {label}; "
        f"{len(monthly)} monthly peaks, top {len(hours)} hours. Left out of each month's peak "
        "(outliers, readings inside fault or suspect episodes), as a share of the fleet's "
        "energy: "
        + ", ".join(f"{month:%Y-%m} {100 * (share or 0):.2f}%" for month, share in shares)
        + "."
    )
    return Panel(
        "fleet-load", "Fleet load", explanation, chart(figure, "fleet-load") + caption_html(caption)
    )


def fleet_zone(warehouse: Warehouse) -> str:
    """The zone the fleet's day is drawn in: SMARTMETER_REPORT_TIMEZONE (UTC on request), else
    the zone most of the meters keep (an evening peak reads 18:00 local)."""
    chosen = warehouse.home.settings.report_timezone if warehouse.home is not None else ""
    if chosen:
        ZoneInfo(chosen)  # an unknown zone is a clear error, not a silent UTC
        return chosen
    rows = warehouse.query(
        "select timezone, count(*) from marts.dim_meters where timezone is not null "
        "group by timezone order by count(*) desc, timezone limit 1"
    )
    return rows[0][0] if rows else "UTC"


def heatmap_panel(fleet: FleetSeries, zone: str = "UTC") -> Panel:
    explanation = (
        f"Average fleet kW by hour of day (rows) and date (columns) in {zone} time, "
        f"over the last {HEATMAP_DAYS} dates with readings ({REPORT_ZONE_ENV} chooses the zone)."
    )
    if not fleet:
        return Panel("heatmap", "Hour-by-day heatmap", explanation, empty_note("no readings"))
    sums: dict[tuple[date, int], float] = defaultdict(float)
    counts: dict[tuple[date, int], int] = defaultdict(int)
    local = ZoneInfo(zone)
    for utc_at, kw in fleet:
        at = utc_at.replace(tzinfo=UTC).astimezone(local)
        sums[at.date(), at.hour] += kw
        counts[at.date(), at.hour] += 1
    days = sorted({day for day, _ in sums})[-HEATMAP_DAYS:]
    z = [
        [
            rounded(sums[day, hour] / counts[day, hour]) if counts.get((day, hour)) else None
            for day in days
        ]
        for hour in range(24)
    ]
    figure = new_figure(height=430, yaxis_title=f"{zone} hour", xaxis_title=f"{zone} date")
    figure.add_trace(
        go.Heatmap(
            x=[day.isoformat() for day in days],
            y=list(range(24)),
            z=z,
            colorscale="Viridis",
            colorbar={"title": {"text": "kW"}},
            hovertemplate="%{x} %{y}:00 " + html.escape(zone) + "<br>%{z:.2f} kW<extra></extra>",
        )
    )
    figure.update_yaxes(dtick=3)
    return Panel("heatmap", "Hour-by-day heatmap", explanation, chart(figure, "heatmap"))


def profiles_panel(warehouse: Warehouse) -> Panel:
    explanation = (
        "Average kW per healthy meter by local hour of day (each meter's own time zone, the "
        "fleet's where it keeps one): "
        "weekdays against weekends, and each season over all days."
    )
    rows = warehouse.query(
        "select season, day_type, local_hour, avg_kw from marts.fct_usage_profiles "
        "where scope = 'fleet' order by season, day_type, local_hour"
    )
    if not rows:
        return Panel("profiles", "Load profiles", explanation, empty_note("no profiles"))
    lines: dict[tuple[str, str], list[tuple[int, float | None]]] = defaultdict(list)
    for season, day_type, hour, kw in rows:
        lines[season, day_type].append((hour, rounded(kw)))
    figure = new_figure(height=400, yaxis_title="average kW per meter", xaxis_title="local hour")
    wanted = [("all", "weekday"), ("all", "weekend")]
    wanted += [(season, "all") for season in SEASONS if (season, "all") in lines]
    for season, day_type in wanted:
        points = lines.get((season, day_type), [])
        is_season = season != "all"
        figure.add_trace(
            go.Scatter(
                x=[hour for hour, _ in points],
                y=[kw for _, kw in points],
                mode="lines",
                name=f"{season} (all days)" if is_season else f"{day_type}s",
                line={"width": 1.5 if is_season else 3, "dash": "dot" if is_season else "solid"},
            )
        )
    figure.update_xaxes(dtick=2, range=[-0.5, 23.5])
    return Panel("profiles", "Load profiles", explanation, chart(figure, "profiles"))


def data_quality_panel(warehouse: Warehouse, totals: Totals) -> Panel:
    explanation = (
        "What became of the readings: published as measured, as the source's own estimates, or "
        "estimated here (gaps filled, registers shared out); quarantined and why, "
        "long gaps, and whether every file's values balance."
    )
    outcome_counts = [
        totals.published - totals.estimated - totals.source_estimated,
        totals.source_estimated,
        totals.estimated,
        totals.quarantined,
    ]
    outcomes_html = (
        chart(
            horizontal_bars(
                [
                    "published, measured",
                    "published, estimated by the source",
                    "published, estimated here",
                    "quarantined",
                ],
                outcome_counts,
                ["#3b6fc4", "#8e6cc4", "#f9a825", "#c62828"],
                xaxis_title="readings",
            ),
            "reading-outcomes",
        )
        if any(outcome_counts)
        else empty_note("no readings")
    )
    reasons = warehouse.query(
        "select reason, count(*) from marts.quarantined_readings "
        "group by reason order by count(*) desc, reason"
    )
    reasons_html = (
        chart(
            horizontal_bars(
                [reason for reason, _ in reasons],
                [count for _, count in reasons],
                "#c62828",
                xaxis_title="readings",
            ),
            "quarantine-reasons",
        )
        if reasons
        else empty_note("none")
    )
    gaps, missing, gap_meters = warehouse.query(
        "select count(*), sum(intervals_missing), count(distinct meter_id) from marts.meter_gaps"
    )[0]
    gaps_line = (
        f"Long gaps: {gaps:,} on {gap_meters:,} meters, "
        f"{float(missing or 0):,.0f} intervals missing."
        if gaps
        else "Long gaps: none."
    )
    balance = warehouse.query(
        "select source_file, layout, raw_values, published, quarantined, duplicate_copies, "
        "is_balanced from marts.file_reading_balance order by is_balanced, source_file"
    )
    balance_html = (
        table(
            ["file", "layout", "raw values", "published", "quarantined", "duplicates", "balanced"],
            [(*row[:-1], badge("yes" if row[-1] else "no")) for row in balance[:TABLE_ROWS]],
        )
        + caption_html(capped(len(balance), "files", ordered="unbalanced first"))
        if balance
        else empty_note("no files loaded")
    )
    body = (
        f'<div class="pair"><div><h3>Readings</h3>{outcomes_html}</div>'
        f"<div><h3>Quarantined by reason</h3>{reasons_html}</div></div>"
        f'<p class="facts">{html.escape(gaps_line)}</p>'
        f"<h3>File balance (marts.file_reading_balance)</h3>{balance_html}"
    )
    return Panel("data-quality", "Data quality", explanation, body)


def meter_health_panel(warehouse: Warehouse, totals: Totals) -> Panel:
    explanation = (
        "Meters judged faulty or suspect and why (zero runs, constant runs, deviation episodes, "
        "long gaps), with the findings behind the verdicts."
    )
    statuses = sorted(
        totals.status_counts, key=lambda s: (STATUS_ORDER.get(s, len(STATUS_ORDER)), s)
    )
    status_html = (
        chart(
            horizontal_bars(
                statuses,
                [totals.status_counts[status] for status in statuses],
                [STATUS_COLOURS.get(status, "#7a8190") for status in statuses],
                xaxis_title="meters",
            ),
            "meter-status",
        )
        if statuses
        else empty_note("no meters")
    )
    fault_total = warehouse.scalar("select count(*) from marts.meter_faults")
    faults = warehouse.query(
        "select meter_id, fault_kind, started_at, ended_at, duration_hours, severity, detail "
        "from marts.meter_faults order by meter_id, started_at limit %s",
        (TABLE_ROWS,),
    )
    anchors: dict[str, str] = {}
    fault_ids: list[str | None] = []
    for meter_id, *_ in faults:
        first_of_meter = meter_id not in anchors
        anchors.setdefault(meter_id, f"faults-{len(anchors) + 1}")
        fault_ids.append(anchors[meter_id] if first_of_meter else None)
    unhealthy = warehouse.query(
        "select meter_id, status, reasons, zero_runs, constant_runs, deviation_episodes, "
        "long_gaps from marts.meter_health where status <> 'ok' "
        "order by case when status = 'faulty' then 0 else 1 end, meter_id"
    )
    health_html = (
        table(
            ["meter", "status", "why", "zero runs", "constant runs", "deviations", "long gaps"],
            [
                (meter_link(meter_id, anchors.get(meter_id)), badge(status), *rest)
                for meter_id, status, *rest in unhealthy[:TABLE_ROWS]
            ],
        )
        + caption_html(capped(len(unhealthy), "meters", ordered="faulty first"))
        if unhealthy
        else empty_note("none: no meter is faulty or suspect")
    )
    faults_html = (
        table(
            ["meter", "fault", "started UTC", "ended UTC", "hours", "severity", "detail"],
            faults,
            row_ids=fault_ids,
        )
        + caption_html(capped(fault_total, "findings", ordered="by meter and start"))
        if faults
        else empty_note("no findings")
    )
    body = (
        f'<div class="pair wide-right"><div><h3>Meters by status</h3>'
        f"{status_html}</div>"
        f"<div><h3>Faulty and suspect meters</h3>{health_html}</div></div>"
        f"<h3>Findings (marts.meter_faults)</h3>{faults_html}"
    )
    return Panel("meter-health", "Meter health", explanation, body)


def anomalies_panel(warehouse: Warehouse) -> Panel:
    explanation = (
        "Readings, hours and days far from what the meter usually does: counts by reason and "
        f"level, and the {TOP_ANOMALIES} strongest by |score|."
    )
    counts = warehouse.query(
        "select anomaly_level, reason, count(*) from marts.fct_anomalies "
        "group by anomaly_level, reason order by count(*) desc, reason"
    )
    if not counts:
        return Panel("anomalies", "Anomalies", explanation, empty_note("none"))
    by_reason = horizontal_bars(
        [f"{reason} ({level})" for level, reason, _ in counts],
        [count for _, _, count in counts],
        "#7b4fb3",
        xaxis_title="anomalies",
    )
    top = warehouse.query(
        "select meter_id, anomaly_level, period_start_at, period_end_at, observed, expected, "
        "unit, score, reason from marts.fct_anomalies "
        "order by abs(score) desc nulls last, period_start_at, meter_id limit %s",
        (TOP_ANOMALIES,),
    )
    total = sum(count for _, _, count in counts)
    top_html = table(
        ["meter", "level", "from UTC", "to UTC", "observed", "expected", "unit", "score", "why"],
        top,
    ) + caption_html(capped(total, "anomalies", shown=TOP_ANOMALIES, ordered="by |score|"))
    body = f"<h3>By reason (level)</h3>{chart(by_reason, 'anomalies')}<h3>Strongest</h3>{top_html}"
    return Panel("anomalies", "Anomalies", explanation, body)


def forecast_panel(warehouse: Warehouse) -> Panel:
    explanation = (
        "Fleet day-ahead forecasts against what happened over the last "
        f"{BACKTEST_DAYS} days of the backtest (every method on the same meter-hours), then "
        "the forecast for the next day, and each method's accuracy."
    )
    figure = new_figure(height=420, yaxis_title="fleet kW", xaxis_title="local time")
    backtest = fetch_backtest(warehouse)
    if backtest:
        hours = sorted({(day, hour) for day, hour, *_ in backtest})
        x = [stamp(local_hour_start(day, hour)) for day, hour in hours]
        actual = {(day, hour): kw for day, hour, _, kw, _ in backtest}
        figure.add_trace(
            go.Scatter(
                x=x,
                y=[rounded(actual[key]) for key in hours],
                mode="lines",
                name="actual",
                line={"color": "#1f2430", "width": 2.2},
            )
        )
        for method, (label, colour) in METHODS.items():
            forecasts = {(d, h): kw for d, h, m, _, kw in backtest if m == method}
            if forecasts:
                figure.add_trace(
                    go.Scatter(
                        x=x,
                        y=[rounded(forecasts.get(key)) for key in hours],
                        mode="lines",
                        name=f"{label} (day ahead)",
                        line={"color": colour, "width": 1.4},
                    )
                )
    next_day = fetch_next_day_forecast(warehouse)
    for method, (label, colour) in METHODS.items():
        points = [(at, kw) for at, m, kw in next_day if m == method]
        if points:
            figure.add_trace(
                go.Scatter(
                    x=[stamp(at) for at, _ in points],
                    y=[rounded(kw) for _, kw in points],
                    mode="lines",
                    name=f"next day: {label}",
                    line={"color": colour, "width": 2, "dash": "dash"},
                )
            )
    accuracy = warehouse.query(
        "select forecast_method, horizon_days, first_date, last_date, hours_scored, mae_kw, "
        "rmse_kw, mape_pct, skill_vs_naive from marts.forecast_accuracy where scope = 'fleet' "
        "order by horizon_days, skill_vs_naive desc, forecast_method"
    )
    learned = [row for row in accuracy if row[0] == LEARNED and row[1] == 1]
    verdict = (
        f"<p>The learned model's day-ahead skill against naive persistence: "
        f"<strong>{fmt(learned[0][8])}</strong> on the fleet, on the same hours.</p>"
        if learned
        else "<p>The learned forecast: not enough history yet (it needs the days "
        "`forecast_min_history_days` declares), or `smartmeter run --no-forecast`.</p>"
    )
    accuracy_html = (
        table(
            ACCURACY_COLUMNS,
            accuracy,
        )
        + caption_html(
            "skill: 1 - MAE / MAE of naive persistence on the same hours; above 0 beats naive."
        )
        if accuracy
        else empty_note("no fleet backtest yet")
    )
    chart_html = (
        chart(figure, "forecast")
        + caption_html("Sums over the meter-hours every method forecast (int_forecasts_scored).")
        if figure.data
        else empty_note("no forecasts yet")
    )
    body = f"{verdict}{chart_html}<h3>Accuracy (fleet)</h3>{accuracy_html}"
    return Panel("forecast", "Forecast against actual", explanation, body)


def fetch_backtest(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    """Per local date, hour and method of the last BACKTEST_DAYS days of the fleet's backtest:
    actual and day-ahead forecast kW, on the hours every method forecast."""
    last_date = warehouse.scalar(
        "select max(local_date) from intermediate.int_forecasts_scored "
        "where scope = 'fleet' and horizon_days = 1"
    )
    if last_date is None:
        return []
    return warehouse.query(
        "select local_date, local_hour, forecast_method, actual_kw, forecast_kw "
        "from intermediate.int_forecasts_scored "
        "where scope = 'fleet' and horizon_days = 1 and local_date > %s "
        "order by local_date, local_hour, forecast_method",
        (last_date - timedelta(days=BACKTEST_DAYS),),
    )


def fetch_next_day_forecast(warehouse: Warehouse) -> list[tuple[datetime, str, float]]:
    """The fleet forecast of the latest forecast date, per local hour and method."""
    rows = warehouse.query(
        "select forecast_date, local_hour, forecast_method, forecast_kw "
        "from marts.fct_forecasts where scope = 'fleet' "
        "order by forecast_date, forecast_method, local_hour"
    )
    if not rows:
        return []
    latest = max(day for day, *_ in rows)
    return [
        (local_hour_start(day, hour), method, float(kw))
        for day, hour, method, kw in rows
        if day == latest and kw is not None
    ]


# -- charts -----------------------------------------------------------------------------------


def new_figure(height: int, xaxis_title: str = "", yaxis_title: str = "") -> go.Figure:
    return go.Figure(
        layout={
            "template": "plotly_white",
            "height": height,
            "margin": {"l": 60, "r": 20, "t": 30, "b": 45},
            "legend": {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
            "font": {"family": "system-ui, Segoe UI, Roboto, Arial, sans-serif", "size": 12},
            "xaxis": {"title": {"text": xaxis_title}},
            "yaxis": {"title": {"text": yaxis_title}},
        }
    )


def horizontal_bars(
    labels: Sequence[str], counts: Sequence[int], colours: str | Sequence[str], xaxis_title: str
) -> go.Figure:
    """Counts as labelled horizontal bars, the first label on top."""
    figure = new_figure(height=max(220, 70 + 30 * len(labels)), xaxis_title=xaxis_title)
    figure.add_trace(
        go.Bar(
            x=list(counts),
            y=list(labels),
            orientation="h",
            text=[f"{count:,}" for count in counts],
            textposition="outside",
            cliponaxis=False,
            marker={"color": colours},
        )
    )
    figure.update_yaxes(autorange="reversed", automargin=True)
    figure.update_layout(margin={"r": 50})
    return figure


def chart(figure: go.Figure, name: str) -> str:
    """The figure as a div drawn by the page's single inline copy of plotly.js."""
    return figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config=PLOT_CONFIG
    )


def pick_resolution(series: FleetSeries) -> tuple[timedelta, str]:
    """The finest bucket that keeps the load curve within MAX_CHART_POINTS points."""
    for size, label in RESOLUTIONS:
        if len({bucket_start(at, size) for at, _ in series}) <= MAX_CHART_POINTS:
            return size, label
    return RESOLUTIONS[-1]


def bucket_start(at: datetime, size: timedelta) -> datetime:
    if not size:
        return at
    return BUCKET_ORIGIN + (at - BUCKET_ORIGIN) // size * size


def bucket_maxima(series: FleetSeries, size: timedelta) -> FleetSeries:
    """Each bucket's highest value, so the peaks survive downsampling."""
    maxima: dict[datetime, float] = {}
    for at, kw in series:
        start = bucket_start(at, size)
        maxima[start] = max(kw, maxima.get(start, kw))
    return sorted(maxima.items())


def with_gaps(points: FleetSeries, size: timedelta) -> list[tuple[datetime, float | None]]:
    """Break the line where the data stops for a while instead of drawing across the gap."""
    longest = max(2 * size, timedelta(hours=6))
    broken: list[tuple[datetime, float | None]] = []
    for (at, kw), (after, _) in pairwise(points):
        broken.append((at, kw))
        if after - at > longest:
            broken.append((at + (after - at) / 2, None))
    return [*broken, points[-1]]


def local_hour_start(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def rounded(value: float | Decimal | None) -> float | None:
    return None if value is None else round(float(value), 3)


# -- HTML pieces ------------------------------------------------------------------------------


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    row_ids: Sequence[str | None] | None = None,
) -> str:
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = []
    for index, row in enumerate(rows):
        row_id = row_ids[index] if row_ids else None
        opening = f'<tr id="{html.escape(row_id)}">' if row_id else "<tr>"
        body.append(opening + "".join(cell(value) for value in row) + "</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def cell(value: Any) -> str:
    if isinstance(value, Markup):
        return f"<td>{value}</td>"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return f'<td class="num">{html.escape(fmt(value))}</td>'
    if isinstance(value, date):
        return f'<td class="when">{html.escape(fmt(value))}</td>'
    return f"<td>{html.escape(fmt(value))}</td>"


def fmt(value: Any) -> str:
    """A value as a reader wants it: thousands separators, three decimals, minutes."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{float(value):,.3f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def badge(word: str) -> Markup:
    text = html.escape(word)
    return Markup(f'<span class="badge {text}">{text}</span>')


def meter_link(meter_id: str, anchor: str | None) -> Markup:
    text = html.escape(meter_id)
    return Markup(f'<a href="#{anchor}">{text}</a>' if anchor else text)


def capped(total: int, noun: str, shown: int = TABLE_ROWS, ordered: str = "") -> str:
    if total <= shown:
        return f"{total:,} {noun}."
    order = f", {ordered}" if ordered else ""
    return f"Showing the first {shown:,} of {total:,} {noun}{order}."


def caption_html(text: str) -> str:
    return f'<p class="caption">{html.escape(text)}</p>'


def empty_note(text: str) -> str:
    """Stands in for a chart or table that has nothing to show."""
    return f'<p class="none">{html.escape(text)}</p>'
