"""A dead letter remembers what decided its fate: a replay with the same file, layouts, zone
settings and code is recognised as pointless; any change to one of them is not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from smartmeter import dead_letters
from smartmeter.home import Home


def _park(home: Home, tmp_path: Path, data: bytes, error_class: str = "permanent"):
    source = tmp_path / "delivered.csv"
    source.write_bytes(data)
    return dead_letters.park(
        home,
        source=source,
        original_name="delivered.csv",
        sha256=hashlib.sha256(data).hexdigest(),
        delivery_id="d-1",
        stage="ingest",
        error_class=error_class,
        reason="unknown_layout",
        message="no layout matches",
        attempts=1,
    )


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path / "home").create()


@pytest.mark.parametrize("data", [b"", b"foo,bar\n1,2\n", "élan;x\n".encode()])
def test_an_untouched_letter_is_unchanged_until_its_file_is_fixed(home, tmp_path, data):
    letter = _park(home, tmp_path, data)
    assert dead_letters.cause_unchanged(home, letter)
    Path(letter.dlq_path).write_bytes(data + b"meter_id,ts\n")  # fixed in place in dlq/
    assert not dead_letters.cause_unchanged(home, letter)


def test_new_zone_settings_change_the_cause(home, tmp_path):
    letter = _park(home, tmp_path, b"foo,bar\n1,2\n")
    (home.root / "layout_zones.yml").write_text("zones: {}\n")
    assert not dead_letters.cause_unchanged(home, letter)


def test_an_outage_is_never_the_same_cause(home, tmp_path):
    letter = _park(home, tmp_path, b"foo,bar\n1,2\n", error_class="transient")
    assert not dead_letters.cause_unchanged(home, letter)


def test_a_discarded_letter_keeps_its_reason_and_leaves_the_open_ones(home, tmp_path):
    kept = _park(home, tmp_path, b"a\n")
    gone = _park(home, tmp_path, b"")
    dead_letters.discard(home, gone, "an empty file can never load")
    assert [lt.dead_letter_id for lt in dead_letters.open_letters(home)] == [kept.dead_letter_id]
    (found,) = [lt for lt in dead_letters.all_letters(home) if lt.status == "discarded"]
    assert found.discard_reason == "an empty file can never load"
    assert Path(found.dlq_path).parent.name == "discarded" and Path(found.dlq_path).exists()
