"""The same dbt project on Apache Spark (a local session) gives DuckDB's answers: every mart,
the file balance and the Parquet archive (Spark's published to a bucket), with Spark's data
built in two deliveries (an incremental build) and DuckDB's in one. The CLI runs on Spark end
to end (run, export, status, report, test). The files include the layout language's harder
cases (Green Button downloads in zones of the home's choosing, blocks, column groups, a vendor
layout of reserved-word columns), so one pair of builds covers them too.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, timedelta

import duckdb
import pytest
from channel_inputs import (
    write_conflicting_nem12_resend,
    write_prosumer_file,
    write_register_file,
    write_wide_file,
)
from conftest import FIXTURES, REPO, duck, land
from layout_projects import project_copy, run_in
from test_layout_keys import VENDOR_LAYOUT
from test_layout_parity import answers, write_landing
from test_object_storage import CREDENTIALS, Aws, endpoint  # noqa: F401 (a fixture)
from test_parity_postgres import OTHERS, PER_METER_DAY, normalize

from smartmeter import spark_lake
from smartmeter.home import Home
from smartmeter.targets.archive import archive_columns

pytestmark = [pytest.mark.slow, pytest.mark.spark]

# The tables Spark stores one folder per month (var spark_partition_grain), and their columns.
MONTH_PARTITIONED = [
    ("marts", "fct_readings", "reading_month"),
    ("intermediate", "int_meter_hours", "hour_month"),
    ("intermediate", "int_meter_hours_localized", "local_month"),
    ("intermediate", "int_meter_hours_scored", "local_month"),
]

# The Spark home's archive in its bucket, and its partition scheme.
PREFIX = "parquet/readings/"
MONTHS = "month/meter_id"

# Local days of the real NEM12 meter (Brisbane, UTC+10) that together cover UTC December 2017,
# which the conflicting resend leaves with no published reading.
EMPTIED_NEM12_DAYS = [f"201712{day:02}" for day in range(1, 32)] + ["20180101"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The project with the vendor layout of reserved-word columns added to its layouts.yml,
    for the Spark home: its archive in the month/meter_id scheme (DuckDB's home keeps the
    default), so the build's staging of month partitions is covered too."""
    project = project_copy(tmp_path_factory.mktemp("project"), VENDOR_LAYOUT)
    settings = project / "dbt_project" / "dbt_project.yml"
    default = "parquet_partition_scheme: date/meter_id"
    assert default in settings.read_text()
    settings.write_text(
        settings.read_text().replace(default, f"parquet_partition_scheme: {MONTHS}")
    )
    return project


@pytest.fixture(scope="module")
def duckdb_project(tmp_path_factory):
    """The same project with the default partition scheme, for the DuckDB home."""
    return project_copy(tmp_path_factory.mktemp("duckdb_project"), VENDOR_LAYOUT)


@pytest.fixture(scope="module")
def bucket(endpoint) -> Aws:  # noqa: F811
    return Aws(endpoint)


@pytest.fixture(scope="module")
def spark_env(bucket) -> dict[str, str]:
    """The Spark home's settings: its Parquet archive in a bucket (Spark stages locally,
    smartmeter uploads)."""
    return {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": bucket.endpoint,
        "SMARTMETER_PARQUET_URL": f"s3://{bucket.bucket}/parquet",
    }


@pytest.fixture(scope="module")
def both_stores(tmp_path_factory, real_data, project, duckdb_project, spark_env):
    """A DuckDB home built from every file at once; a Spark home built from all but the last
    day's canonical file and a conflicting resend of a month of real NEM12 days, then from
    those two (an incremental build that adds a day, rewrites the months around it and empties
    a UTC month). The files per partition of Spark's month-partitioned tables before the second
    build are kept beside. The Spark home's archive is in a bucket, and it forecasts only in
    its second run (the first has the history, but forecasting once as DuckDB did is enough)."""
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
    nem12 = real_data / "nem12-australian-household/meter01.csv"
    resend = write_conflicting_nem12_resend(nem12, base, EMPTIED_NEM12_DAYS)
    first = [
        *sorted(p for p in files.glob("*.csv") if p != last_day),
        real_data / "sgsc-smart-grid-smart-city/sgsc_interval_2013-04-05_to_2013-04-09.csv",
        real_data / "lcl-london-smart-meters/kaggle-halfhourly-2013/MAC000037.csv",
        nem12,
        *sorted(FIXTURES.glob("green_button_*/*.xml")),
    ]
    homes = {target: base / target for target in ("duckdb", "spark")}
    for home in homes.values():
        write_landing(home)  # the layout language's files, in the first delivery
    land(homes["duckdb"], *first, last_day, resend)
    run = run_in(duckdb_project, homes["duckdb"], "run")
    assert run.returncode == 0, run.stdout + run.stderr
    land(homes["spark"], *first)
    for delivery in ([], [last_day, resend]):
        if delivery:
            snapshot = {
                "new_day": last_day.stem.rsplit("_", 1)[1],
                "files": {
                    f"{schema}.{table}": partition_files(homes["spark"], schema, table)
                    for schema, table, _ in MONTH_PARTITIONED
                },
            }
            (base / "partition_files_before.json").write_text(json.dumps(snapshot))
            land(homes["spark"], *delivery)
        forecast = [] if delivery else ["--no-forecast"]
        run = run_in(project, homes["spark"], "run", "--target", "spark", *forecast, env=spark_env)
        assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    return homes


def partition_files(home, schema: str, table: str) -> dict[str, list[str]]:
    """A partitioned Spark table's partition folders and the Parquet files in each."""
    folder = spark_lake.warehouse_dir(Home.resolve(home)) / f"{schema}.db" / table
    return {
        partition.name: sorted(p.name for p in partition.glob("*.parquet"))
        for partition in sorted(folder.iterdir())
        if partition.is_dir() and "=" in partition.name
    }


def archive_files(root) -> list[str]:
    """Every Parquet file of an archive, relative to it (the partition folders and file names)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


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


def test_the_layout_languages_files_give_the_same_answers_on_spark(both_stores):
    """Readings, quarantine, balance, preamble and meter zones of every file, Green Button and
    vendor layouts included, as DuckDB has them."""
    with duck(both_stores["duckdb"]) as expected, lake(both_stores["spark"]) as spark:
        duck_answers = answers(expected)
        assert answers(spark) == duck_answers
    assert {row[-1] for row in duck_answers["balance"]} == {True}
    assert sum(row[5] for row in duck_answers["balance"]) > 0  # gas rows were not selected
    assert ("gas_and_electric.csv", 4, 4, 2, 1, 1, True) in duck_answers["balance"]


def test_an_incremental_spark_build_rewrites_only_the_months_it_touches(both_stores):
    """fct_readings is partitioned by UTC month (var spark_partition_grain): the second build
    adds the new day to its month, rewrites the months around the resend, drops the month the
    resend empties, and leaves every other month's files as they were."""
    home = both_stores["spark"]
    snapshot = json.loads((home.parent / "partition_files_before.json").read_text())
    before = snapshot["files"]["marts.fct_readings"]
    after = partition_files(home, "marts", "fct_readings")
    with lake(home) as spark:
        months = {
            f"reading_month={month}"
            for (month,) in spark.execute(
                "select distinct reading_month from marts.fct_readings"
            ).fetchall()
        }
        loads = spark.execute(
            "select count(distinct load_id) from intermediate.int_readings_validated"
        )
        assert (
            len(partition_files(home, "intermediate", "int_readings_validated"))
            == loads.fetchone()[0]
        )
    assert set(after) == months, "a partition folder per UTC month with readings, and no other"
    assert all(after.values()), "no empty partition folder"

    # The resend covers UTC December 2017 and a few hours either side; the days touched and
    # a day either side are rebuilt for its meter.
    emptied = "reading_month=2017-12-01"
    new_month = f"reading_month={snapshot['new_day'][:8]}01"
    rewritten = {"reading_month=2017-11-01", "reading_month=2018-01-01", new_month}
    assert emptied in before and emptied not in after
    for partition in sorted(rewritten):
        assert after[partition] != before[partition], f"{partition} was not rewritten"
    untouched = sorted(set(before) - rewritten - {emptied})
    assert len(untouched) > 30
    assert {p: after[p] for p in untouched} == {p: before[p] for p in untouched}


@pytest.mark.parametrize("schema, table, column", MONTH_PARTITIONED[1:])
def test_the_hour_tables_are_rewritten_by_the_month_too(both_stores, schema, table, column):
    """The hour tables are partitioned like fct_readings: a folder per month with rows, and the
    second build rewrites only months near what it rebuilt (the resend's, with the weeks of
    history the hour scores are judged against, and the new day's)."""
    home = both_stores["spark"]
    snapshot = json.loads((home.parent / "partition_files_before.json").read_text())
    before = snapshot["files"][f"{schema}.{table}"]
    after = partition_files(home, schema, table)
    with lake(home) as spark:
        months = spark.execute(f"select distinct {column} from {schema}.{table}").fetchall()
    assert set(after) == {f"{column}={month}" for (month,) in months}
    assert all(after.values()), "no empty partition folder"

    new_month = date.fromisoformat(snapshot["new_day"]).replace(day=1)
    near = {
        f"{column}={month}"
        for month in [date(2017, m, 1) for m in (10, 11, 12)]
        + [date(2018, m, 1) for m in (1, 2)]
        + [new_month, (new_month - timedelta(days=1)).replace(day=1)]
    }
    changed = {p for p in set(before) | set(after) if before.get(p) != after.get(p)}
    assert changed and changed <= near, sorted(changed - near)
    assert len(set(before) - changed) > len(before) / 2


def download(bucket, root):
    """The bucket's archive, as files under root."""
    for key in bucket.keys(PREFIX):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(bucket.read(key))
    return root / PREFIX


def by_month(names: list[str]) -> list[str]:
    """DuckDB's date/meter_id paths as the month/meter_id scheme names them."""
    renamed = (re.sub(r"reading_date=(\d{4}-\d{2})-\d{2}", r"reading_month=\1", n) for n in names)
    return sorted(set(renamed))


def assert_same_archive(spark, duck, rename=lambda names: names):
    """Spark's archive has DuckDB's folders, file names (through `rename`, from DuckDB's scheme
    to Spark's), schema and rows, and nothing else (no checksums, no staging marks)."""

    def folders(root):
        return sorted(
            str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir() and "=" in p.name
        )

    def files(root):
        return f"read_parquet('{root}/**/*.parquet', hive_partitioning = false)"

    def rows(root):
        # every column but the load id, which names each home's own loads
        columns = ", ".join(c for c in archive_columns(Home(REPO)) if c != "load_id")
        return duckdb.sql(f"select {columns} from {files(root)} order by all").fetchall()

    assert folders(spark) == rename(folders(duck))
    assert archive_files(spark) == rename(archive_files(duck))
    assert len(folders(spark)) > 10
    assert sorted(p.name for p in spark.iterdir() if p.is_file()) == ["_partition_scheme"]
    assert not list(spark.rglob(".*.crc")), "Hadoop checksum files left behind"
    schemas = {
        t: duckdb.sql(f"describe select * from {files(a)}").fetchall()
        for t, a in {"spark": spark, "duckdb": duck}.items()
    }
    assert schemas["spark"] == schemas["duckdb"]
    assert rows(spark) == rows(duck)


def dbt_commands(home) -> list[str]:
    """The dbt commands (build, run-operation, ...) a home ran, in order."""
    log = (home / ".state" / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    return re.findall(r"'invocation_command': 'dbt ([a-z-]+)", log)


def test_the_spark_builds_stage_the_archive_for_their_exports(both_stores, bucket, tmp_path):
    """Both runs' builds staged the month partitions they queued in their own Spark session,
    and the exports published them (to the bucket) with no Spark job of their own: the archive
    has DuckDB's rows, in the month/meter_id scheme, and nothing staged is left."""
    home = both_stores["spark"]
    assert dbt_commands(home).count("build") >= 2
    assert "run-operation" not in dbt_commands(home)
    staged = spark_lake.archive_staged_dir(Home.resolve(home))
    assert staged.is_dir() and not any(staged.iterdir())
    assert not (home / ".state" / "parquet-staging" / "spark-staging").exists()
    archive = download(bucket, tmp_path)
    assert bucket.read(f"{PREFIX}_partition_scheme") == f"{MONTHS}\n".encode()
    assert_same_archive(archive, both_stores["duckdb"] / "parquet" / "readings", by_month)


def test_a_spark_export_removes_a_bucket_partition_with_no_readings(
    both_stores, project, spark_env, bucket
):
    """Nothing queued, nothing staged: no Spark job, and the archive is pruned to the partitions
    with readings."""
    keys = bucket.keys(PREFIX)
    bucket.upload(f"{PREFIX}reading_month=1999-01/meter_id=gone/data_0.parquet", b"readings gone")
    commands = dbt_commands(both_stores["spark"])
    again = run_in(project, both_stores["spark"], "export", "--target", "spark", env=spark_env)
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    assert bucket.keys(PREFIX) == keys
    assert dbt_commands(both_stores["spark"]) == commands


def test_status_and_report_read_spark_through_the_lake(both_stores, project, spark_env):
    home = both_stores["spark"]
    status = run_in(project, home, "--json", "status", "--target", "spark", env=spark_env)
    assert status.returncode == 0, status.stdout + status.stderr
    report = run_in(project, home, "report", "--target", "spark", env=spark_env)
    assert report.returncode == 0, report.stdout + report.stderr
    assert (home / "reports" / "latest.html").stat().st_size > 10_000


def test_the_audit_passes_on_spark(both_stores, project, spark_env):
    """`smartmeter test` (every data test on every row, the file balance recounted) on the
    Spark home built in two deliveries."""
    audit = run_in(project, both_stores["spark"], "test", "--target", "spark", env=spark_env)
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-3000:]
    assert " PASS" in audit.stdout or "passed" in audit.stdout, audit.stdout[-2000:]


def test_a_new_scheme_is_written_by_a_spark_job_of_its_own(
    both_stores, project, spark_env, bucket, tmp_path
):
    """`smartmeter export --partition-scheme` with nothing staged: one Spark job (a dbt
    run-operation) rewrites the whole archive in the new scheme, DuckDB's own, and a partition
    with no readings is removed on the way."""
    home = both_stores["spark"]
    bucket.upload(f"{PREFIX}reading_month=1999-01/meter_id=gone/data_0.parquet", b"gone")
    rewrite = run_in(
        project,
        home,
        "export",
        "--target",
        "spark",
        "--partition-scheme",
        "date/meter_id",
        env=spark_env,
    )
    assert rewrite.returncode == 0, rewrite.stdout + rewrite.stderr[-3000:]
    assert dbt_commands(home)[-1] == "run-operation"
    assert_same_archive(download(bucket, tmp_path), both_stores["duckdb"] / "parquet" / "readings")
