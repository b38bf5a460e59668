"""`smartmeter ingest` end to end, as a subprocess, against real DuckDB files and real data."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, cli_env, count_data_lines, duck, land, real_files, run_cli

HEADERLESS_LAYOUTS = {"nem12"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_counts(home: Path) -> dict[str, int]:
    """Rows in raw per file checksum, over every raw table."""
    with duck(home) as con:
        tables = [r[0] for r in con.sql("select raw_table from raw.layouts").fetchall()]
        union = " union all ".join(f"select _file_sha256 from raw.{t}" for t in tables)
        rows = con.sql(f"select _file_sha256, count(*) from ({union}) group by 1").fetchall()
    return dict(rows)


def manifest(home: Path) -> list[tuple]:
    with duck(home) as con:
        return con.sql(
            "select original_name, status, layout, data_rows from ops.file_manifest "
            "order by received_at, original_name"
        ).fetchall()


def test_every_real_file_loads_with_one_raw_row_per_data_line(home, real_data):
    files = real_files(real_data)
    names = [f"{p.parent.name}__{p.name}" for p in files]  # two folders share MAC000002.csv
    land(home, *files, names=names)
    result = run_cli(home, "ingest")
    assert result.returncode == 0, result.stdout + result.stderr
    counts = raw_counts(home)
    layouts = {name: layout for name, _, layout, _ in manifest(home)}
    for path, name in zip(files, names, strict=True):
        expected = count_data_lines(path, layouts[name] not in HEADERLESS_LAYOUTS)
        assert counts[sha256(path)] == expected, name
        assert f"LOADED        {name}" in result.stdout
    assert not list((home / "landing").iterdir())
    for path in files:  # archived byte for byte, read-only
        entry = home / "raw" / sha256(path)[:2] / sha256(path)
        archived = next(entry.iterdir())
        assert archived.read_bytes() == path.read_bytes()
        assert not os.access(archived, os.W_OK) or os.geteuid() == 0
        assert archived.stat().st_mode & 0o222 == 0


def test_same_bytes_again_is_a_duplicate_delivery_not_a_second_load(home):
    source = FIXTURES / "canonical_small.csv"
    land(home, source, source, names=["a.csv", "a copy.csv"])
    first = run_cli(home, "ingest")
    assert first.returncode == 0, first.stderr
    land(home, source)  # the same name and bytes, delivered again later
    second = run_cli(home, "ingest")
    assert second.returncode == 0, second.stderr
    assert "DUPLICATE" in second.stdout
    assert raw_counts(home) == {sha256(source): 4}
    statuses = sorted(status for _, status, _, _ in manifest(home))
    assert statuses == ["duplicate", "duplicate", "loaded"]


def test_bad_input_is_dead_lettered_one_line_each_and_the_rest_loads(home, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    files = {
        "unknown layout.csv": b"foo,bar\n1,2\n",
        "empty.csv": b"",
        "garbage.bin": bytes(range(256)) * 4,
        "latin1.csv": "meter_id,timestamp,value,unit\nZürich,2024-01-01T00:00:00Z,1,kW\n".encode(
            "latin-1"
        ),
        "ragged.csv": b"meter_id,timestamp,value,unit\nA,2024-01-01T00:00:00Z,1,kW,x\n",
        "truncated.csv.gz": gzip.compress(b"meter_id,timestamp,value,unit\n")[:-6],
    }
    good = {
        "header only.csv": b"meter_id,timestamp,value,unit\n",
        'it\'s "quoted" & spaced.csv': (FIXTURES / "canonical_small.csv").read_bytes(),
        "compressed.csv.gz": gzip.compress((FIXTURES / "cumulative_small.csv").read_bytes()),
        "wide.csv": (FIXTURES / "wide_small.csv").read_bytes(),
    }
    for name, data in {**files, **good}.items():
        (bad / name).write_bytes(data)
    land(home, *(bad / n for n in [*files, *good]))
    result = run_cli(home, "ingest")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    for name in files:
        assert sum(1 for line in lines if line.startswith("DEAD_LETTERED") and name in line) == 1
    for name in good:
        assert sum(1 for line in lines if line.startswith("LOADED") and name in line) == 1
    sidecars = [json.loads(p.read_text()) for p in (home / "dlq").glob("dl-*.json")]
    assert sorted(s["original_name"] for s in sidecars) == sorted(files)
    for sidecar in sidecars:
        parked = Path(sidecar["dlq_path"])
        assert parked.read_bytes() == files[sidecar["original_name"]]
        assert sidecar["message"] and sidecar["reason"] and sidecar["last_attempt_at"]
    reasons = {s["original_name"]: s["reason"] for s in sidecars}
    assert reasons == {
        "unknown layout.csv": "unknown_layout",
        "empty.csv": "empty_file",
        "garbage.bin": "binary_file",
        "latin1.csv": "bad_encoding",
        "ragged.csv": "ragged_rows",
        "truncated.csv.gz": "corrupt_gzip",
    }
    by_name = {name: (status, rows) for name, status, _, rows in manifest(home)}
    assert {n for n, (s, _) in by_name.items() if s == "dead_lettered"} == set(files)
    assert by_name["header only.csv"] == ("loaded", 0)
    with duck(home) as con:
        assert con.sql("select count(*) from ops.dead_letters").fetchone()[0] == len(files)
        names = {
            r[0] for r in con.sql("select distinct _source_file from raw.canonical").fetchall()
        }
    assert names == {'it\'s "quoted" & spaced.csv'}
    # Nothing that arrived is lost: every delivered file is in the archive byte for byte.
    archived = {p.read_bytes() for p in (home / "raw").glob("??/*/*")}
    assert all(data in archived for data in {**files, **good}.values())


def test_files_still_being_written_are_left_alone(home):
    (home / "landing" / "part.csv.tmp").write_bytes(b"meter_id,timestamp,value,unit\n")
    (home / "landing" / ".hidden.csv").write_bytes(b"meter_id,timestamp,value,unit\n")
    result = run_cli(home, "ingest")
    assert result.returncode == 0
    assert "nothing to ingest" in result.stdout
    assert sorted(p.name for p in (home / "landing").iterdir()) == [".hidden.csv", "part.csv.tmp"]


CRASH_POINTS = [
    "ingest:after_archive",
    "ingest:after_unlink",
    "ingest:after_dlt_extract",
    "ingest:after_dlt_normalize",
    "ingest:after_dlt_load",
]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_run_killed_at_any_step_ends_like_an_uninterrupted_one(home, point, real_data):
    files = [
        FIXTURES / "canonical_small.csv",
        real_data / "sgsc-smart-grid-smart-city/sgsc_interval_2013-04-05_to_2013-04-09.csv",
        real_data / "nem12-australian-household/meter01.csv",
    ]
    land(home, *files)
    crashed = run_cli(home, "ingest", env={"SMARTMETER_CRASH_AT": point})
    assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
    again = run_cli(home, "ingest")
    assert again.returncode == 0, again.stdout + again.stderr
    expected = {sha256(f): count_data_lines(f, "meter01" not in f.name) for f in files}
    assert raw_counts(home) == expected
    statuses = [status for _, status, _, _ in manifest(home)]
    assert statuses == ["loaded"] * len(files)
    assert not list((home / "landing").iterdir())


def write_canonical(path: Path, meters: int, intervals: int) -> None:
    with path.open("w") as fh:
        fh.write("meter_id,timestamp,value,unit\n")
        for m in range(meters):
            for i in range(intervals):
                fh.write(
                    f"M{m:04d},2024-01-{1 + i // 48:02d}T{i % 48 // 2:02d}:{i % 2 * 30:02d}:00Z,"
                )
                fh.write(f"{(m + i) % 97 / 100:.2f},kWh\n")


@pytest.mark.slow
def test_kill_minus_nine_at_random_moments_never_loses_or_doubles_rows(home, tmp_path):
    big = tmp_path / "big.csv"
    write_canonical(big, meters=200, intervals=48 * 28)  # 268,800 rows
    expected = count_data_lines(big, True)
    land(home, big)
    run_cli(home, "init")
    for delay in (0.8, 1.6, 2.4, 3.2):
        process = subprocess.Popen(
            [sys.executable, "-m", "smartmeter.cli", "--home", str(home), "ingest"],
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    final = run_cli(home, "ingest")
    assert final.returncode == 0, final.stderr
    assert raw_counts(home) == {sha256(big): expected}
    assert [s for _, s, _, _ in manifest(home)] == ["loaded"]


def test_gzip_line_numbers_refer_to_the_text_inside(home):
    data = (FIXTURES / "canonical_small.csv").read_bytes()
    (home / "landing" / "c.csv.gz").write_bytes(gzip.compress(data))
    assert run_cli(home, "ingest").returncode == 0
    with duck(home) as con:
        lines = con.sql("select _source_line from raw.canonical order by 1").fetchall()
    assert [r[0] for r in lines] == [2, 3, 4, 5]


def test_archive_entries_are_never_overwritten(home):
    source = FIXTURES / "canonical_small.csv"
    land(home, source)
    assert run_cli(home, "ingest").returncode == 0
    entry = next((home / "raw").glob("??/*/canonical_small.csv"))
    before = entry.stat().st_mtime_ns
    land(home, source)
    assert run_cli(home, "ingest").returncode == 0
    assert entry.stat().st_mtime_ns == before
