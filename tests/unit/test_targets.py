"""The targets behind one interface, in process (no server, no Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartmeter import spark_lake, targets
from smartmeter.home import Home
from smartmeter.settings import Settings
from smartmeter.sql_shell import ShellError, database_path


def test_every_target_is_registered_once_by_its_name():
    assert targets.TARGETS == ("duckdb", "postgres", "spark")
    for name in targets.TARGETS:
        assert targets.get(name).name == name
    with pytest.raises(ValueError, match="duckdb, postgres, spark"):
        targets.get("oracle")


def test_dbt_sessions_on_postgres_run_without_jit_unless_the_user_says():
    postgres, duckdb = targets.get("postgres"), targets.get("duckdb")
    assert postgres.dbt_env({"PGOPTIONS": "-c work_mem=64MB"})["PGOPTIONS"] == (
        "-c work_mem=64MB -c jit=off"
    )
    assert postgres.dbt_env({"PGOPTIONS": "-c jit=on"})["PGOPTIONS"] == "-c jit=on"
    assert "PGOPTIONS" not in duckdb.dbt_env({})


def test_the_duckdb_warehouse_takes_portable_placeholders_and_rolls_back(tmp_path: Path):
    home = Home(tmp_path, Settings(duckdb_memory_limit="256MB"))
    with targets.connected(home, "duckdb") as warehouse:
        assert warehouse.target == "duckdb"
        assert warehouse.scalar("select current_setting('memory_limit')") in (
            "256.0 MiB",
            "244.1 MiB",
        )
        warehouse.execute("create schema ops; create table ops.t (x integer, y varchar)")
        warehouse.execute("insert into ops.t values (%s, %s)", (1, "a%s"))
        with pytest.raises(RuntimeError), warehouse.transaction():
            warehouse.execute("insert into ops.t values (%s, %s)", (2, "b"))
            raise RuntimeError("the step failed")
        assert warehouse.query("select x, y from ops.t") == [(1, "a%s")]
        assert warehouse.relation_exists("ops", "t") and not warehouse.relation_exists("ops", "u")
        raw = ["raw_a", "raw_b"]
        warehouse.execute("create schema raw; create table raw.raw_a (_file_sha256 varchar)")
        warehouse.execute("insert into raw.raw_a values ('s1'), ('s2')")
        targets.get("duckdb").delete_raw_rows(warehouse, ["s1"], raw)  # raw_b is not there
        assert warehouse.query("select * from raw.raw_a") == [("s2",)]


def test_the_sql_shell_opens_each_targets_own_duckdb_file_or_says_what_to_use(tmp_path: Path):
    home = Home(tmp_path, Settings.resolve({}, {}))
    assert targets.get("duckdb").duckdb_file(home) == home.warehouse
    assert targets.get("spark").duckdb_file(home) == spark_lake.control_path(home)
    with pytest.raises(ShellError, match="use psql"):
        database_path(home, "postgres")
    with pytest.raises(ShellError, match="no warehouse at"):
        database_path(home, "duckdb")  # nothing built yet
