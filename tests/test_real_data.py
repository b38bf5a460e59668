"""Acceptance on every real file under ../shared/data/real (what each SOURCE.md describes), all
in one data home built by one run: the dbt VEE chain (balances, quarantine, gaps, faults, DST
days, NEM12 quality) and the learned forecast.

The forecast: the learned model's day-ahead skill against naive persistence, scored by
forecast_accuracy on the same meter-hours, pooled over each data set's meters (MAE over all
their scored hours), is at least 0.12 on the London (LCL) meters and 0.20 on the Sydney (SGSC)
ones. Peaks come from no outlier and no flagged period.
"""

from __future__ import annotations

import csv
from datetime import datetime

import pytest
from conftest import land, q, real_files, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_home(tmp_path_factory, real_data):
    home = tmp_path_factory.mktemp("real") / "home"
    (home / "landing").mkdir(parents=True)
    files = real_files(real_data)
    land(home, *files, names=[f"{p.parent.name}__{p.name}" for p in files])
    result = run_cli(home, "run", timeout=3600)
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def test_every_real_file_balances(real_home):
    rows = q(
        real_home, "select source_file, is_balanced, raw_values from marts.file_reading_balance"
    )
    assert len(rows) == 14
    assert all(balanced for _, balanced, _ in rows)


def test_lcl_null_off_grid_row_and_duplicates(real_home, real_data):
    rows = q(
        real_home,
        "select reason, value_text, timestamp_text from marts.quarantined_readings "
        "where source_file = 'original-layout__MAC000002.csv'",
    )
    assert rows == [("off_grid_timestamp", "Null", "2012-12-19 12:37:27.0000000")]
    # MAC000002 comes in two files; 2013 overlaps value for value: nothing conflicts and every
    # timestamp is published once.
    stamps = set()
    for path in (
        real_data / "lcl-london-smart-meters/original-layout/MAC000002.csv",
        real_data / "lcl-london-smart-meters/kaggle-halfhourly-2013/MAC000002.csv",
    ):
        with path.open() as fh:
            for row in list(csv.reader(fh))[1:]:
                if row[2].strip() != "Null":
                    stamps.add(row[1][:19])
    published = q(
        real_home,
        "select count(*), count(*) filter (where quality_flag = 'A') from marts.fct_readings "
        "where meter_id = 'MAC000002'",
    )[0]
    assert published[1] == len(stamps)  # the Null row is the off-grid one
    conflicts = q(
        real_home,
        "select count(*) from marts.quarantined_readings where meter_id = 'MAC000002' "
        "and reason = 'conflicting_duplicate'",
    )
    assert conflicts == [(0,)]


def test_lcl_gaps_one_interval_filled_one_day_left(real_home):
    estimated = q(
        real_home,
        "select reading_start_at from marts.fct_readings where meter_id = 'MAC000002' "
        "and quality_flag = 'E' order by 1",
    )
    assert [r[0] for r in estimated] == [
        datetime(2012, 10, 12, 11, 0),
        datetime(2012, 11, 2, 19, 30),
        datetime(2012, 12, 11, 14, 30),
        datetime(2014, 1, 15, 21, 0),
    ]
    long_gap = q(
        real_home,
        "select gap_start_at, gap_end_at from marts.meter_gaps where meter_id = 'MAC000002'",
    )
    assert long_gap == [(datetime(2012, 11, 8, 0, 30), datetime(2012, 11, 9, 0, 30))]  # 24 h


def test_dead_and_stopped_lcl_meters_are_faulty_and_short_zero_runs_are_not(real_home):
    status = dict(q(real_home, "select meter_id, status from marts.meter_health"))
    for meter in ("MAC000037", "MAC000041", "MAC000028"):
        assert status[meter] == "faulty", meter
    zero_runs = {
        r[0]
        for r in q(
            real_home, "select meter_id from marts.meter_faults where fault_kind = 'zero_run'"
        )
    }
    assert "MAC000006" not in zero_runs  # its longest zero run is 22.5 h
    assert "MAC000004" not in zero_runs  # 77 % zeros, but in short runs


def test_sgsc_dst_days_have_the_right_number_of_intervals_and_no_false_duplicates(real_home):
    local_days = q(
        real_home,
        "select local_day, min(n), max(n) from ("
        "  select meter_id, timezone('Australia/Sydney', timezone('UTC', reading_start_at))::date"
        "    as local_day, count(*) as n"
        "  from marts.fct_readings"
        "  where layout = 'sgsc' and channel = 'general' group by all"
        ") where local_day in ('2013-04-07', '2013-10-06') group by local_day order by 1",
    )
    assert local_days == [
        (datetime(2013, 4, 7).date(), 50, 50),  # the Sydney clock repeated an hour
        (datetime(2013, 10, 6).date(), 46, 46),  # and skipped one
    ]
    sgsc_quarantine = q(
        real_home, "select count(*) from marts.quarantined_readings where layout = 'sgsc'"
    )
    assert sgsc_quarantine == [(0,)]
    assert q(real_home, "select status from marts.meter_health where meter_id = '10017800'") == [
        ("faulty",)
    ]


def test_nem12_intervals_and_quality(real_home):
    counts = q(
        real_home,
        "select count(*), count(distinct reading_date), min(reading_start_at) "
        "from marts.fct_readings where layout = 'nem12'",
    )[0]
    assert counts[0] == 1034 * 48
    assert counts[2] == datetime(2017, 11, 23, 14, 0)  # 2017-11-24 00:00 market time (UTC+10)
    first_fault = q(
        real_home,
        "select fault_kind, started_at, duration_hours from marts.meter_faults "
        "where meter_id = 'M1' order by started_at limit 1",
    )
    assert first_fault == [("zero_run", datetime(2017, 11, 23, 14, 0), 135.0)]
    flags = dict(
        q(
            real_home,
            "select source_reason_code, count(*) from marts.fct_readings where layout = 'nem12' "
            "and source_reason_code is not null group by 1",
        )
    )
    assert set(flags) == {"79", "89"}


POOLED_SKILL = """
    with scored as (
        select
            case when meters.layout like 'lcl%' then 'london'
                when meters.layout = 'sgsc' then 'sydney' end as data_set,
            accuracy.meter_id, accuracy.forecast_method, accuracy.hours_scored, accuracy.mae_kw
        from marts.forecast_accuracy as accuracy
        inner join marts.dim_meters as meters on accuracy.meter_id = meters.meter_id
        where accuracy.scope = 'meter' and accuracy.horizon_days = 1
            -- the meters the learned model forecast: there every method shares its hours
            and accuracy.meter_id in (
                select meter_id from marts.forecast_accuracy
                where forecast_method = 'lightgbm_quantile'
            )
    ),
    pooled as (
        select data_set, forecast_method, sum(mae_kw * hours_scored) as abs_error,
            sum(hours_scored) as hours
        from scored group by data_set, forecast_method
    )
    select learned.data_set, 1 - learned.abs_error / naive.abs_error, learned.hours, naive.hours
    from pooled as learned
    inner join pooled as naive
        on learned.data_set = naive.data_set and naive.forecast_method = 'naive_persistence'
    where learned.forecast_method = 'lightgbm_quantile'
"""


def test_learned_forecast_beats_persistence_on_real_households(real_home):
    skill = {
        data_set: (value, learned, naive)
        for data_set, value, learned, naive in q(real_home, POOLED_SKILL)
    }
    assert set(skill) >= {"london", "sydney"}
    for data_set, (_, learned_hours, naive_hours) in skill.items():
        assert learned_hours == naive_hours, data_set  # the same meter-hours
    assert skill["london"][0] >= 0.12, skill
    assert skill["sydney"][0] >= 0.20, skill


def test_no_peak_comes_from_an_outlier_or_a_flagged_period(real_home):
    bad = q(
        real_home,
        """
        select peaks.meter_id, peaks.period_start_at
        from marts.fct_peak_periods as peaks
        inner join marts.fct_readings as readings
            on readings.meter_id = peaks.meter_id
            and readings.reading_start_at = peaks.period_start_at
            and readings.channel_kind = 'consumption'
        where peaks.scope = 'meter' and peaks.peak_type = 'interval'
            and (readings.is_outlier or exists (
                select 1 from marts.meter_faults as faults
                where faults.meter_id = peaks.meter_id and faults.channel_kind = 'consumption'
                and faults.started_at < peaks.period_end_at
                and faults.ended_at > peaks.period_start_at))
        """,
    )
    assert bad == []
    # no meter is left out for all time by default (the whole-meter rule is off)
    assert q(real_home, "select count(*) from marts.meter_health where is_excluded_from_peaks") == [
        (0,)
    ]
    assert q(real_home, "select count(*) from marts.fct_readings where layout is null") == [(0,)]
