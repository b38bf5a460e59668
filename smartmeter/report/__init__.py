"""`smartmeter report`: one self-contained HTML page about what the warehouse holds.

    queries  reading the numbers: plain selects from the rpt_ dbt models (enforced contracts)
    charts   the plotly figures, from plain rows
    page     the HTML and CSS around them

write_report reads everything first (queries.read), lets the warehouse go, then renders.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from smartmeter import targets
from smartmeter.home import Home
from smartmeter.report import page, queries
from smartmeter.report.page import REPORT_ZONE_ENV, Markup, meter_link, table
from smartmeter.report.queries import NO_DATA, ReportData, ReportError
from smartmeter.warehouse import connected

__all__ = [
    "NO_DATA",
    "REPORT_ZONE_ENV",
    "Markup",
    "ReportData",
    "ReportError",
    "meter_link",
    "table",
    "write_atomically",
    "write_report",
]


def write_report(home: Home, target: str, output: Path | None = None) -> Path:
    """Write the report and return its path: by default <home>/reports/report-<UTC time>.html,
    also copied to <home>/reports/latest.html."""
    generated_at = datetime.now(UTC)
    chosen = targets.get(target)
    if not chosen.is_built(home):
        raise ReportError(NO_DATA)
    with connected(home, target) as warehouse:
        queries.require_models(warehouse)
        data = queries.read(warehouse)
    html = page.render(data, str(home.root), chosen.describe(home), generated_at)
    path = output or home.reports / f"report-{generated_at:%Y%m%dT%H%M%SZ}.html"
    write_atomically(path, html)
    if output is None:
        write_atomically(home.reports / "latest.html", html)
    return path


def write_atomically(path: Path, text: str) -> None:
    """Readers (a browser, a web server) never see a half-written page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
