"""The same dbt project on Apache Spark (a local session) gives DuckDB's answers: every mart,
the file balance and the Parquet archive, with Spark's data built in two deliveries (an
incremental build) and DuckDB's in one. The CLI runs on Spark end to end (run, status, report).
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from channel_inputs import write_prosumer_file, write_register_file, write_wide_file
from conftest import REPO, duck, land, run_cli
from test_parity_postgres import OTHERS, PER_METER_DAY, normalize

from smartmeter import spark_lake
from smartmeter.export import EXPORTED_COLUMNS
from smartmeter.home import Home

pytestmark = [pytest.mark.slow, pytest.mark.spark]


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory, real_data):
    """A DuckDB home built from every file at once; a Spark home built from all but the last
    day's canonical file, then from that file (an incremental build)."""
    base = tmp_path_factory.mktemp("spark")
    files = base / "files"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            *("--out", str(files), "--meters", "6", "--days", "4", "--split", "day"),
            *("--layouts", "canonical,wide,cumulative,nem12"),
        ],
        check=True,
        capture_output=True,
    )
    write_prosumer_file(files)
    write_register_file(files)
    write_wide_file(files)
    last_day = sorted(files.glob("canonical_*.csv"))[-1]
    first = [
        *sorted(p for p in files.glob("*.csv") if p != last_day),
        real_data / "sgsc-smart-grid-smart-city/sgsc_interval_2013-04-05_to_2013-04-09.csv",
        real_data / "lcl-london-smart-meters/kaggle-halfhourly-2013/MAC000037.csv",
        real_data / "nem12-australian-household/meter01.csv",
    ]
    homes = {target: base / target for target in ("duckdb", "spark")}
    for home in homes.values():
        (home / "landing").mkdir(parents=True)
    land(homes["duckdb"], *first, last_day)
    run = run_cli(homes["duckdb"], "run")
    assert run.returncode == 0, run.stdout + run.stderr
    land(homes["spark"], *first)
    for delivery in (None, last_day):
        if delivery:
            land(homes["spark"], delivery)
        run = run_cli(homes["spark"], "run", "--target", "spark")
        assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    return homes


def lake(home) -> duckdb.DuckDBPyConnection:
    """Spark's tables, read through the views smartmeter itself uses."""
    con = duckdb.connect()
    spark_lake.refresh_views(con, Home.resolve(home))
    return con


def test_every_mart_is_the_same_on_spark_and_duckdb(both_stores):
    with duck(both_stores["duckdb"]) as expected, lake(both_stores["spark"]) as spark:
        duck_rows = normalize(expected.execute(PER_METER_DAY).fetchall())
        assert len(duck_rows) > 100
        assert normalize(spark.execute(PER_METER_DAY).fetchall()) == duck_rows
        for name, sql in OTHERS.items():
            assert normalize(spark.execute(sql).fetchall()) == normalize(
                expected.execute(sql).fetchall()
            ), name
        # every raw value is accounted for, file by file (published, quarantined or duplicate)
        balanced = (
            "select count(*), count(*) filter (where is_balanced) from marts.file_reading_balance"
        )
        assert spark.execute(balanced).fetchone() == expected.execute(balanced).fetchone()


def test_the_parquet_archive_written_by_spark_matches_duckdbs(both_stores):
    archives = {target: home / "parquet" / "readings" for target, home in both_stores.items()}

    def folders(root):
        return sorted(
            str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir() and "=" in p.name
        )

    def files(root):
        return f"read_parquet('{root}/**/*.parquet', hive_partitioning = false)"

    def rows(root):
        # every column but the load id, which names each home's own loads
        columns = ", ".join(c for c in EXPORTED_COLUMNS if c != "load_id")
        return duckdb.sql(f"select {columns} from {files(root)} order by all").fetchall()

    assert folders(archives["spark"]) == folders(archives["duckdb"])
    assert len(folders(archives["spark"])) > 10
    assert not list(archives["spark"].rglob(".*.crc")), "Hadoop checksum files left behind"
    schemas = {
        t: duckdb.sql(f"describe select * from {files(a)}").fetchall() for t, a in archives.items()
    }
    assert schemas["spark"] == schemas["duckdb"]
    assert rows(archives["spark"]) == rows(archives["duckdb"])


def test_status_and_report_read_spark_through_the_lake(both_stores):
    home = both_stores["spark"]
    status = run_cli(home, "--json", "status", "--target", "spark")
    assert status.returncode == 0, status.stdout + status.stderr
    report = run_cli(home, "report", "--target", "spark")
    assert report.returncode == 0, report.stdout + report.stderr
    assert (home / "reports" / "latest.html").stat().st_size > 10_000
