"""No file can stop the gate (issue 20, item 4).

Missing identifiers in any shape are verdicts before any test sees them; and a file whose
values make an error-severity dbt test fail is set aside exactly as one that makes a model fail
(smartmeter/isolation.py): dead-lettered, the rest published in the same run, one alert. The
CLI runs as a subprocess, as an operator runs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, land
from test_bad_file_isolation import Store, _canonical

pytestmark = pytest.mark.slow

NEM12_EMPTY_NMI = (
    "100,NEM12,200506081149,UNITEDDP,NEMMCO\n"
    "200,,E1,1,E1,N1,METER2,KWH,30,\n"
    "300,20240301," + ",".join(["0.5"] * 48) + ",A,,,20240302120000,\n"
    "200,NMI0000002,,2,,N1,METER3,KWH,30,\n"
    "300,20240301," + ",".join(["0.25"] * 48) + ",A,,,20240302120000,\n"
    "900\n"
)

ESPI_NO_USAGE_POINT = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
  <entry><content><espi:ReadingType><espi:uom>72</espi:uom></espi:ReadingType></content></entry>
  <entry><content><espi:IntervalBlock>
    <espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration>
      <espi:start>1709251200</espi:start></espi:timePeriod><espi:value>1000</espi:value>
    </espi:IntervalReading>
  </espi:IntervalBlock></content></entry>
</feed>
"""

STRICT_TEST = """
-- An analyst's data test: their meter ids are numbers.
select meter_id
from {{ ref('fct_readings') }}
where not {{ regex_full_match('meter_id', '[0-9]+') }}
"""


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, home: Path) -> Store:
    if request.param == "postgres":
        return Store(home, "postgres", request.getfixturevalue("pg_env"))
    return Store(home, "duckdb", None)


def test_files_with_missing_ids_are_verdicts_and_the_run_passes(store: Store, tmp_path: Path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "empty_nmi.csv").write_text(NEM12_EMPTY_NMI, encoding="utf-8")
    (files / "no_usage_point.xml").write_text(ESPI_NO_USAGE_POINT, encoding="utf-8")
    (files / "ids.csv").write_text(
        "meter_id,timestamp,value,unit\n"
        ",2024-03-01T00:00:00Z,1.0,kWh\n"
        "M1,2024-03-01T00:00:00Z,1.5,kWh\n",
        encoding="utf-8",
    )
    (files / "wide_empty.csv").write_text(
        "local_time,,M2\n2024-03-01 00:00,1.0,2.0\n", encoding="utf-8"
    )
    land(store.home, *sorted(files.iterdir()), _canonical(files / "good.csv", ["1001"], 1))
    run = store.run(REPO / "dbt_project", "run")
    assert run.returncode == 0, run.stdout + run.stderr
    reasons = dict(
        store.query(
            "select source_file || ':' || reason, count(*) from marts.quarantined_readings "
            "group by 1"
        )
    )
    assert reasons == {
        "empty_nmi.csv:missing_meter_id": 48,
        "empty_nmi.csv:missing_channel": 48,
        "no_usage_point.xml:missing_meter_id": 1,
        "ids.csv:missing_meter_id": 1,
        "wide_empty.csv:missing_meter_id": 1,
    }
    balances = store.query(
        "select source_file, raw_values, published, quarantined, is_balanced "
        "from marts.file_reading_balance order by source_file"
    )
    assert [(f, v, p, q) for f, v, p, q, _ in balances] == [
        ("empty_nmi.csv", 96, 0, 96),
        ("good.csv", 48, 48, 0),
        ("ids.csv", 2, 1, 1),
        ("no_usage_point.xml", 1, 0, 1),
        ("wide_empty.csv", 2, 1, 1),
    ]
    assert all(balanced for *_, balanced in balances)


def test_a_file_that_fails_a_test_is_set_aside_and_the_rest_published(store: Store, tmp_path: Path):
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "tests" / "assert_meter_ids_are_numbers.sql").write_text(STRICT_TEST, "utf-8")
    files = tmp_path / "files"
    files.mkdir()
    land(store.home, _canonical(files / "day1.csv", ["1001", "1002"], 1))
    first = store.run(project, "run")
    assert first.returncode == 0, first.stdout + first.stderr

    land(
        store.home,
        _canonical(files / "day2-a.csv", ["1001"], 2),
        _canonical(files / "day2-bad.csv", ["1003", "NMI-X"], 2),
        _canonical(files / "day2-b.csv", ["1002"], 2),
    )
    run = store.run(project, "run")
    assert run.returncode == 1, run.stdout + run.stderr
    letters = [json.loads(p.read_text()) for p in (store.home / "dlq").glob("dl-*.json")]
    assert [letter["original_name"] for letter in letters] == ["day2-bad.csv"]
    (letter,) = letters
    assert letter["reason"] == "dbt_test_failed"
    assert "assert_meter_ids_are_numbers" in letter["message"]
    published = dict(
        store.query(
            "select source_file, count(*) from marts.fct_readings "
            "where source_file is not null group by source_file"
        )
    )
    assert published == {"day1.csv": 96, "day2-a.csv": 48, "day2-b.csv": 48}
    alerts = store.query("select kind, subject from ops.alerts where resolved_at is null")
    assert alerts == [("file_dead_lettered", "file day2-bad.csv")]
    assert (store.home / "parquet" / "readings" / "reading_date=2024-03-02").is_dir()

    land(store.home, _canonical(files / "day3.csv", ["1001"], 3))
    after = store.run(project, "run")
    assert after.returncode == 0, after.stdout + after.stderr
