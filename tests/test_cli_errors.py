"""The command line's errors: one line (or one JSON object with --json) and a documented exit
code, never a surprise: no home made by mistake, no traceback, no colour codes in a pipe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, cli_env, run_cli

# Commands that need an existing data home, with the arguments that make them parse.
NEEDS_A_HOME = [
    ["run"],
    ["ingest"],
    ["status"],
    ["export"],
    ["report"],
    ["build"],
    ["test"],
    ["dlq", "list"],
    ["dlq", "replay", "--all"],
]


@pytest.mark.parametrize("command", NEEDS_A_HOME, ids=" ".join)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_missing_home_is_an_error_that_says_how_to_make_it(tmp_path, command, as_json):
    missing = tmp_path / "meterz"
    flags = ["--json"] if as_json else []
    result = run_cli(missing, *flags, *command)
    assert result.returncode == 2, result.stdout + result.stderr
    assert not missing.exists(), "a mistyped home must not be created"
    assert "Traceback" not in result.stderr
    hint = f"smartmeter --home {missing} init"
    if as_json:
        error = json.loads(result.stdout)
        assert error["exit_code"] == 2
        assert str(missing) in error["error"] and hint in error["hint"]
    else:
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and hint in lines[0], result.stderr


def test_an_unknown_dead_letter_is_a_json_error(home):
    result = run_cli(home, "--json", "dlq", "replay", "dl-nonexistent")
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert "dl-nonexistent" in error["error"] and "dlq list" in error["hint"]


def test_a_report_before_any_data_is_a_json_error(home):
    result = run_cli(home, "--json", "report")
    assert result.returncode == 1, result.stdout + result.stderr
    error = json.loads(result.stdout)
    assert set(error) == {"error", "hint", "exit_code"} and error["exit_code"] == 1


def test_status_is_not_ok_when_the_warehouse_is_unreachable(home):
    result = run_cli(home, "--json", "status", "--target", "postgres", env={"PGPORT": "1"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["warehouse"].startswith("unreachable")


def test_a_closed_pipe_ends_quietly(home):
    command = [sys.executable, "-m", "smartmeter.cli", "--home", str(home), "--json", "status"]
    with subprocess.Popen(
        command, cwd=REPO, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()  # as `| head -c 10` does
        stderr = process.stderr.read().decode()
        process.wait(timeout=120)
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


def test_a_home_remembers_its_target(home):
    (home / ".state").mkdir()
    (home / ".state" / "target").write_text("postgres\n")  # as `init --target postgres` leaves it
    # without --target the home's own target is used
    status = run_cli(home, "--json", "status", env={"PGPORT": "1"})
    assert json.loads(status.stdout)["target"] == "postgres"
    # another target is an error with a hint, unless asked for
    other = run_cli(home, "--json", "status", "--target", "duckdb")
    assert other.returncode == 2
    error = json.loads(other.stdout)
    assert "postgres" in error["error"] and "--switch-target" in error["hint"]
    switched = run_cli(home, "--json", "status", "--target", "duckdb", "--switch-target")
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert json.loads(switched.stdout)["target"] == "duckdb"


def test_init_writes_the_target_down(tmp_path: Path):
    home = tmp_path / "fresh"
    result = run_cli(home, "init")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (home / ".state" / "target").read_text().strip() == "duckdb"


def test_a_dbt_selection_that_matches_nothing_fails_without_colour(tmp_path: Path):
    home = tmp_path / "h"
    assert run_cli(home, "init").returncode == 0
    result = run_cli(home, "--json", "build", "--", "--select", "nonexistent_model")
    assert result.returncode == 1, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"] == "dbt build selected nothing"
    assert "\x1b[" not in result.stdout + result.stderr  # piped: no colour codes
