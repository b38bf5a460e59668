"""`smartmeter ingest --target postgres` against the real PostgreSQL server."""

from __future__ import annotations

import hashlib

import pytest
from conftest import FIXTURES, count_data_lines, land, pg_connect, run_cli

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
