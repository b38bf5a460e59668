"""A new data home starts from the project's last dbt parse (the user's parse cache) instead of
parsing the whole project again, and answers the same."""

from __future__ import annotations

from pathlib import Path

from conftest import q, run_cli


def dbt_log(home: Path) -> str:
    return (home / ".state/dbt/logs/dbt.log").read_text()


def test_a_second_home_reuses_the_first_homes_parse(tmp_path: Path):
    env = {"SMARTMETER_DBT_PARSE_CACHE": str(tmp_path / "cache")}
    homes = [tmp_path / name for name in ("first", "second")]
    for home in homes:
        for step in (("init",), ("build", "--", "--select", "stg_files__preamble_lines")):
            result = run_cli(home, *step, env=env)
            assert result.returncode == 0, result.stdout + result.stderr
    assert "Starting full parse" in dbt_log(homes[0])
    assert list((tmp_path / "cache").rglob("duckdb.msgpack"))
    assert "Starting full parse" not in dbt_log(homes[1])
    assert "Partial parsing enabled" in dbt_log(homes[1])
    # each home's own warehouse, though the parse was shared
    for home in homes:
        assert q(home, "select count(*) from staging.stg_files__preamble_lines") == [(0,)]
