"""Wide files declare their columns: meters and channels from the header, other columns
ignored, the source's quality list applied to the cells it names."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channel_inputs import START, WIDE_CHANNELS, WIDE_SLOTS, wide_estimated, write_wide_file
from conftest import home_after_one_run, q

from dlt_pipelines.layouts import LayoutConfigError, _parse_entry, load_layouts


@pytest.fixture(scope="module")
def wide_home(tmp_path_factory):
    return home_after_one_run(tmp_path_factory, "wide", write_wide_file)


@pytest.mark.slow
def test_meter_columns_split_into_meter_and_channel_others_ignored(wide_home):
    rows = q(
        wide_home,
        "select meter_id, channel, channel_kind, count(*), sum(kwh) from marts.fct_readings "
        "group by all order by 2",
    )
    expected = {
        channel: sum(value(s) for s in range(WIDE_SLOTS))
        for channel, value in WIDE_CHANNELS.values()
    }
    kinds = {"general": "consumption", "export": "export", "pv": "generation"}
    assert [(m, c, k, n) for m, c, k, n, _ in rows] == sorted(
        [("SITE-W", c, kinds.get(c, "submeter"), WIDE_SLOTS) for c in expected],
        key=lambda r: r[1],
    )
    for _, channel, _, _, kwh in rows:
        assert kwh == pytest.approx(expected[channel], abs=1e-9)
    balance = q(
        wide_home,
        "select raw_rows, raw_values, published, quarantined, is_balanced "
        "from marts.file_reading_balance",
    )
    assert balance == [(WIDE_SLOTS, WIDE_SLOTS * len(WIDE_CHANNELS), WIDE_SLOTS * 4, 0, True)]


@pytest.mark.slow
def test_cells_the_source_estimated_carry_its_flag(wide_home):
    flagged = q(
        wide_home,
        "select channel, reading_start_at from marts.fct_readings "
        "where source_quality_flag = 'E' order by 1, 2",
    )

    expected = sorted(
        (WIDE_CHANNELS[column][0], START + timedelta(minutes=30 * slot))
        for slot in range(WIDE_SLOTS)
        for column in wide_estimated(slot)
    )
    assert flagged == expected
    others = q(
        wide_home,
        "select count(*) from marts.fct_readings where source_quality_flag is distinct from 'A' "
        "and source_quality_flag <> 'E'",
    )
    assert others == [(0,)]


def _wide_entry(**columns) -> dict:
    entry = dict(next(lay for lay in load_layouts() if lay.name == "wide").declaration)
    entry["columns"] = columns
    return entry


def test_a_meter_header_the_pattern_does_not_fit_is_an_error():
    layout = _parse_entry(_wide_entry(header_pattern=r"(?P<meter_id>[A-Z]+)_(?P<channel>\w+)"), 0)
    assert layout.wide_header_roles(["local_time", "X_pv", "Y_import"])[1:] == [
        ("meter", "X", "pv"),
        ("meter", "Y", "import"),
    ]
    with pytest.raises(LayoutConfigError, match="position 3"):
        layout.wide_header_roles(["local_time", "X_pv", "interpolated"])


def test_include_and_exclude_patterns_choose_the_meter_columns():
    layout = _parse_entry(_wide_entry(include=["DE_.*"], exclude=[".*_flag"]), 0)
    roles = [r[0] for r in layout.wide_header_roles(["local_time", "DE_1", "DE_1_flag", "note"])]
    assert roles == ["timestamp", "meter", "ignored", "ignored"]


def test_a_header_pattern_without_a_meter_id_group_is_refused():
    with pytest.raises(LayoutConfigError, match="meter_id"):
        _parse_entry(_wide_entry(header_pattern=r"(?P<site>.+)"), 0)


@pytest.mark.slow
def test_daily_consumption_keeps_source_and_pipeline_estimates_apart(wide_home):
    days = q(
        wide_home,
        "select local_date, readings, estimated_readings, source_estimated_readings, "
        "source_estimated_share from marts.fct_daily_consumption order by 1",
    )
    per_day = [
        sum(1 for s in range(day * 48, day * 48 + 48) if "SITE-W" in wide_estimated(s))
        for day in range(WIDE_SLOTS // 48)
    ]
    assert [(r[1], r[2], r[3]) for r in days] == [(48, 0, n) for n in per_day]
    assert days[0][4] == pytest.approx(per_day[0] / 48)
