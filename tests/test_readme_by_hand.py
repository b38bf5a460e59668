"""The README's commands for doing things by hand run as written, in a clone whose default data
home (data/) has been built: the SQL shell the install provides, dbt from the repository root
and from dbt_project/ (profile and home found without ~/.dbt or DBT_PROFILES_DIR)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run_cli, sample_files

# Every manual command of the README that reads the warehouse, checked here; a new one must be
# added (test_every_manual_command_in_the_readme_is_checked). (cwd, command) pairs: the README
# runs the plain `dbt` lines from dbt_project/ or with --project-dir from the root.
CHECKED = [
    (
        ".",
        "smartmeter sql -c \"select * from marts.fct_peak_periods where peak_type = 'hour' "
        'order by peak_rank"',
    ),
    (
        ".",
        "python -c \"import duckdb; print(duckdb.connect('data/warehouse.duckdb', "
        "read_only=True).sql('select status, count(*) from marts.meter_health group by 1'))\"",
    ),
    ("dbt_project", "dbt compile --select resource_type:analysis"),
    (".", "dbt compile --select resource_type:analysis --project-dir dbt_project"),
    (".", "cd dbt_project && dbt docs generate"),
]
MANUAL = re.compile(r"^(smartmeter sql|duckdb |python -c \"import duckdb|dbt )")


def readme_shell_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    return [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]


def test_every_manual_command_in_the_readme_is_checked():
    checked = {command.replace("cd dbt_project && ", "") for _, command in CHECKED}
    manual = [
        line
        for line in readme_shell_lines()
        if MANUAL.match(line) and "--target postgres" not in line and "spark_thrift" not in line
    ]
    assert manual, "no manual command found in the README"
    assert set(manual) <= checked, f"README commands not checked here: {set(manual) - checked}"
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "source .venv/bin/activate" in readme
    for _, command in CHECKED:
        assert command.replace("cd dbt_project && ", "").split(" --project-dir")[0] in readme


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A clone's layout whose data/ was built."""
    root = tmp_path_factory.mktemp("clone")
    home = root / "data"
    sample_files(home / "landing")
    result = run_cli(home, "run", "--no-forecast")
    assert result.returncode == 0, result.stdout + result.stderr
    # copied as a clone has them (dbt_project/profiles.yml stays a link to ../profiles.yml)
    ignore = shutil.ignore_patterns("target", "logs")
    shutil.copytree(REPO / "dbt_project", root / "dbt_project", symlinks=True, ignore=ignore)
    shutil.copyfile(REPO / "profiles.yml", root / "profiles.yml")
    return root


def by_hand(clone: Path, cwd: str, command: str) -> subprocess.CompletedProcess[str]:
    """As an operator's shell after `source .venv/bin/activate`: no ~/.dbt, no DBT_PROFILES_DIR,
    no SMARTMETER_HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SMARTMETER_", "DBT_", "VIRTUAL_ENV", "PWD"))
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(clone.parent / "operator"),
        DBT_TARGET_PATH=str(clone.parent / "target"),
        DBT_LOG_PATH=str(clone.parent / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DO_NOT_TRACK="1",
    )
    return subprocess.run(
        ["bash", "-c", command],
        cwd=clone / cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.parametrize(("cwd", "command"), CHECKED)
def test_a_manual_command_runs_as_written(clone: Path, cwd: str, command: str):
    result = by_hand(clone, cwd, command)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    if command.startswith("dbt") or "dbt " in command:
        # the default home: the clone's data/, not a folder beside the working one
        assert "Registered adapter" in result.stdout
        assert not (clone.parent / "data").exists()


def test_the_sql_shell_reads_the_warehouse_and_cannot_change_it(clone: Path):
    counted = by_hand(
        clone, ".", "smartmeter --json sql -c 'select count(*) as n from marts.fct_readings'"
    )
    assert counted.returncode == 0, counted.stderr
    rows = json.loads(counted.stdout)
    assert rows[0]["n"] > 0
    script = by_hand(
        clone, ".", "printf 'select 1 as a;\\nselect 2 as b;\\n' | smartmeter sql --json"
    )
    assert [json.loads(line) for line in script.stdout.splitlines()] == [[{"a": 1}], [{"b": 2}]]
    refused = by_hand(clone, ".", "smartmeter sql -c 'delete from marts.fct_readings'")
    assert refused.returncode == 1 and "read-only" in refused.stderr
    after = json.loads(
        by_hand(
            clone, ".", "smartmeter --json sql -c 'select count(*) as n from marts.fct_readings'"
        ).stdout
    )
    assert after == rows
    missing = by_hand(clone, ".", "smartmeter --home nowhere sql -c 'select 1'")
    assert missing.returncode == 2 and "init" in missing.stderr
