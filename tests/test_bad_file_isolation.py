"""A file whose values make `dbt build` fail cannot block the others (smartmeter/isolation.py).

The runtime error is a genuine one from data: an analyst's mart in their own copy of the project
(SMARTMETER_DBT_PROJECT) casts meter ids to integers, and one file brings a meter id that is
not a number. The run finds that file, dead-letters it with the database's message, publishes
the rest, exits 1 with one alert; the next run is clean.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, duck, land, pg_connect, run_cli

from smartmeter.isolation import PROBE_WORKSPACE

pytestmark = pytest.mark.slow

MART = """
{{ config(materialized='table') }}
-- An analyst's mart: their meter ids are numbers (it fails on any that is not).
select meter_id, cast(meter_id as integer) as meter_number, count(*) as readings
from {{ ref('fct_readings') }}
group by meter_id
"""


def _project_with_strict_mart(tmp_path: Path) -> Path:
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "models" / "marts" / "meter_numbers.sql").write_text(MART, encoding="utf-8")
    return project


def _canonical(path: Path, meter_ids: list[str], day: int) -> Path:
    lines = ["meter_id,timestamp,value,unit"]
    for meter_id in meter_ids:
        for half_hour in range(48):
            stamp = f"2024-03-{day:02d}T{half_hour // 2:02d}:{30 * (half_hour % 2):02d}:00Z"
            lines.append(f"{meter_id},{stamp},{0.1 + half_hour / 100:.3f},kWh")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Store:
    def __init__(self, home: Path, target: str, pg_env: dict[str, str] | None):
        self.home, self.target, self.pg_env = home, target, pg_env

    def run(self, project: Path, *args: str):
        return self.run_with(project, {}, *args)

    def run_with(self, project: Path, extra: dict[str, str], *args: str):
        env = {"SMARTMETER_DBT_PROJECT": str(project), "SMARTMETER_RETRY_BASE_SECONDS": "0.1"}
        env.update(self.pg_env or {})
        env.update(extra)
        return run_cli(self.home, *args, "--target", self.target, env=env)

    def query(self, sql: str) -> list[tuple]:
        if self.target == "duckdb":
            with duck(self.home) as con:
                return con.execute(sql).fetchall()
        with pg_connect(self.pg_env) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, home: Path) -> Store:
    if request.param == "postgres":
        return Store(home, "postgres", request.getfixturevalue("pg_env"))
    return Store(home, "duckdb", None)


def test_a_file_that_breaks_a_model_is_set_aside_and_the_rest_published(
    store: Store, tmp_path: Path
):
    project = _project_with_strict_mart(tmp_path)
    files = tmp_path / "files"
    files.mkdir()
    land(store.home, _canonical(files / "day1.csv", ["1001", "1002"], 1))
    first = store.run(project, "run")  # an earlier, clean run: the bad file arrives later
    assert first.returncode == 0, first.stdout + first.stderr

    land(
        store.home,
        _canonical(files / "day2-a.csv", ["1001"], 2),
        _canonical(files / "day2-bad.csv", ["1003", "NMI-X"], 2),
        _canonical(files / "day2-b.csv", ["1002"], 2),
        _canonical(files / "day3.csv", ["1001", "1002"], 3),
    )
    run = store.run(project, "run")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "day2-bad.csv" in run.stdout
    # The probes parse in a target folder of their own: their var costs no build a full parse.
    dbt_log = (store.home / ".state" / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Unable to do partial parsing because config vars" not in dbt_log
    probes = store.home / ".state" / "dbt" / PROBE_WORKSPACE
    assert (probes / "partial_parse.msgpack").is_file()

    # The culprit is in dlq/ with the database's own words, its archive copy untouched.
    letters = [json.loads(p.read_text()) for p in (store.home / "dlq").glob("dl-*.json")]
    assert [letter["original_name"] for letter in letters] == ["day2-bad.csv"]
    (letter,) = letters
    assert letter["stage"] == "load" and letter["reason"] == "dbt_runtime_error"
    assert "meter_numbers" in letter["message"]
    assert "NMI-X" in letter["message"] or "integer" in letter["message"].lower()
    archived = list((store.home / "raw").rglob("day2-bad.csv"))
    assert len(archived) == 1 and archived[0].read_bytes() == (files / "day2-bad.csv").read_bytes()

    # Its raw rows are gone; every other file is published, in full, in the same run.
    assert store.query("select count(*) from raw.canonical where _source_file like '%bad%'") == [
        (0,)
    ]
    published = dict(
        store.query(
            "select source_file, count(*) from marts.fct_readings "
            "where source_file is not null group by source_file"
        )
    )
    assert {Path(name).name: n for name, n in published.items()} == {
        "day1.csv": 96,
        "day2-a.csv": 48,
        "day2-b.csv": 48,
        "day3.csv": 96,
    }
    assert store.query("select count(*) from marts.meter_numbers") == [(2,)]
    assert all(
        balanced
        for (balanced,) in store.query("select is_balanced from marts.file_reading_balance")
    )
    # One alert, naming the file.
    alerts = store.query("select kind, subject from ops.alerts order by raised_at")
    assert alerts == [("file_dead_lettered", "file day2-bad.csv")]
    assert (store.home / "parquet" / "readings" / "reading_date=2024-03-02").is_dir()

    # The next run is not blocked by it.
    land(store.home, _canonical(files / "day4.csv", ["1001"], 4))
    after = store.run(project, "run")
    assert after.returncode == 0, after.stdout + after.stderr
    assert store.query(
        "select count(*) from marts.fct_readings where cast(reading_start_at as date) = "
        "cast('2024-03-04' as date)"
    ) == [(48,)]


def test_a_run_killed_during_the_search_loses_nothing(home: Path, tmp_path: Path):
    """kill -9 after a probe that held back innocent files: the next run rebuilds from the raw
    tables (the marker in .state/), finds the culprit again and publishes every other file."""
    project = _project_with_strict_mart(tmp_path)
    store = Store(home, "duckdb", None)
    names = ["a", "b", "bad", "c", "d"]
    land(
        home,
        *[
            _canonical(tmp_path / f"{name}.csv", ["NMI-X"] if name == "bad" else [f"10{i}"], 5)
            for i, name in enumerate(names)
        ],
    )
    killed = store.run_with(project, {"SMARTMETER_CRASH_AT": "isolation:after_probe:3"}, "run")
    assert killed.returncode == -9
    assert (home / ".state" / "rebuild-from-raw.duckdb").exists()
    rerun = store.run(project, "run")
    assert rerun.returncode == 1, rerun.stdout
    assert not (home / ".state" / "rebuild-from-raw.duckdb").exists()
    letters = [json.loads(p.read_text()) for p in (home / "dlq").glob("dl-*.json")]
    assert [letter["original_name"] for letter in letters] == ["bad.csv"]
    published = store.query(
        "select source_file, count(*) from marts.fct_readings group by source_file"
    )
    assert sorted((Path(f).name, n) for f, n in published) == [
        (f"{name}.csv", 48) for name in names if name != "bad"
    ]


def test_a_model_error_not_caused_by_new_files_is_reported_as_is(home: Path, tmp_path: Path):
    """When the build fails even with every new file held back, nothing is set aside."""
    project = _project_with_strict_mart(tmp_path)
    (project / "models" / "marts" / "meter_numbers.sql").write_text(
        "{{ config(materialized='table') }}\nselect cast('not a number' as integer) as n\n",
        encoding="utf-8",
    )
    store = Store(home, "duckdb", None)
    land(home, _canonical(tmp_path / "day1.csv", ["1001"], 1))
    run = store.run(project, "run")
    assert run.returncode == 1
    assert not list((home / "dlq").glob("dl-*.json"))
    assert store.query("select status from ops.file_manifest") == [("loaded",)]
