"""The export flow over both stores, in process: DuckDB's writer on a small fct_readings."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from smartmeter.export import export_archive
from smartmeter.home import Home
from smartmeter.targets.archive import DuckDBWriter, ExportError, archive_columns

# the project's archive columns (a home with default settings uses the repository's project)
COLUMNS = archive_columns(Home(Path("unused")))

READINGS = [  # meter, UTC start
    ("M1", "2024-03-01 00:00"),
    ("M1", "2024-03-01 00:30"),
    ("M2", "2024-03-01 00:00"),
    ("a/../b", "2024-03-02 23:30"),
    ("M2", "2024-04-01 10:00"),
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute("create schema marts; create schema intermediate")
    con.execute(
        "create table marts.fct_readings (meter_id varchar, channel varchar, "
        "reading_start_at timestamptz, reading_end_at timestamptz, interval_minutes int, "
        "kw double, kwh double, quality_flag varchar, is_estimated boolean, "
        "estimation_method varchar, is_outlier boolean, outlier_reason varchar, "
        "source_quality_flag varchar, source_file varchar, source_line bigint, "
        "file_sha256 varchar, load_id varchar, reading_date date)"
    )
    for meter, start in READINGS:
        con.execute(
            "insert into marts.fct_readings select ?, 'general', ?::timestamptz, "
            "?::timestamptz + interval 30 minute, 30, 1.0, 0.5, 'A', false, null, false, null, "
            "'A', 'f.csv', 2, 'sha', 'load', (?::timestamptz)::date",
            [meter, start, start, start],
        )
    con.execute(
        "create table intermediate.parquet_export_queue as "
        "select distinct reading_date, current_timestamp as queued_at from marts.fct_readings"
    )
    return con


def archived(store) -> dict[str, list[tuple]]:
    """Each Parquet file's (meter, start) rows, by key."""
    found = {}
    for entry in store.list():
        if entry.key.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(store.get(entry.key)))
            found[entry.key] = sorted(
                zip(
                    table["meter_id"].to_pylist(),
                    table["reading_start_at"].to_pylist(),
                    strict=True,
                )
            )
    return found


def test_every_reading_is_archived_once_in_each_scheme_and_stale_partitions_go(make_store, con):
    readings = make_store("parquet/readings")
    report = export_archive(readings, "date/meter_id", DuckDBWriter(con, COLUMNS))
    assert report.rows == len(READINGS)
    files = archived(readings)
    assert sorted(files) == [
        "reading_date=2024-03-01/meter_id=M1/data_0.parquet",
        "reading_date=2024-03-01/meter_id=M2/data_0.parquet",
        "reading_date=2024-03-02/meter_id=a%2F..%2Fb/data_0.parquet",  # stays one folder
        "reading_date=2024-04-01/meter_id=M2/data_0.parquet",
    ]
    assert con.execute("select count(*) from intermediate.parquet_export_queue").fetchone() == (0,)
    assert readings.get("_partition_scheme") == b"date/meter_id\n"

    # a new scheme rewrites everything, whatever the queue says
    monthly = export_archive(readings, "month/meter_id", DuckDBWriter(con, COLUMNS))
    assert sorted(monthly.partitions) == ["reading_month=2024-03", "reading_month=2024-04"]
    assert readings.partitions() == {"reading_month=2024-03", "reading_month=2024-04"}
    rows = sorted(row for rows in archived(readings).values() for row in rows)
    assert len(rows) == len(READINGS) and len(set(rows)) == len(READINGS)

    # readings of a month deleted: its partition is pruned, the others stay untouched
    con.execute("delete from marts.fct_readings where reading_date >= date '2024-04-01'")
    before = archived(readings)
    pruned = export_archive(readings, "month/meter_id", DuckDBWriter(con, COLUMNS))
    assert pruned.partitions == [] and pruned.removed == ["reading_month=2024-04"]
    after = archived(readings)
    assert after == {k: v for k, v in before.items() if k.startswith("reading_month=2024-03")}
    assert not any(e.key.startswith(".") for e in readings.list())


def test_an_unknown_scheme_is_refused_before_anything_is_written(make_store, con):
    readings = make_store("parquet/readings")
    with pytest.raises(ExportError, match="unknown partition scheme"):
        export_archive(readings, "meter", DuckDBWriter(con, COLUMNS))
    assert readings.list() == []
