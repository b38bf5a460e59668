"""Operating the pipeline: run summaries and exit codes, the watcher, dead-letter replay,
alerts to a real webhook, and PostgreSQL going away in the middle of the work."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import duckdb
import psycopg
import pytest
from conftest import FIXTURES, REPO, cli_env, duck, run_cli

pytestmark = pytest.mark.slow


def canonical_day(meter: str, day: int) -> str:
    lines = ["meter_id,timestamp,value,unit"]
    for slot in range(48):
        lines.append(
            f"{meter},2024-02-{day:02d}T{slot // 2:02d}:{slot % 2 * 30:02d}:00Z,"
            f"{0.1 + (slot % 7) / 10:.2f},kWh"
        )
    return "\n".join(lines) + "\n"


def deliver(landing: Path, name: str, text: str | bytes) -> None:
    """The sender's convention: write under a temporary name, then rename."""
    partial = landing / f".{name}.partial"
    partial.write_bytes(text.encode() if isinstance(text, str) else text)
    partial.rename(landing / name)


def test_run_summary_json_and_audit_trail(home):
    deliver(home / "landing", "a.csv", canonical_day("A", 1))
    deliver(home / "landing", "bad.csv", b"foo,bar\n1,2\n")
    result = run_cli(home, "run", "--json")
    assert result.returncode == 1  # a file was dead-lettered
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed"
    assert summary["counts"]["files_loaded"] == 1
    assert summary["counts"]["files_dead_lettered"] == 1
    assert summary["counts"]["rows_in"] == 48
    assert summary["counts"]["published_from_new_files"] == 48
    assert {s: v["status"] for s, v in summary["steps"].items()} == {
        "ingest": "ok",
        "build": "ok",
        "export": "ok",
        "forecast": "ok",  # too little history: it says so and writes nothing
        "alerts": "ok",
    }
    with duck(home) as con:
        runs = con.execute("select trigger, status from ops.pipeline_runs").fetchall()
        alert = con.execute("select kind, subject from ops.alerts").fetchall()
        # What happened to file X, in one query (the README shows it).
        story = con.execute(
            """
            select m.original_name, m.status, m.layout, b.raw_values, b.published,
                b.quarantined, b.duplicate_copies, d.reason
            from ops.file_manifest as m
            left join marts.file_reading_balance as b on b.file_sha256 = m.sha256
            left join ops.dead_letters as d on d.delivery_id = m.delivery_id
            order by m.original_name
            """
        ).fetchall()
    assert runs == [("manual", "failed")]
    assert alert == [("file_dead_lettered", "file bad.csv")]
    assert story == [
        ("a.csv", "loaded", "canonical", 48, 48, 0, 0, None),
        ("bad.csv", "dead_lettered", None, None, None, None, None, "unknown_layout"),
    ]


def test_a_fixed_dead_letter_is_replayed_exactly_once(home):
    broken = (
        FIXTURES / "canonical_small.csv"
    ).read_text() + "0012,2024-01-01T01:30:00Z,1,kWh,30,x\n"
    deliver(home / "landing", "ragged.csv", broken)
    assert run_cli(home, "run").returncode == 1
    listed = run_cli(home, "dlq", "list", "--json")
    (letter,) = json.loads(listed.stdout)
    assert letter["reason"] == "ragged_rows"
    parked = Path(letter["dlq_path"])
    parked.write_text(broken.replace(",x\n", "\n"))  # the operator fixes the file in dlq/
    replayed = run_cli(home, "dlq", "replay", letter["dead_letter_id"])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    again = run_cli(home, "dlq", "replay", letter["dead_letter_id"])
    assert again.returncode == 0
    assert "already replayed" in again.stdout
    with duck(home) as con:
        rows = con.execute("select count(*) from raw.canonical").fetchone()[0]
        statuses = con.execute("select status from ops.dead_letters").fetchall()
    assert rows == 5
    assert statuses == [("replayed",)]
    assert run_cli(home, "dlq", "list").stdout.strip() == "the dead-letter queue is empty"


class Webhook:
    """A real HTTP server on 127.0.0.1 that records what is POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_alerts_go_to_the_webhook_once_and_wait_while_it_is_down(home, tmp_path):
    # A meter reading exactly 0 for a day and a half is faulty: one alert.
    start = datetime(2024, 2, 1)
    zeros = ["meter_id,timestamp,value,unit"] + [
        f"Z,{start + timedelta(minutes=30 * i):%Y-%m-%dT%H:%M:%SZ},0,kWh" for i in range(72)
    ]
    deliver(home / "landing", "zeros.csv", "\n".join(zeros) + "\n")
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{port.getsockname()[1]}/hook"
    port.close()
    down = run_cli(home, "run", env={"SMARTMETER_ALERT_WEBHOOK": dead_url})
    assert down.returncode == 0, down.stdout + down.stderr  # a sink that is down never fails
    with duck(home) as con:
        pending = con.execute(
            "select kind, delivered_at, delivery_attempts from ops.alerts"
        ).fetchall()
    assert pending == [("meter_faulty", None, 1)]
    hook = Webhook()
    try:
        up = run_cli(home, "run", env={"SMARTMETER_ALERT_WEBHOOK": hook.url})
        assert up.returncode == 0
        again = run_cli(home, "run", env={"SMARTMETER_ALERT_WEBHOOK": hook.url})
        assert again.returncode == 0
    finally:
        hook.stop()
    assert [a["kind"] for a in hook.received] == ["meter_faulty"]
    assert hook.received[0]["text"].startswith("[CRITICAL] meter Z")
    assert '"event": "alert"' in down.stderr  # the structured log line


def test_watch_processes_a_burst_once_and_dead_letters_the_corrupt_file(home):
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smartmeter.cli",
            "--home",
            str(home),
            "watch",
            "--settle-seconds",
            "0.5",
        ],
        env=cli_env(SMARTMETER_RETRY_BASE_SECONDS="0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        for i in range(100):
            deliver(home / "landing", f"meter-{i:03d}.csv", canonical_day(f"M{i:03d}", 1 + i % 5))
            if i == 50:
                deliver(home / "landing", "corrupt.csv", bytes(range(256)) * 8)
        deadline = time.time() + 240
        done = False
        while time.time() < deadline and not done:
            time.sleep(1)
            if not list((home / "landing").iterdir()) and (home / "warehouse.duckdb").exists():
                try:
                    with duck(home) as con:
                        loaded = con.execute(
                            "select count(*) from ops.file_manifest where status = 'loaded'"
                        ).fetchone()[0]
                        running = con.execute(
                            "select count(*) from ops.pipeline_runs where status = 'running'"
                        ).fetchone()[0]
                    done = loaded == 100 and running == 0
                except Exception:  # the watcher holds the warehouse during a run
                    continue
    finally:
        watcher.send_signal(signal.SIGTERM)
        out, err = watcher.communicate(timeout=120)
    assert watcher.returncode == 0, out + err
    assert "stopped after" in out
    with duck(home) as con:
        manifest = con.execute(
            "select status, count(*) from ops.file_manifest group by 1 order by 1"
        ).fetchall()
        readings = con.execute("select count(*) from raw.canonical").fetchone()[0]
        alerts = con.execute(
            "select subject from ops.alerts where kind = 'file_dead_lettered'"
        ).fetchall()
        triggers = {r[0] for r in con.execute("select trigger from ops.pipeline_runs").fetchall()}
    assert manifest == [("dead_lettered", 1), ("loaded", 100)]
    assert readings == 100 * 48
    assert alerts == [("file corrupt.csv",)]
    assert triggers == {"watch"}


# -- PostgreSQL going away ------------------------------------------------------------------

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """A PostgreSQL instance of the test's own (initdb/pg_ctl as user postgres, its own port),
    so stopping it never disturbs the shared server."""

    def __init__(self, root: Path):
        if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
            pytest.skip("PostgreSQL 15 binaries or runuser are not available")
        if os.geteuid() != 0:
            pytest.skip("a private PostgreSQL instance needs root (to run it as postgres)")
        self.root = root
        root.mkdir(parents=True)
        shutil.chown(root.parent, "postgres", "postgres")
        shutil.chown(root, "postgres", "postgres")
        self.data = root / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )
        self.start()
        psycopg.connect(self.url("postgres"), autocommit=True).execute("create database test")

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            check=True,
            capture_output=True,
            cwd=self.root,
        )

    def url(self, database: str = "test") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": "postgres",
            "PGDATABASE": "test",
            "SMARTMETER_RETRY_BASE_SECONDS": "0.2",
        }

    def start(self) -> None:
        self._as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            f"-p {self.port} -k {self.root}",
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def private_postgres():
    # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="smartmeter-pg-"))
    server = PrivatePostgres(root / "pg")
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.postgres
def test_postgres_down_for_the_whole_window_leaves_the_files_pending(home, private_postgres):
    """An outage longer than the window fails the run with one alert and dead-letters nothing:
    the files wait in the landing, and the next run, with the server back, loads them once."""
    pg = private_postgres
    for day in (1, 2):
        deliver(home / "landing", f"day{day}.csv", canonical_day("P", day))
    pg.stop()
    down = run_cli(home, "run", "--target", "postgres", "--outage-window", "3", env=pg.env())
    assert down.returncode == 1, down.stdout + down.stderr
    assert "FAILED" in down.stdout.splitlines()[0]
    assert "stayed unreachable" in down.stdout
    assert "the store is unreachable (attempt 1" in down.stderr  # said at once, not at the end
    assert json.loads(run_cli(home, "dlq", "list", "--json").stdout) == []
    assert sorted(p.name for p in (home / "landing").iterdir()) == ["day1.csv", "day2.csv"]
    waiting = [json.loads(p.read_text()) for p in (home / "outbox").glob("al-*.json")]
    assert [a["kind"] for a in waiting] == ["run_failed"]  # one alert, kept for the warehouse
    pg.start()
    back = run_cli(home, "run", "--target", "postgres", env=pg.env())
    assert back.returncode == 0, back.stdout + back.stderr
    assert not list((home / "landing").iterdir())
    with psycopg.connect(pg.url()) as con:
        raw = con.execute("select count(*) from raw.canonical").fetchone()[0]
        published = con.execute("select count(*) from marts.fct_readings").fetchone()[0]
        open_alerts = con.execute(
            "select kind from ops.alerts where resolved_at is null"
        ).fetchall()
    assert (raw, published) == (96, 96)
    assert open_alerts == []  # the run that got through resolved the outage's alert
    assert not list((home / "outbox").glob("al-*.json"))


@pytest.mark.postgres
def test_postgres_restarted_during_the_build_is_waited_out(home, private_postgres):
    """PostgreSQL stopped in the middle of the dbt build and started again a few seconds later:
    the run waits, finishes ok, and nothing is dead-lettered, lost or doubled."""
    pg = private_postgres
    deliver(home / "landing", "day1.csv", canonical_day("Q", 1))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "smartmeter.cli",
            "--home",
            str(home),
            "run",
            "--target",
            "postgres",
        ],
        env=cli_env(**pg.env(), SMARTMETER_OUTAGE_WINDOW_SECONDS="240"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = home / ".state" / "dbt" / "logs" / "dbt.log"
    deadline = time.time() + 180
    while time.time() < deadline:
        if log.exists() and "int_readings_validated" in log.read_text(errors="replace"):
            break
        time.sleep(0.2)
    pg.stop()
    time.sleep(4)
    pg.start()
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, out + err
    assert "the store is unreachable" in err
    assert json.loads(run_cli(home, "dlq", "list", "--json").stdout) == []
    with psycopg.connect(pg.url()) as con:
        published = con.execute("select count(*) from marts.fct_readings").fetchone()[0]
        raw = con.execute("select count(*) from raw.canonical").fetchone()[0]
        runs = con.execute("select status from ops.pipeline_runs").fetchall()
    assert (raw, published) == (48, 48)
    assert runs == [("ok",)]


def test_repo_root_is_where_the_tests_expect_it():
    assert (REPO / "pyproject.toml").exists()


def test_a_failing_quality_gate_stops_the_export_and_alerts(home):
    deliver(home / "landing", "day1.csv", canonical_day("G", 1))
    assert run_cli(home, "run").returncode == 0
    archive = home / "parquet" / "readings"
    before = sorted(p.relative_to(archive) for p in archive.rglob("*.parquet"))
    # Break what no new file can explain and no rebuild can heal: a raw row of the loaded file
    # loses its lineage (the singular lineage test reads every staged row).
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("update raw.canonical set _source_file = null where _source_line = 2")
    deliver(home / "landing", "day9.csv", canonical_day("G", 9))
    gated = run_cli(home, "run", "--json")
    assert gated.returncode == 1
    summary = json.loads(gated.stdout)
    assert summary["steps"]["build"]["status"] == "failed"
    assert "export" not in summary["steps"]  # the gate held: nothing was exported
    assert sorted(p.relative_to(archive) for p in archive.rglob("*.parquet")) == before
    with duck(home) as con:
        alerts = {r[0] for r in con.execute("select kind from ops.alerts").fetchall()}
    assert {"dbt_test_failed", "run_failed"} <= alerts


def test_a_build_tests_what_it_wrote_and_smartmeter_test_tests_everything(home):
    deliver(home / "landing", "day1.csv", canonical_day("T", 1))
    assert run_cli(home, "run").returncode == 0
    # A reading altered behind dbt's back, on a day the next file does not touch.
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "update marts.fct_readings set quality_flag = 'X'"
            " where reading_start_at = timestamp '2024-02-01 03:00'"
        )
    deliver(home / "landing", "day9.csv", canonical_day("T", 9))
    assert run_cli(home, "run").returncode == 0  # its tests read days 8 to 10 only
    compiled = next((home / ".state/dbt/target/run").rglob("accepted_values_fct_readings_qua*"))
    assert "2024-02-07" in compiled.read_text()  # the window the build wrote, and no more
    whole = run_cli(home, "test", "--", "--select", "fct_readings")
    assert whole.returncode == 1
    assert "accepted_values_fct_readings_quality_flag" in whole.stdout


def test_the_audit_recounts_the_file_balance(home):
    """A build keeps the file balance per day around new data; `smartmeter test` recounts it
    from the tables, so a published reading deleted behind dbt's back on an old day shows."""
    deliver(home / "landing", "day1.csv", canonical_day("T", 1))
    assert run_cli(home, "run").returncode == 0
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute(
            "delete from marts.fct_readings where reading_start_at = timestamp '2024-02-01 03:00'"
        )
    deliver(home / "landing", "day9.csv", canonical_day("T", 9))
    assert run_cli(home, "run").returncode == 0  # day 1 lies outside what this build recounts
    audit = run_cli(home, "test", "--", "--select", "assert_every_file_balances")
    assert audit.returncode == 1
    assert "assert_every_file_balances" in audit.stdout
    with duck(home) as con:  # the kept balance is fine; only the recount sees the loss
        assert con.execute(
            "select count(*) from marts.file_reading_balance where not is_balanced"
        ).fetchone() == (0,)
