"""The report package in-process: its selects against the rpt_ models' contracts (parsed from the
.yml files), the same selects run on an in-memory DuckDB laid out from those contracts, and the
page assembled from fixed rows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import jinja2
import pytest
import yaml

from smartmeter.report import page, queries
from smartmeter.report.queries import SELECTS, ReportData, ReportError, Totals
from smartmeter.targets.duckdb import DuckDBWarehouse

REPO = Path(__file__).resolve().parents[2]
REPORTING = REPO / "dbt_project" / "models" / "reporting"
EXPOSURES = REPO / "dbt_project" / "models" / "exposures.yml"
# Spelled alike on DuckDB, PostgreSQL 15 and Spark (cast(null as <type>) on each gives the type
# dbt's contract check compares); text and 8-byte floats go through a per-store spelling.
PORTABLE_TYPES = {"bigint", "integer", "date", "timestamp", "boolean"}
PER_STORE = {
    "text": {"duckdb": "varchar", "postgres": "varchar", "spark": "string"},
    "double": {"duckdb": "double precision", "postgres": "double precision", "spark": "double"},
}
SQL_WORDS = {"where", "order", "by", "desc", "asc", "limit", "and", "or", "nulls", "last"}
ZONE = "Australia/Sydney"


def contracts() -> dict[str, dict]:
    """Each rpt_ model's .yml entry, by name."""
    found = {}
    for path in sorted(REPORTING.glob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]:
            assert path.stem == model["name"], f"{path.name} describes {model['name']}"
            found[model["name"]] = model
    return found


def rendered_type(data_type: str, store: str) -> str:
    return jinja2.Template(data_type).render(target={"type": store}).strip()


def test_every_rpt_model_has_an_enforced_contract_in_portable_types():
    models = contracts()
    assert {path.stem for path in REPORTING.glob("*.sql")} == set(models)
    for name, model in models.items():
        assert model["config"]["contract"]["enforced"] is True, name
        for column in model["columns"]:
            kinds = {
                store: rendered_type(column["data_type"], store)
                for store in ("duckdb", "postgres", "spark")
            }
            spellings = set(kinds.values())
            portable = len(spellings) == 1 and spellings <= PORTABLE_TYPES
            assert portable or kinds in PER_STORE.values(), (name, column["name"], kinds)


def test_every_column_the_report_selects_is_in_its_models_contract():
    models = contracts()
    for select in SELECTS:
        assert select.model in models, f"{select.model} is not an rpt_ model"
        declared = {column["name"] for column in models[select.model]["columns"]}
        missing = set(select.needs) - declared
        assert not missing, f"{select.model} lacks {sorted(missing)}"
        named = set(re.findall(r"\b[a-z_]+\b", re.sub(r"'[^']*'|%s", "", select.tail)))
        undeclared = named - SQL_WORDS - set(select.needs)
        assert not undeclared, f"{select.model}: the tail uses {undeclared}, not in needs"


def test_the_report_exposure_depends_on_every_rpt_model_it_reads():
    exposures = yaml.safe_load(EXPOSURES.read_text(encoding="utf-8"))["exposures"]
    report = next(e for e in exposures if e["name"] == "html_report")
    refs = {re.fullmatch(r"ref\('(\w+)'\)", each).group(1) for each in report["depends_on"]}
    assert refs == set(contracts())
    assert {select.model for select in SELECTS} <= refs


# -- the selects on a warehouse laid out from the contracts -------------------------------------


def duckdb_type(data_type: str) -> str:
    return rendered_type(data_type, "duckdb")


@pytest.fixture
def warehouse():
    """An in-memory DuckDB with every rpt_ model as an empty table of its contract's columns,
    rpt_overview's one row, and a few rows where panels need them."""
    con = duckdb.connect()
    con.execute("create schema reporting")
    for name, model in contracts().items():
        columns = ", ".join(
            f"{column['name']} {duckdb_type(column['data_type'])}" for column in model["columns"]
        )
        con.execute(f"create table reporting.{name} ({columns})")
    con.execute(
        "insert into reporting.rpt_overview values "
        "(2, 96, 4, 2, 3, '2024-03-01 00:00', '2024-03-02 00:00', 1, 1, 6, ?)",
        [ZONE],
    )
    con.execute("insert into reporting.rpt_meter_statuses values ('ok', 1), ('faulty', 1)")
    start = datetime(2024, 3, 1)
    con.executemany(
        "insert into reporting.rpt_fleet_demand values (?, ?)",
        [(start + timedelta(minutes=30 * i), 1.0 + i % 7) for i in range(48)],
    )
    con.execute(
        "insert into reporting.rpt_fleet_peaks values "
        "('interval', '2024-03-01', '2024-03-01 18:00', '2024-03-01 18:30', 7.0, 1, 0.0125), "
        "('hour', '2024-03-01', '2024-03-01 18:00', '2024-03-01 19:00', 6.5, 1, null)"
    )
    con.execute(
        "insert into reporting.rpt_unhealthy_meters values "
        "('<m2>', 'faulty', 1, 'zero run', 1, 0, 0, 0)"
    )
    con.execute(
        "insert into reporting.rpt_meter_faults values "
        "('<m2>', 'zero_run', '2024-03-01', '2024-03-02', 24.0, 'error', 'zeros all day')"
    )
    yield DuckDBWarehouse("duckdb", con, None)
    con.close()


def test_the_selects_read_tables_laid_out_from_the_contracts(warehouse):
    queries.require_models(warehouse)
    data = queries.read(warehouse)
    assert data.zone == ZONE
    assert data.totals.published == 96 and data.totals.status_counts == {"ok": 1, "faulty": 1}
    assert len(data.fleet) == 48 and data.fault_total == 1
    html = page.render(data, "/srv/meters", "duckdb", datetime(2026, 1, 1, tzinfo=UTC))
    assert html.count("in Australia/Sydney time") == 2  # the fleet load and the heatmap
    assert "2024-03 1.25%" in html  # the month's left-out energy share
    assert "&lt;m2&gt;" in html and "<m2>" not in html
    assert "not enough history yet" in html


def test_a_missing_model_or_column_is_a_report_error(warehouse):
    warehouse.execute("alter table reporting.rpt_fleet_peaks drop column excluded_energy_share")
    with pytest.raises(ReportError, match=r"older version .*rpt_fleet_peaks\.excluded_energy"):
        queries.require_models(warehouse)
    warehouse.execute("drop table reporting.rpt_overview")
    with pytest.raises(ReportError, match=r"no data yet.*reporting\.rpt_overview"):
        queries.require_models(warehouse)


def test_the_zone_setting_wins_and_an_unknown_zone_is_an_error():
    assert queries.fleet_zone("", "Europe/London") == "Europe/London"
    assert queries.fleet_zone("", None) == "UTC"
    assert queries.fleet_zone("UTC", "Europe/London") == "UTC"
    with pytest.raises(Exception, match="Mars"):
        queries.fleet_zone("Mars/Olympus", "Europe/London")


# -- the page from fixed rows --------------------------------------------------------------------


def totals(**changes) -> Totals:
    values = dict(
        meters=0,
        published=0,
        estimated=0,
        source_estimated=0,
        quarantined=0,
        first_reading_at=None,
        last_reading_at=None,
        status_counts={},
    )
    return Totals(**{**values, **changes})


def test_an_empty_warehouse_gives_a_page_of_empty_notes():
    html = page.render(ReportData(totals()), "/h", "duckdb", datetime(2026, 1, 1, tzinfo=UTC))
    for section in ("fleet-load", "heatmap", "profiles", "data-quality", "meter-health"):
        assert f'<section id="{section}">' in html
    assert "no readings yet" in html and "no forecasts yet" in html
    assert "no fleet backtest yet" in html and "Long gaps: none." in html
    assert html.count("* plotly.js v") == 1


def test_the_forecast_panel_shows_the_learned_models_skill():
    day = date(2024, 3, 10)
    backtest = [
        (day, hour, method, 2.0 + hour / 10, 2.1 + hour / 10)
        for hour in range(24)
        for method in ("lightgbm_quantile", "naive_persistence")
    ]
    accuracy = [
        ("lightgbm_quantile", 1, day, day, 24, 0.2, 0.3, 9.5, 0.25),
        ("naive_persistence", 1, day, day, 24, 0.27, 0.4, 12.0, 0.0),
    ]
    next_day = [(day + timedelta(days=1), hour, "lightgbm_quantile", 2.5) for hour in range(24)]
    data = ReportData(totals(), backtest=backtest, accuracy=accuracy, next_day=next_day)
    panel = page.forecast_panel(data)
    assert "<strong>0.250</strong>" in panel.body
    assert "not enough history yet" not in panel.body
    assert 'id="chart-forecast"' in panel.body
    assert "next day: learned model" in panel.body


def test_values_from_the_data_are_escaped():
    hostile = '<img src=x onerror="alert(1)">'
    html = page.table(["meter", "detail"], [(page.meter_link(hostile, "faults-1"), hostile)])
    assert "<img" not in html
    assert html.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") == 2
