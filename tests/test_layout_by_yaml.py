"""A new layout is one entry in layouts.yml: loading, staging, the union, the file balance and
the marts follow from it, with no other file touched."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import duck
from layout_projects import project_copy, run_in

pytestmark = pytest.mark.slow

NEW_LAYOUT = """
  - name: acme_kwh
    description: A vendor's export added by this entry alone.
    shape: long
    recognize: {header_includes: [MeterNo, ReadTime, kWh, Status]}
    delimiter: "|"
    decimal_mark: ","
    encoding: utf-8
    timestamp: {column: ReadTime, format: "%d/%m/%Y %H:%M", timezone: Europe/Paris, marks: end}
    meter_id: {column: MeterNo}
    channel: {column: Register, default: general, kinds: {inj: export}}
    value: {column: kWh}
    unit: {fixed: kWh}
    interval_minutes: {default: 15}
    source_quality: {column: Status, estimated: [EST]}
    version: {column: Revision, format: number}
    values: interval
"""

ROWS = [
    # meter, register, end of the quarter hour (Paris), kWh, status, revision
    ("ACME-1", "", "15/01/2024 00:15", "0,25", "OK", "1"),
    ("ACME-1", "", "15/01/2024 00:30", "0,50", "EST", "1"),
    ("ACME-1", "", "15/01/2024 00:45", "0,75", "OK", "1"),
    ("ACME-1", "inj", "15/01/2024 00:15", "0,00", "OK", "1"),
    ("ACME-1", "inj", "15/01/2024 00:30", "0,10", "OK", "1"),
    ("ACME-1", "inj", "15/01/2024 00:45", "bad", "OK", "1"),
    # the estimate of 00:30 replaced by a reading: revision 2 supersedes it
    ("ACME-1", "", "15/01/2024 00:30", "0,55", "OK", "2"),
]


@pytest.fixture(scope="module")
def copied_project(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    project = project_copy(root, NEW_LAYOUT)
    home = root / "home"
    (home / "landing").mkdir(parents=True)
    lines = ["MeterNo|Register|ReadTime|kWh|Status|Revision"] + ["|".join(row) for row in ROWS]
    (home / "landing" / "acme.txt").write_text("\n".join(lines) + "\n")
    result = run_in(project, home, "run")
    return project, home, result


def test_the_copy_loaded_its_own_layouts_file(copied_project):
    project, _, result = copied_project
    assert (project / "dlt_pipelines" / "layouts.yml").read_text().endswith(NEW_LAYOUT)
    assert "1 loaded" in result.stdout, result.stdout + result.stderr


def test_a_layout_added_by_yaml_alone_is_published_and_balanced(copied_project):
    _, home, result = copied_project
    assert result.returncode == 0, result.stdout + result.stderr
    with duck(home) as con:
        published = con.execute(
            "select channel, channel_kind, reading_start_at, kwh, source_quality_flag "
            "from marts.fct_readings where layout = 'acme_kwh' order by 1, 3"
        ).fetchall()
        quarantined = con.execute(
            "select reason, value_text from marts.quarantined_readings where layout = 'acme_kwh'"
        ).fetchall()
        balance = con.execute(
            "select layout, raw_values, published, quarantined, superseded, is_balanced "
            "from marts.file_reading_balance"
        ).fetchall()
        superseded = con.execute(
            "select superseded_value, superseded_version, published_value, published_version "
            "from marts.superseded_readings"
        ).fetchall()
    # Paris is UTC+1 in January; stamps close their quarter hour.
    assert published == [
        ("general", "consumption", datetime(2024, 1, 14, 23, 0), 0.25, "A"),
        ("general", "consumption", datetime(2024, 1, 14, 23, 15), 0.55, "A"),
        ("general", "consumption", datetime(2024, 1, 14, 23, 30), 0.75, "A"),
        ("inj", "export", datetime(2024, 1, 14, 23, 0), 0.0, "A"),
        ("inj", "export", datetime(2024, 1, 14, 23, 15), 0.1, "A"),
    ]
    assert quarantined == [("unparseable_value", "bad")]
    assert balance == [("acme_kwh", 7, 5, 1, 1, True)]
    assert superseded == [(0.5, "1", 0.55, "2")]
