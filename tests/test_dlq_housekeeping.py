"""Keeping the dead-letter queue tidy: a pointless replay is refused without a build, a file that
can never load is discarded with a reason, alerts close when their letter is dealt with, and
every command counts the same open letters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, duck, run_cli

EMPTY_FILE = b""


def deliver(landing: Path, name: str, data: bytes) -> None:
    partial = landing / f".{name}.partial"
    partial.write_bytes(data)
    partial.rename(landing / name)


def letters(home: Path, *flags: str) -> dict[str, dict]:
    listed = run_cli(home, "--json", "dlq", "list", *flags)
    return {lt["original_name"]: lt for lt in json.loads(listed.stdout)}


def open_alerts(home: Path) -> list[dict]:
    """The open alerts about dead-lettered files."""
    listed = json.loads(run_cli(home, "--json", "alerts", "list").stdout)
    return [alert for alert in listed if alert["kind"] == "file_dead_lettered"]


@pytest.fixture(scope="module")
def parked(tmp_path_factory) -> Path:
    """A home whose run dead-lettered an empty file and a ragged one."""
    home = tmp_path_factory.mktemp("dlq") / "home"
    (home / "landing").mkdir(parents=True)
    good = (FIXTURES / "canonical_small.csv").read_bytes()
    deliver(home / "landing", "empty.csv", EMPTY_FILE)
    deliver(home / "landing", "ragged.csv", good + b"0012,2024-01-01T01:30:00Z,1,kWh,30,x\n")
    assert run_cli(home, "run").returncode == 1
    return home


def test_every_command_counts_the_same_open_letters(parked):
    status = json.loads(run_cli(parked, "--json", "status").stdout)
    assert status["folders"]["dlq_open"] == len(letters(parked)) == 2
    assert {a["id"] for a in status["open_dead_letters"]} == {
        lt["dead_letter_id"] for lt in letters(parked).values()
    }
    subjects = sorted(a["subject"] for a in open_alerts(parked))
    assert subjects == ["file empty.csv", "file ragged.csv"]


def test_an_unchanged_letter_is_not_replayed(parked):
    letter = letters(parked)["empty.csv"]
    replay = run_cli(parked, "dlq", "replay", letter["dead_letter_id"])
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "unchanged since it was parked" in replay.stdout
    with duck(parked) as con:  # no build, no run: the run table still holds the first run only
        assert con.execute("select count(*) from ops.pipeline_runs").fetchone()[0] == 1
    assert len(letters(parked, "--all")) == 2  # and no new letter


def test_a_discarded_letter_is_kept_in_the_audit(parked):
    letter = letters(parked)["empty.csv"]
    archived = sorted(p for p in (parked / "raw").rglob("*") if p.is_file())
    discard = run_cli(
        parked, "dlq", "discard", letter["dead_letter_id"], "--reason", "an empty file"
    )
    assert discard.returncode == 0, discard.stdout + discard.stderr
    assert "empty.csv" not in letters(parked)
    assert letters(parked, "--all")["empty.csv"]["discard_reason"] == "an empty file"
    assert sorted(p for p in (parked / "raw").rglob("*") if p.is_file()) == archived
    with duck(parked) as con:
        status, message = con.execute(
            "select status, message from ops.dead_letters where dead_letter_id = ?",
            [letter["dead_letter_id"]],
        ).fetchone()
    assert status == "discarded" and message.endswith("discarded: an empty file")
    assert "file empty.csv" not in {a["subject"] for a in open_alerts(parked)}
    again = run_cli(parked, "--json", "dlq", "discard", letter["dead_letter_id"], "--reason", "x")
    assert json.loads(again.stdout)["status"] == "discarded"


def test_a_successful_replay_closes_its_alert(parked):
    letter = letters(parked)["ragged.csv"]
    parked_file = Path(letter["dlq_path"])
    parked_file.write_bytes(parked_file.read_bytes().replace(b",x\n", b"\n"))  # fixed in place
    replay = run_cli(parked, "dlq", "replay", letter["dead_letter_id"])
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert open_alerts(parked) == []
    assert letters(parked) == {}
    status = json.loads(run_cli(parked, "--json", "status").stdout)
    assert status["folders"]["dlq_open"] == 0


def test_alerts_are_acknowledged_by_id(home):
    deliver(home / "landing", "empty.csv", EMPTY_FILE)
    assert run_cli(home, "run").returncode == 1
    missing = run_cli(home, "--json", "alerts", "ack", "al-nonexistent")
    assert missing.returncode == 2 and "alerts list" in json.loads(missing.stdout)["hint"]
    (alert,) = open_alerts(home)
    ack = run_cli(home, "alerts", "ack", alert["alert_id"])
    assert ack.returncode == 0, ack.stdout + ack.stderr
    assert open_alerts(home) == []
    everything = json.loads(run_cli(home, "--json", "alerts", "list", "--all").stdout)
    (closed,) = [a for a in everything if a["alert_id"] == alert["alert_id"]]
    assert closed["resolved_at"]
