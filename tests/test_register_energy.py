"""Cumulative registers conserve energy: whatever the gaps, published kWh plus the known
energy of long gaps equals the register's own increase (with rollovers)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from channel_inputs import START, register_energy, register_meters, write_register_file
from conftest import home_after_one_run, q, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registers(tmp_path_factory):
    return home_after_one_run(tmp_path_factory, "registers", write_register_file)


def test_published_plus_gap_energy_is_the_register_increase(registers):
    for meter, reads in register_meters().items():
        published = q(
            registers,
            "select coalesce(sum(kwh), 0) from marts.fct_readings where meter_id = ?",
            [meter],
        )[0][0]
        gaps = q(
            registers,
            "select coalesce(sum(gap_kwh), 0) from marts.meter_gaps where meter_id = ?",
            [meter],
        )[0][0]
        assert published + gaps == pytest.approx(register_energy(reads), abs=1e-6), meter
        daily = q(
            registers,
            "select sum(kwh), sum(gap_kwh) from marts.fct_daily_consumption where meter_id = ?",
            [meter],
        )[0]
        assert daily[0] == pytest.approx(register_energy(reads), abs=1e-6), meter
        assert daily[1] == pytest.approx(gaps, abs=1e-6), meter


def test_short_gaps_are_estimated_and_long_ones_keep_their_energy(registers):
    reads = register_meters()["R-GAPS"]
    limit = 120 // 30 + 1  # a read after up to 2 hours of missing reads is shared out
    for (before_slot, _), (after_slot, _) in itertools.pairwise(reads):
        covered = after_slot - before_slot
        if covered == 1:
            continue
        rows = q(
            registers,
            "select count(*), count(distinct estimation_method), min(estimation_method) "
            "from marts.fct_readings where meter_id = 'R-GAPS' and quality_flag = 'E' "
            "and reading_start_at >= ? and reading_end_at <= ?",
            [_at(before_slot + 1), _at(after_slot + 1)],
        )[0]
        if covered <= limit:
            assert rows == (covered, 1, "register_prorated"), covered
        else:
            assert rows[0] == 0, covered
            gap = q(
                registers,
                "select intervals_missing, gap_kwh from marts.meter_gaps "
                "where meter_id = 'R-GAPS' and gap_start_at = ?",
                [_at(before_slot + 1)],
            )
            assert len(gap) == 1 and gap[0][0] == covered, covered
            assert gap[0][1] > 0


def test_every_read_is_accounted_for(registers):
    rows = q(
        registers,
        "select raw_values, published, quarantined, register_gap_reads, is_balanced "
        "from marts.file_reading_balance",
    )
    long_gaps = sum(
        1
        for reads in register_meters().values()
        for (a, _), (b, _) in itertools.pairwise(reads)
        if b - a > 5
    )
    assert len(rows) == 1 and rows[0][4]
    assert rows[0][2] == len(register_meters())  # one baseline per register
    assert rows[0][3] == long_gaps


def _at(slot: int):

    return START + timedelta(minutes=30 * slot)


def test_a_gap_closed_by_a_later_file_gets_the_same_answers_as_one_run(registers, tmp_path):
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    # The 75-hour gap of R-GAPS (reads at slots 408 and 559) is closed by the second file.
    for name, slots in (("registers_1.csv", range(450)), ("registers_2.csv", range(450, 10**6))):
        write_register_file(home / "landing", name, slots)
        result = run_cli(home, "run")
        assert result.returncode == 0, result.stdout + result.stderr
    for sql in (
        "select meter_id, channel, gap_start_at, gap_end_at, intervals_missing, "
        "round(gap_kwh, 6) from marts.meter_gaps order by 1, 2, 3",
        "select meter_id, local_date, round(kwh, 6), round(gap_kwh, 6), readings, "
        "estimated_readings, is_complete from marts.fct_daily_consumption order by 1, 2",
        "select meter_id, count(*), round(sum(kwh), 6) from marts.fct_readings group by 1 "
        "order by 1",
    ):
        assert q(home, sql) == q(registers, sql), sql
    assert q(home, "select bool_and(is_balanced) from marts.file_reading_balance") == [(True,)]
