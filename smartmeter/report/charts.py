"""The report's plotly figures, from plain rows (never the warehouse), and the one way they go
into the page: a div drawn by the page's single inline copy of plotly.js.

Timestamps arrive as naive UTC; the fleet's load and heatmap are drawn in the fleet's zone.
Long series are downsampled to bucket maxima (the peaks survive) and broken at long gaps.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

Series = Sequence[tuple[datetime, float]]

# The day-ahead methods, as the report draws them (the learned one first).
METHODS = {
    "lightgbm_quantile": ("learned model (LightGBM, P50; fleet: mean)", "#2e7d32"),
    "same_hour_median": ("same-hour median, 7 days", "#7b4fb3"),
    "like_day_average": ("like-day average", "#3b6fc4"),
    "naive_persistence": ("naive persistence", "#ef6c00"),
}
LEARNED = "lightgbm_quantile"
MAX_CHART_POINTS = 10_000
HEATMAP_DAYS = 366
# Coarser and coarser buckets for the load curve: the first that fits MAX_CHART_POINTS wins.
RESOLUTIONS = (
    (timedelta(0), "each interval"),
    (timedelta(hours=1), "hourly maximum"),
    (timedelta(days=1), "daily maximum"),
    (timedelta(weeks=1), "weekly maximum"),
)
BUCKET_ORIGIN = datetime(1970, 1, 5)  # a Monday, so weekly buckets start on Mondays
STATUS_COLOURS = {"ok": "#2e7d32", "suspect": "#f9a825", "faulty": "#c62828"}
SEASONS = ("summer", "autumn", "winter", "spring")
PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


def plotly_js() -> str:
    """plotly.js itself, for the page to embed once."""
    return get_plotlyjs()


def chart(figure: go.Figure, name: str) -> str:
    """The figure as a div drawn by the page's single inline copy of plotly.js."""
    return figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=f"chart-{name}", config=PLOT_CONFIG
    )


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


def fleet_load_figure(
    fleet: Series,
    monthly: Sequence[tuple[datetime, float]],
    hours: Sequence[tuple[datetime, datetime, float, int]],
    zone: str,
) -> tuple[go.Figure, str]:
    """The fleet's load curve in `zone` with each month's peak interval (start, kW) and the top
    hours (start, end, kW, rank) marked; and the resolution it is drawn at."""
    local = ZoneInfo(zone)

    def shown(at: datetime) -> str:
        return stamp(at.replace(tzinfo=UTC).astimezone(local))

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
    figure.add_trace(
        go.Scatter(
            x=[shown(start) for start, _ in monthly],
            y=[rounded(kw) for _, kw in monthly],
            mode="markers",
            name="monthly peak interval",
            marker={"symbol": "diamond", "size": 10, "color": "#c62828"},
            hovertext=[f"{shown(start)} {zone}: {kw:,.2f} kW" for start, kw in monthly],
            hoverinfo="text",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[shown(start + (end - start) / 2) for start, end, _, _ in hours],
            y=[rounded(kw) for _, _, kw, _ in hours],
            mode="markers",
            name="top hours",
            marker={"symbol": "circle-open", "size": 12, "color": "#ef6c00", "line": {"width": 2}},
            hovertext=[
                f"#{rank} hour {shown(start)} {zone}: {kw:,.2f} kW avg"
                for start, _, kw, rank in hours
            ],
            hoverinfo="text",
        )
    )
    return figure, label


def heatmap_figure(fleet: Series, zone: str) -> go.Figure:
    """Average fleet kW by hour of day (rows) and date (columns) in `zone`, over the last
    HEATMAP_DAYS dates with readings."""
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
    return figure


def profiles_figure(rows: Sequence[tuple[str, str, int, Any]]) -> go.Figure:
    """Average kW by local hour (season, day type, hour, kW rows): weekdays against weekends,
    then each season over all days."""
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
    return figure


def forecast_figure(
    backtest: Sequence[tuple[date, int, str, Any, Any]],
    next_day: Sequence[tuple[date, int, str, float]],
) -> go.Figure:
    """The fleet's actual load against each method's day-ahead forecast (date, hour, method,
    actual kW, forecast kW rows), then each method's forecast of the next day (dashed)."""
    figure = new_figure(height=420, yaxis_title="fleet kW", xaxis_title="local time")
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
    for method, (label, colour) in METHODS.items():
        points = [(local_hour_start(day, hour), kw) for day, hour, m, kw in next_day if m == method]
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
    return figure


def pick_resolution(series: Series) -> tuple[timedelta, str]:
    """The finest bucket that keeps the load curve within MAX_CHART_POINTS points."""
    for size, label in RESOLUTIONS:
        if len({bucket_start(at, size) for at, _ in series}) <= MAX_CHART_POINTS:
            return size, label
    return RESOLUTIONS[-1]


def bucket_start(at: datetime, size: timedelta) -> datetime:
    if not size:
        return at
    return BUCKET_ORIGIN + (at - BUCKET_ORIGIN) // size * size


def bucket_maxima(series: Series, size: timedelta) -> list[tuple[datetime, float]]:
    """Each bucket's highest value, so the peaks survive downsampling."""
    maxima: dict[datetime, float] = {}
    for at, kw in series:
        start = bucket_start(at, size)
        maxima[start] = max(kw, maxima.get(start, kw))
    return sorted(maxima.items())


def with_gaps(points: Series, size: timedelta) -> list[tuple[datetime, float | None]]:
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
