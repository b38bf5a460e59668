"""`smartmeter ingest --target postgres` against the real PostgreSQL server."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import dlt
import pytest
from conftest import FIXTURES, REPO, count_data_lines, land, pg_connect, run_cli

from dlt_pipelines.raw_load import MIN_ROWS_PER_COPY, RAW_INDEX_SUFFIX

pytestmark = pytest.mark.postgres


def test_postgres_gets_the_same_raw_tables(home, pg_env, real_data):
    files = [
        FIXTURES / "canonical_small.csv",
        FIXTURES / "wide_small.csv",
        real_data / "nem12-australian-household/meter01.csv",
        real_data / "sgsc-smart-grid-smart-city/sgsc_interval_2013-04-05_to_2013-04-09.csv",
        real_data / "lcl-london-smart-meters/original-layout/MAC000002.csv",
    ]
    land(home, *files)
    result = run_cli(home, "ingest", "--target", "postgres", env=pg_env)
    assert result.returncode == 0, result.stdout + result.stderr
    with pg_connect(pg_env) as con:
        for path in files:
            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            layout = con.execute(
                "select layout from ops.file_manifest where sha256 = %s", (sha,)
            ).fetchone()[0]
            table = con.execute(
                "select raw_table from raw.layouts where layout = %s", (layout,)
            ).fetchone()[0]
            rows = con.execute(
                f"select count(*) from raw.{table} where _file_sha256 = %s", (sha,)
            ).fetchone()[0]
            assert rows == count_data_lines(path, layout != "nem12"), path.name
        value = con.execute(
            "select kwh_hh_per_half_hour from raw.lcl_original where _source_line = 3242"
        ).fetchone()[0]
        assert value == "Null"
        types = con.execute(
            "select distinct data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'canonical' "
            "and column_name <> '_source_line'"
        ).fetchall()
        assert types == [("character varying",)] or types == [("text",)]
        # What incremental builds and reloads select by is indexed on every table that got rows,
        # and the tables have statistics for the build that follows.
        loaded = con.execute(
            "select distinct l.raw_table from ops.file_manifest m "
            "join raw.layouts l on l.layout = m.layout where m.data_rows > 0"
        ).fetchall()
        assert len(loaded) == len(files)
        for table in [row[0] for row in loaded] + ["file_headers"]:
            indexed = con.execute(
                "select a.attname from pg_index i join pg_attribute a "
                "on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
                "where i.indrelid = %s::regclass order by 1",
                (f"raw.{table}",),
            ).fetchall()
            assert indexed == [("_dlt_load_id",), ("_file_sha256",)], table
            analyzed = con.execute(
                "select last_analyze from pg_stat_user_tables "
                "where schemaname = 'raw' and relname = %s",
                (table,),
            ).fetchone()[0]
            assert analyzed is not None, table

    land(home, files[0])
    again = run_cli(home, "ingest", "--target", "postgres", env=pg_env)
    assert again.returncode == 0
    assert "DUPLICATE" in again.stdout


def test_a_big_load_is_copied_in_parallel_lands_whole_and_stays_indexed(home, pg_env, tmp_path):
    """A load of more rows than one COPY takes is cut into files that dlt COPYs at the same
    time, and every row lands once. The block ranges a later load adds are summarized in the
    BRIN index (left unsummarized, every scan would read them)."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            *("--out", str(tmp_path), "--meters", "160", "--days", "31", "--split", "day"),
            *("--layouts", "canonical", "--clean"),
        ],
        check=True,
        capture_output=True,
    )
    days = sorted(tmp_path.glob("canonical_*.csv"))
    first, later = days[:-2], days[-2:]
    lines = {path.name: count_data_lines(path, has_header=True) for path in days}
    assert sum(lines[p.name] for p in first) > MIN_ROWS_PER_COPY  # more than one COPY's worth
    env = {**pg_env, "SMARTMETER_COPY_STREAMS": "4"}
    land(home, *first)
    assert run_cli(home, "ingest", "--target", "postgres", env=env).returncode == 0
    pipeline = dlt.attach(
        "smartmeter_raw_postgres", pipelines_dir=str(home / ".state/dlt/postgres")
    )
    jobs = pipeline.last_trace.last_load_info.load_packages[0].jobs["completed_jobs"]
    assert len([j for j in jobs if j.job_file_info.table_name == "canonical"]) >= 2
    assert not list((home / ".state").rglob("*.parquet")), "loaded files were kept"

    with pg_connect(pg_env) as con:
        pages = con.execute("select relpages from pg_class where oid = 'raw.canonical'::regclass")
        pages_before = pages.fetchone()[0]
        # an index an earlier version built is dropped by the next load
        con.execute("create index canonical__dlt_load_id on raw.canonical (_dlt_load_id)")
        land(home, *later)
        assert run_cli(home, "ingest", "--target", "postgres", env=env).returncode == 0
        for name, count in lines.items():
            landed = con.execute(
                "select count(*), count(distinct _source_line), min(_source_line), "
                "max(_source_line) from raw.canonical where _source_file = %s",
                (name,),
            ).fetchone()
            assert landed == (count, count, 2, count + 1), name
        pages = con.execute("select relpages from pg_class where oid = 'raw.canonical'::regclass")
        assert pages.fetchone()[0] - pages_before > 2 * 128  # at least one whole new range
        unsummarized = con.execute(
            "select brin_summarize_new_values(%s::regclass)", (f"raw.canonical{RAW_INDEX_SUFFIX}",)
        ).fetchone()[0]
        assert unsummarized == 0
        indexes = con.execute(
            "select indexname from pg_indexes where schemaname = 'raw' and tablename = 'canonical'"
        ).fetchall()
        assert indexes == [(f"canonical{RAW_INDEX_SUFFIX}",)]


def test_a_first_ingest_without_rows_still_creates_the_raw_tables(home, pg_env, tmp_path):
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("what,is,this\n1,2,3\n")
    land(home, unknown)
    result = run_cli(home, "ingest", "--target", "postgres", env=pg_env)
    assert result.returncode == 1  # dead-lettered, and the warehouse is ready all the same
    assert "DEAD_LETTERED" in result.stdout
    with pg_connect(pg_env) as con:
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            )
        }
        declared = {row[0] for row in con.execute("select raw_table from raw.layouts")}
        assert declared and declared | {"layouts", "file_headers"} <= tables
        assert con.execute("select count(*) from raw.canonical").fetchone()[0] == 0


def test_unreachable_postgres_is_a_clear_error(home):
    result = run_cli(home, "ingest", "--target", "postgres", env={"PGPORT": "1"})
    assert result.returncode == 1
    assert "cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:1/test" in result.stderr


def test_dbt_runs_on_postgres_with_jit_off(home, pg_env, monkeypatch):
    """PostgreSQL's JIT compiling took longer than the project's queries it compiled: smartmeter
    turns it off for dbt's sessions, keeping whatever else PGOPTIONS says, and leaves a JIT
    setting the user gave alone."""
    from smartmeter import targets
    from smartmeter.dbt_runner import run_dbt
    from smartmeter.home import Home
    from smartmeter.targets.postgres import postgres_session_options

    for name, value in {**pg_env, "PGOPTIONS": "-c work_mem=64MB"}.items():
        monkeypatch.setenv(name, value)
    query = "select current_setting('jit') as jit_now, current_setting('work_mem') as work_mem_now"
    shown = run_dbt(Home.resolve(home), targets.get("postgres"), "show", "--inline", query)
    assert shown.returncode == 0, shown.output[-2000:]
    assert "| off " in shown.output and "| 64MB " in shown.output, shown.output[-1000:]
    assert postgres_session_options("-c jit=on") == "-c jit=on"
    assert postgres_session_options("--jit=on") == "--jit=on"
    assert postgres_session_options("-c jit_above_cost=10") == "-c jit_above_cost=10 -c jit=off"


def test_a_bad_copy_streams_setting_stops_before_any_file_is_taken(home, pg_env):
    land(home, FIXTURES / "canonical_small.csv")
    env = {**pg_env, "SMARTMETER_COPY_STREAMS": "two"}
    result = run_cli(home, "ingest", "--target", "postgres", env=env)
    assert result.returncode == 2
    assert "SMARTMETER_COPY_STREAMS is 'two'" in result.stderr
    assert "Traceback" not in result.stderr
    assert (home / "landing" / "canonical_small.csv").exists()
