"""The report's page: HTML and CSS around the numbers (queries.ReportData) and the figures
(charts).

The page opens without a network: plotly.js is embedded inline once and every chart is a plotly
figure drawn by it; there are no external scripts, styles or fonts. Each panel is a <section>
with an id, a heading and a one-line explanation. Every value taken from the data is escaped
before it goes into the HTML.

A tiny script records JavaScript errors into the hidden <pre id="js-errors">, so a headless
browser can prove the page rendered cleanly.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from smartmeter.report import charts
from smartmeter.report.queries import (
    BACKTEST_DAYS,
    TABLE_ROWS,
    TOP_ANOMALIES,
    FleetSeries,
    ReportData,
    Totals,
)

REPORT_ZONE_ENV = "SMARTMETER_REPORT_TIMEZONE"
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
STATUS_ORDER = {status: rank for rank, status in enumerate(charts.STATUS_COLOURS)}

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


def render(data: ReportData, home_root: str, where: str, generated_at: datetime) -> str:
    """The whole page: `home_root` and `where` (the target, described for people) head it."""
    panels = [
        fleet_load_panel(data),
        heatmap_panel(data.fleet, data.zone),
        profiles_panel(data),
        data_quality_panel(data),
        meter_health_panel(data),
        anomalies_panel(data),
        forecast_panel(data),
    ]
    nav = " ".join(f'<a href="#{p.id}">{html.escape(p.title)}</a>' for p in panels)
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Smart-meter report: {html.escape(home_root)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            '<pre id="js-errors" hidden></pre>',
            f"<script>{ERROR_RECORDER}</script>",
            f"<script>{charts.plotly_js()}</script>",
            header_html(home_root, where, generated_at, data.totals),
            f"<main>\n<nav>{nav}</nav>",
            *(panel.html() for panel in panels),
            "</main>",
            "</body>",
            "</html>",
        ]
    )


# -- header -----------------------------------------------------------------------------------


def header_html(home_root: str, where: str, generated_at: datetime, totals: Totals) -> str:
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
        f'<p class="meta">Data home <code>{html.escape(home_root)}</code> · target '
        f"<code>{html.escape(where)}</code> · generated {generated_at:%Y-%m-%d %H:%M} UTC · "
        f"{html.escape(span)}</p>\n"
        f'<div class="tiles">{tile_html}</div>\n</header>'
    )


# -- panels -----------------------------------------------------------------------------------


def fleet_load_panel(data: ReportData) -> Panel:
    zone = data.zone
    explanation = (
        "Fleet demand in kW (the meters' consumption channels summed, outlier readings left "
        f"out) in {zone} time, with each month's peak interval and the highest hours of the "
        f"whole history marked ({REPORT_ZONE_ENV} chooses the zone)."
    )
    if not data.fleet:
        return Panel("fleet-load", "Fleet load", explanation, empty_note("no readings"))
    monthly = [(start, kw) for kind, _, start, _, kw, _ in data.peaks if kind == "interval"]
    hours = [
        (start, end, kw, rank) for kind, _, start, end, kw, rank in data.peaks if kind == "hour"
    ]
    figure, label = charts.fleet_load_figure(data.fleet, monthly, hours, zone)
    caption = (
        f"{len(data.fleet):,} interval starts shown as {label}; "
        f"{len(monthly)} monthly peaks, top {len(hours)} hours. Left out of each month's peak "
        "(outliers, readings inside fault or suspect episodes), as a share of the fleet's "
        "energy: "
        + ", ".join(
            f"{month:%Y-%m} {100 * (share or 0):.2f}%" for month, share in data.monthly_shares
        )
        + "."
    )
    return Panel(
        "fleet-load",
        "Fleet load",
        explanation,
        charts.chart(figure, "fleet-load") + caption_html(caption),
    )


def heatmap_panel(fleet: FleetSeries, zone: str = "UTC") -> Panel:
    explanation = (
        f"Average fleet kW by hour of day (rows) and date (columns) in {zone} time, "
        f"over the last {charts.HEATMAP_DAYS} dates with readings ({REPORT_ZONE_ENV} chooses "
        "the zone)."
    )
    if not fleet:
        return Panel("heatmap", "Hour-by-day heatmap", explanation, empty_note("no readings"))
    figure = charts.heatmap_figure(fleet, zone)
    return Panel("heatmap", "Hour-by-day heatmap", explanation, charts.chart(figure, "heatmap"))


def profiles_panel(data: ReportData) -> Panel:
    explanation = (
        "Average kW per healthy meter by local hour of day (each meter's own time zone, the "
        "fleet's where it keeps one): "
        "weekdays against weekends, and each season over all days."
    )
    if not data.profiles:
        return Panel("profiles", "Load profiles", explanation, empty_note("no profiles"))
    figure = charts.profiles_figure(data.profiles)
    return Panel("profiles", "Load profiles", explanation, charts.chart(figure, "profiles"))


def data_quality_panel(data: ReportData) -> Panel:
    totals = data.totals
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
        charts.chart(
            charts.horizontal_bars(
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
    reasons = data.quarantine_reasons
    reasons_html = (
        charts.chart(
            charts.horizontal_bars(
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
    gaps_line = (
        f"Long gaps: {totals.long_gaps:,} on {totals.gap_meters:,} meters, "
        f"{totals.intervals_missing:,.0f} intervals missing."
        if totals.long_gaps
        else "Long gaps: none."
    )
    balance = data.file_balance
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


def meter_health_panel(data: ReportData) -> Panel:
    totals = data.totals
    explanation = (
        "Meters judged faulty or suspect and why (zero runs, constant runs, deviation episodes, "
        "long gaps), with the findings behind the verdicts."
    )
    statuses = sorted(
        totals.status_counts, key=lambda s: (STATUS_ORDER.get(s, len(STATUS_ORDER)), s)
    )
    status_html = (
        charts.chart(
            charts.horizontal_bars(
                statuses,
                [totals.status_counts[status] for status in statuses],
                [charts.STATUS_COLOURS.get(status, "#7a8190") for status in statuses],
                xaxis_title="meters",
            ),
            "meter-status",
        )
        if statuses
        else empty_note("no meters")
    )
    faults = data.faults
    anchors: dict[str, str] = {}
    fault_ids: list[str | None] = []
    for meter_id, *_ in faults:
        first_of_meter = meter_id not in anchors
        anchors.setdefault(meter_id, f"faults-{len(anchors) + 1}")
        fault_ids.append(anchors[meter_id] if first_of_meter else None)
    unhealthy = data.unhealthy_meters
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
        + caption_html(capped(data.fault_total, "findings", ordered="by meter and start"))
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


def anomalies_panel(data: ReportData) -> Panel:
    explanation = (
        "Readings, hours and days far from what the meter usually does: counts by reason and "
        f"level, and the {TOP_ANOMALIES} strongest by |score|."
    )
    counts = data.anomaly_counts
    if not counts:
        return Panel("anomalies", "Anomalies", explanation, empty_note("none"))
    by_reason = charts.horizontal_bars(
        [f"{reason} ({level})" for level, reason, _ in counts],
        [count for _, _, count in counts],
        "#7b4fb3",
        xaxis_title="anomalies",
    )
    total = sum(count for _, _, count in counts)
    top_html = table(
        ["meter", "level", "from UTC", "to UTC", "observed", "expected", "unit", "score", "why"],
        data.strongest_anomalies,
    ) + caption_html(capped(total, "anomalies", shown=TOP_ANOMALIES, ordered="by |score|"))
    body = (
        f"<h3>By reason (level)</h3>{charts.chart(by_reason, 'anomalies')}"
        f"<h3>Strongest</h3>{top_html}"
    )
    return Panel("anomalies", "Anomalies", explanation, body)


def forecast_panel(data: ReportData) -> Panel:
    explanation = (
        "Fleet day-ahead forecasts against what happened over the last "
        f"{BACKTEST_DAYS} days of the backtest (every method on the same meter-hours), then "
        "the forecast for the next day, and each method's accuracy."
    )
    figure = charts.forecast_figure(data.backtest, data.next_day)
    accuracy = data.accuracy
    learned = [row for row in accuracy if row[0] == charts.LEARNED and row[1] == 1]
    verdict = (
        f"<p>The learned model's day-ahead skill against naive persistence: "
        f"<strong>{fmt(learned[0][8])}</strong> on the fleet, on the same hours.</p>"
        if learned
        else "<p>The learned forecast: not enough history yet (it needs the days "
        "`forecast_min_history_days` declares), or `smartmeter run --no-forecast`.</p>"
    )
    accuracy_html = (
        table(ACCURACY_COLUMNS, accuracy)
        + caption_html(
            "skill: 1 - MAE / MAE of naive persistence on the same hours; above 0 beats naive."
        )
        if accuracy
        else empty_note("no fleet backtest yet")
    )
    chart_html = (
        charts.chart(figure, "forecast")
        + caption_html("Sums over the meter-hours every method forecast (int_forecasts_scored).")
        if figure.data
        else empty_note("no forecasts yet")
    )
    body = f"{verdict}{chart_html}<h3>Accuracy (fleet)</h3>{accuracy_html}"
    return Panel("forecast", "Forecast against actual", explanation, body)


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
