"""Corrections supersede when the source says which version is newer (NEM12 UpdateDateTime):
the newest is published, the older kept in the audit; without a newer marker, versions that
differ still conflict."""

from __future__ import annotations

import pytest
from channel_inputs import CORRECTED, ORIGINAL, write_nem12_revisions
from conftest import home_after_one_run, q, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def revised(tmp_path_factory):
    return home_after_one_run(tmp_path_factory, "revisions", write_nem12_revisions)


def test_the_newest_version_is_published_and_the_older_superseded(revised):
    published = q(
        revised,
        "select kwh from marts.fct_readings where meter_id = 'NMI-REV' order by reading_start_at",
    )
    assert [r[0] for r in published] == pytest.approx(CORRECTED)
    audit = q(
        revised,
        "select count(*), min(superseded_version), min(published_version), "
        "min(published_source_file), sum(published_value - superseded_value) "
        "from marts.superseded_readings where meter_id = 'NMI-REV'",
    )
    assert audit == [
        (48, "20240111030000", "20240112090000", "nem12_corrected.csv", pytest.approx(2.0))
    ]
    assert q(
        revised, "select count(*) from marts.quarantined_readings where meter_id = 'NMI-REV'"
    ) == [(0,)]


def test_versions_with_the_same_marker_that_differ_still_conflict(revised):
    reasons = q(
        revised,
        "select reason, count(*) from marts.quarantined_readings where meter_id = 'NMI-TIE' "
        "group by 1",
    )
    assert reasons == [("conflicting_duplicate", 8)]  # four intervals, two versions each
    published = q(
        revised,
        "select count(*) from marts.fct_readings where meter_id = 'NMI-TIE' and quality_flag = 'A'",
    )
    assert published == [(44,)]
    assert len(ORIGINAL) == 48


def test_superseded_values_are_their_own_verdict_in_the_file_balance(revised):
    rows = q(
        revised,
        "select source_file, raw_values, published, quarantined, duplicate_copies, superseded, "
        "is_balanced from marts.file_reading_balance order by 1",
    )
    # NMI-REV: 48 corrected values published, the 48 originals superseded. NMI-TIE: 4 intervals
    # conflict (both versions quarantined), 44 are identical (one copy published).
    assert [(r[0], r[1], r[3], r[5], r[6]) for r in rows] == [
        ("nem12_corrected.csv", 96, 4, 0, True),
        ("nem12_original.csv", 96, 4, 48, True),
    ]
    assert sum(r[2] for r in rows) == 48 + 44
    assert sum(r[4] for r in rows) == 44


def test_a_correction_arriving_in_a_later_run_supersedes_what_was_published(tmp_path):
    home = tmp_path / "home"
    original, corrected = write_nem12_revisions(tmp_path / "files")
    (home / "landing").mkdir(parents=True)
    original.rename(home / "landing" / original.name)
    assert run_cli(home, "run").returncode == 0
    first = q(home, "select sum(kwh) from marts.fct_readings where meter_id = 'NMI-REV'")
    assert first[0][0] == pytest.approx(sum(ORIGINAL))
    corrected.rename(home / "landing" / corrected.name)
    second_run = run_cli(home, "run")
    assert second_run.returncode == 0, second_run.stdout + second_run.stderr
    after = q(home, "select sum(kwh) from marts.fct_readings where meter_id = 'NMI-REV'")
    assert after[0][0] == pytest.approx(sum(CORRECTED))
    superseded = q(
        home,
        "select source_file, count(*) from marts.superseded_readings "
        "where meter_id = 'NMI-REV' group by 1",
    )
    assert superseded == [("nem12_original.csv", 48)]
    assert q(home, "select bool_and(is_balanced) from marts.file_reading_balance") == [(True,)]
