"""The Spark target's lake, in process and without Spark.

The export of what builds staged: the lake holds fct_readings and the export queue as Spark
leaves them (Parquet folders), and the sets a build's on-run-end staged (Spark's p_date=/p_meter=
folders, part-* files, checksums, a mark naming the scheme); the export publishes them with no
Spark job of its own. And the raw tables' catalog, by which Spark registers again only the raw
tables whose files changed."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smartmeter import spark_lake
from smartmeter.export import export_archive
from smartmeter.home import Home
from smartmeter.storage import open_store
from smartmeter.targets.archive import archive_columns
from smartmeter.targets.spark import SPARK, WRITTEN

DAYS = [date(2024, 3, 1), date(2024, 3, 2)]
METERS = ["M1", "M2"]


def readings(meters: list[str], days: list[date]) -> pa.Table:
    rows = []
    for day in days:
        for meter in meters:
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            rows.append(
                {
                    "meter_id": meter,
                    "channel": "general",
                    "reading_start_at": start,
                    "reading_end_at": start + timedelta(minutes=30),
                    "interval_minutes": 30,
                    "kw": 1.0,
                    "kwh": 0.5,
                    "quality_flag": "A",
                    "is_estimated": False,
                    "estimation_method": None,
                    "is_outlier": False,
                    "outlier_reason": None,
                    "source_quality_flag": "A",
                    "source_file": "f.csv",
                    "source_line": 2,
                    "file_sha256": "sha",
                    "load_id": "1",
                    "reading_date": day,
                }
            )
    assert set(rows[0]) == set(archive_columns(Home(Path("unused"))))
    return pa.Table.from_pylist(rows)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """A Spark home whose lake has fct_readings for DAYS x METERS and an empty export queue
    (the build that staged the sets drained it)."""
    home = Home(tmp_path / "home").create()
    warehouse = spark_lake.warehouse_dir(home)
    facts = warehouse / "marts.db" / "fct_readings" / "reading_month=2024-03-01"
    facts.mkdir(parents=True)
    pq.write_table(readings(METERS, DAYS), facts / "part-00000.parquet")
    queue = warehouse / "intermediate.db" / "parquet_export_queue"
    queue.mkdir(parents=True)
    empty = pa.table(
        {"reading_date": pa.array([], pa.date32()), "queued_at": pa.array([], pa.timestamp("us"))}
    )
    pq.write_table(empty, queue / "part-00000.parquet")
    return home


def stage_set(home: Home, name: str, meters: list[str], days: list[date], scheme: str | None):
    """A set as Spark's on-run-end writes it; no mark when `scheme` is None (unfinished)."""
    staged = spark_lake.archive_staged_dir(home) / name
    for day in days:
        for meter in meters:
            leaf = staged / f"p_date={day}" / f"p_meter={meter}"
            leaf.mkdir(parents=True)
            part = leaf / f"part-00000-{uuid.uuid4()}.c000.snappy.parquet"
            pq.write_table(readings([meter], [day]), part)
            (leaf / f".{part.name}.crc").write_bytes(b"checksum")
    (staged / "_SUCCESS").write_bytes(b"")
    if scheme is not None:
        (staged / WRITTEN).mkdir()
        (staged / WRITTEN / "part-00000-x.csv").write_text(scheme + "\n")
    return staged


def archived(root: Path) -> dict[str, list[str]]:
    return {
        str(path.relative_to(root)): pq.read_table(path)["meter_id"].to_pylist()
        for path in sorted(root.rglob("*.parquet"))
    }


def test_a_new_archive_is_published_from_the_build_sets_alone(home, tmp_path):
    """Sets publish oldest first (the newer set's partition wins), an unfinished set is dropped,
    and a first export (no scheme marker: rewrite everything) needs no Spark job, since every
    partition with readings was staged and none of their dates is queued again."""
    stage_set(home, "20240302T000000-a", METERS, DAYS, "date/meter_id")
    stage_set(home, "20240302T010000-b", ["M2"], DAYS[:1], "date/meter_id")
    stage_set(home, "20240302T020000-c", METERS, DAYS, None)
    store = open_store(tmp_path / "archive", scratch=tmp_path / "scratch")
    with SPARK.archive_writer(home) as writer:
        report = export_archive(store, "date/meter_id", writer)
    assert sorted(report.partitions) == [
        "reading_date=2024-03-01",
        "reading_date=2024-03-01",
        "reading_date=2024-03-02",
    ]
    assert report.rows == 5 and report.removed == []
    assert archived(tmp_path / "archive") == {
        "reading_date=2024-03-01/meter_id=M2/data_0.parquet": ["M2"],
        "reading_date=2024-03-02/meter_id=M1/data_0.parquet": ["M1"],
        "reading_date=2024-03-02/meter_id=M2/data_0.parquet": ["M2"],
    }
    assert (tmp_path / "archive" / "_partition_scheme").read_text() == "date/meter_id\n"
    assert not any(spark_lake.archive_staged_dir(home).iterdir())
    files = {p.name for p in (tmp_path / "archive").rglob("*") if p.is_file()}
    assert files == {"data_0.parquet", "_partition_scheme"}  # no checksums, marks or staging


def test_a_set_staged_in_another_scheme_is_dropped_and_asks_for_a_rewrite(home, tmp_path):
    stage_set(home, "20240302T000000-a", METERS, DAYS, "date")
    staging = tmp_path / "scratch" / "spark-staging"
    with SPARK.archive_writer(home) as writer:
        assert list(writer.recover(staging, "date/meter_id")) == []
        assert writer.must_rewrite
    assert not any(spark_lake.archive_staged_dir(home).iterdir())


def test_a_set_moves_whole_into_staging_on_another_file_system(home, tmp_path):
    """The archive's folder may sit on another file system than the data home: the set is
    copied whole under a temporary name first, so a crash never leaves half a set marked."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system to move across (/dev/shm)")
    scratch = shm / f"smartmeter-{uuid.uuid4().hex[:8]}"
    try:
        stage_set(home, "20240302T000000-a", METERS, DAYS[:1], "date/meter_id")
        with SPARK.archive_writer(home) as writer:
            published = [
                name for name, _ in writer.recover(scratch / "spark-staging", "date/meter_id")
            ]
        assert published == ["reading_date=2024-03-01"]
        assert not any(spark_lake.archive_staged_dir(home).iterdir())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def catalog(home: Home) -> dict[str, str]:
    table = pq.read_table(spark_lake.raw_catalog_dir(home) / "catalog.parquet")
    return dict(zip(table["raw_table"].to_pylist(), table["signature"].to_pylist(), strict=True))


def test_the_raw_catalog_changes_for_the_tables_whose_files_change(home):
    raw = spark_lake.raw_dir(home)
    for name in ("canonical", "nem12", "_dlt_loads"):
        (raw / name).mkdir(parents=True)
        pq.write_table(pa.table({"x": ["1"]}), raw / name / "1.parquet")
    (raw / "empty").mkdir()
    spark_lake.write_raw_catalog(home)
    before = catalog(home)
    assert sorted(before) == ["canonical", "nem12"]  # dlt's own tables and empty folders left out

    pq.write_table(pa.table({"x": ["2"], "y": ["new column"]}), raw / "canonical" / "2.parquet")
    spark_lake.write_raw_catalog(home)
    after = catalog(home)
    assert after["nem12"] == before["nem12"] and after["canonical"] != before["canonical"]

    spark_lake.delete_raw_rows(home, ["a file"])  # no row of it: nothing rewritten
    spark_lake.write_raw_catalog(home)
    assert catalog(home) == after
