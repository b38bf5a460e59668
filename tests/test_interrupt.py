"""Ctrl-C on `smartmeter run`: the first says at once that the run stops after the current step,
a second stops now; either way the run is recorded as interrupted, the lock is released, and
the next run completes the work with nothing lost or doubled."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, cli_env, duck, run_cli

pytestmark = pytest.mark.slow

DAYS = 3


def _deliver(landing: Path) -> None:
    for day in range(1, DAYS + 1):
        lines = ["meter_id,timestamp,value,unit"]
        for slot in range(48):
            stamp = f"2024-03-{day:02d}T{slot // 2:02d}:{slot % 2 * 30:02d}:00Z"
            lines.append(f"C,{stamp},{0.2 + slot % 5 / 10:.2f},kWh")
        (landing / f"day{day}.csv").write_text("\n".join(lines) + "\n")


def _start_run(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "smartmeter.cli", "--home", str(home), "run", "--no-forecast"],
        cwd=REPO,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_the_build(home: Path, process: subprocess.Popen[str]) -> None:
    log = home / ".state" / "dbt" / "logs" / "dbt.log"
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if log.exists() and "int_readings_validated" in log.read_text(errors="replace"):
            return
        time.sleep(0.1)
    pytest.fail("the run never reached the dbt build")


def _last_run_status(home: Path) -> str:
    status = json.loads(run_cli(home, "status", "--json").stdout)
    return status["runs"][0]["status"]


def _the_next_run_completes_the_work(home: Path) -> None:
    again = run_cli(home, "run", "--no-forecast", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["steps"]["build"]["status"] == "ok"
    with duck(home) as con:
        raw = con.execute("select count(*) from raw.canonical").fetchone()[0]
        published, distinct = con.execute(
            "select count(*), count(distinct reading_start_at) from marts.fct_readings"
        ).fetchone()
        manifest = con.execute(
            "select status, count(*) from ops.file_manifest group by status"
        ).fetchall()
    assert (raw, published, distinct) == (48 * DAYS, 48 * DAYS, 48 * DAYS)
    assert manifest == [("loaded", DAYS)]
    assert not list((home / "landing").iterdir())
    assert list((home / "parquet").rglob("*.parquet"))  # the export the first run skipped


def test_a_first_ctrl_c_stops_after_the_current_step(home):
    _deliver(home / "landing")
    process = _start_run(home)
    _wait_for_the_build(home, process)
    process.send_signal(signal.SIGINT)
    said_at = None
    assert process.stderr is not None
    started = time.monotonic()
    for line in process.stderr:  # the notice comes at once, while the build goes on
        if "stopping after the current step" in line:
            said_at = time.monotonic() - started
            break
    out, err = process.communicate(timeout=600)
    assert said_at is not None and said_at < 5, err
    assert "Ctrl-C again to stop now" not in out
    assert process.returncode == 130, out + err
    assert "INTERRUPTED" in out.splitlines()[0]
    assert "stopped before export" in out
    assert _last_run_status(home) == "interrupted"
    _the_next_run_completes_the_work(home)


def test_a_second_ctrl_c_stops_at_once(home):
    _deliver(home / "landing")
    process = _start_run(home)
    _wait_for_the_build(home, process)
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, out + err
    assert "INTERRUPTED" in out.splitlines()[0]
    assert "stopped at once during build" in out
    assert _last_run_status(home) == "interrupted"
    _the_next_run_completes_the_work(home)


def test_a_killed_run_shows_as_interrupted_and_the_next_completes_it(home):
    """No signal handler runs on SIGKILL: the run's row still says `running`, but no run holds
    the home's lock, so `status` shows it interrupted."""
    _deliver(home / "landing")
    process = _start_run(home)
    _wait_for_the_build(home, process)
    process.kill()
    process.communicate(timeout=60)
    assert _last_run_status(home) == "interrupted"
    _the_next_run_completes_the_work(home)
