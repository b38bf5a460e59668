"""Faults a run must survive, with real processes and real databases: kill -9 at each step, two
runs at once, a read-only or full disk."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import cli_env, duck, run_cli, sample_files

pytestmark = pytest.mark.slow


def fresh_home(tmp_path: Path, name: str, files: list[Path]) -> Path:
    home = tmp_path / name
    (home / "landing").mkdir(parents=True)
    for path in files:
        (home / "landing" / path.name).write_bytes(path.read_bytes())
    return home


def snapshot(home: Path) -> dict[str, object]:
    """Everything a correct run leaves behind, in a comparable form."""
    with duck(home) as con:
        state = {
            "fct": con.execute(
                "select meter_id, channel, reading_start_at, round(kw, 9), quality_flag "
                "from marts.fct_readings order by all"
            ).fetchall(),
            "quarantine": con.execute(
                "select source_file, source_line, value_position, reason "
                "from marts.quarantined_readings order by all"
            ).fetchall(),
            "manifest": con.execute(
                "select original_name, status from ops.file_manifest order by all"
            ).fetchall(),
            "raw_rows": con.execute("select count(*) from raw.canonical").fetchone()[0],
        }
    archive = home / "parquet" / "readings"
    state["parquet"] = duckdb.sql(
        f"select meter_id, channel, reading_start_at, round(kw, 9), quality_flag "
        f"from read_parquet('{archive}/**/*.parquet', hive_partitioning = true) order by all"
    ).fetchall()
    return state


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[list[Path], dict[str, object]]:
    base = tmp_path_factory.mktemp("faults")
    files = sample_files(base / "files")
    home = fresh_home(base, "uninterrupted", files)
    result = run_cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return files, snapshot(home)


@pytest.mark.parametrize(
    "crash_at",
    [
        "ingest:after_dlt_normalize",
        "ingest:after_dlt_load",
        "build:int_readings_validated",
        "build:fct_readings",
        "export:after_partition",
    ],
)
def test_kill_minus_nine_then_rerun_ends_like_an_uninterrupted_run(tmp_path, inputs, crash_at):
    files, expected = inputs
    home = fresh_home(tmp_path, "crashed", files)
    crashed = run_cli(home, "run", env={"SMARTMETER_CRASH_AT": crash_at})
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    again = run_cli(home, "run")
    assert again.returncode == 0, again.stdout + again.stderr
    after = snapshot(home)
    assert after == expected
    assert len(after["parquet"]) == len(set(after["parquet"]))  # no duplicated rows


def test_two_runs_at_once_one_waits_or_says_why(tmp_path, inputs):
    files, expected = inputs
    home = fresh_home(tmp_path, "busy", files)
    first = subprocess.Popen(
        [sys.executable, "-m", "smartmeter.cli", "--home", str(home), "run"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = home / ".state" / "run.lock"
    deadline = time.time() + 30
    while time.time() < deadline and not (lock.exists() and lock.read_text().strip()):
        time.sleep(0.05)
    second = run_cli(home, "run")
    waiting = subprocess.Popen(
        [sys.executable, "-m", "smartmeter.cli", "--home", str(home), "run", "--wait"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.wait(timeout=300) == 0, first.communicate()
    assert waiting.wait(timeout=300) == 0, waiting.communicate()
    assert second.returncode == 3
    assert "another smartmeter run is using" in second.stderr
    assert snapshot(home) == expected


def _mount(args: list[str]) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip()}); needs root")


@pytest.fixture
def read_only_home(tmp_path, inputs):
    files, _ = inputs
    source = fresh_home(tmp_path, "source", files)
    mount_point = tmp_path / "read-only"
    mount_point.mkdir()
    _mount(["--bind", str(source), str(mount_point)])
    try:
        _mount(["-o", "remount,bind,ro", str(mount_point)])
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_read_only_data_home_is_a_clear_error_and_nothing_changes(read_only_home):
    before = sorted(p.name for p in (read_only_home / "landing").iterdir())
    result = run_cli(read_only_home, "run")
    assert result.returncode == 2
    assert "read-only file system" in result.stderr
    assert sorted(p.name for p in (read_only_home / "landing").iterdir()) == before


@pytest.fixture
def tiny_disk(tmp_path):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)])
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_full_disk_is_a_clear_error_and_nothing_is_half_written(tiny_disk, inputs):
    files, _ = inputs
    home = tiny_disk / "home"
    (home / "landing").mkdir(parents=True)
    data = files[0].read_bytes()
    (home / "landing" / "delivered.csv").write_bytes(data)
    filler = tiny_disk / "filler"
    with filler.open("wb") as fh, contextlib.suppress(OSError):  # fill what is left
        fh.write(b"\0" * (2 * 1024 * 1024))
    result = run_cli(home, "run")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is on a full disk; nothing was changed" in result.stderr
    assert (home / "landing" / "delivered.csv").read_bytes() == data  # still there, whole
    archived = (
        [p for p in (home / "raw").rglob("*") if p.is_file()] if (home / "raw").exists() else []
    )
    assert archived == []  # no half-written archive entry
