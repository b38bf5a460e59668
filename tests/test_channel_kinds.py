"""Channel kinds: what each channel measures decides its health rules and where it counts."""

from __future__ import annotations

import pytest
from channel_inputs import PROSUMER_CHANNELS, SLOTS, write_prosumer_file
from conftest import home_after_one_run, q

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prosumers(tmp_path_factory):
    return home_after_one_run(tmp_path_factory, "kinds", write_prosumer_file)


def test_every_published_reading_carries_its_channel_kind(prosumers):
    kinds = dict(
        ((m, c), k)
        for m, c, k, n in q(
            prosumers,
            "select meter_id, channel, channel_kind, count(*) from marts.fct_readings group by all",
        )
        if n == SLOTS
    )
    assert kinds == {
        (meter, channel): {"general": "consumption", "export": "export", "pv": "generation"}[
            channel
        ]
        for meter, channel in PROSUMER_CHANNELS
    }


def test_zero_runs_are_faults_only_on_consumption_and_constant_runs_on_every_kind(prosumers):
    faults = q(
        prosumers,
        "select meter_id, channel, fault_kind, duration_hours from marts.meter_faults "
        "where severity = 'critical' order by 1, 2",
    )
    assert faults == [
        ("SITE-B", "general", "zero_run", 30.0),
        ("SITE-C", "pv", "constant_run", 13.0),
    ]
    status = dict(q(prosumers, "select meter_id, status from marts.meter_health"))
    assert status == {"SITE-A": "ok", "SITE-B": "faulty", "SITE-C": "faulty"}


def test_analytics_read_consumption_channels_only(prosumers):
    general = {slot: PROSUMER_CHANNELS[("SITE-A", "general")](slot) for slot in range(SLOTS)}
    daily = q(
        prosumers,
        "select sum(kwh), max(peak_kw) from marts.fct_daily_consumption where meter_id = 'SITE-A'",
    )[0]
    assert daily[0] == pytest.approx(sum(general.values()), abs=1e-9)
    assert daily[1] == pytest.approx(2 * max(general.values()), abs=1e-9)
    profile_max = q(
        prosumers,
        "select max(avg_kw) from marts.fct_usage_profiles where meter_id = 'SITE-A'",
    )[0][0]
    assert profile_max <= 2 * max(general.values()) + 1e-9


def test_net_demand_where_a_site_imports_and_exports(prosumers):
    rows = q(
        prosumers,
        "select meter_id, count(*), sum(import_kwh), sum(export_kwh), sum(net_kwh), "
        "min(net_kw) from marts.fct_net_demand group by 1",
    )
    imported = sum(PROSUMER_CHANNELS[("SITE-A", "general")](s) for s in range(SLOTS))
    exported = sum(PROSUMER_CHANNELS[("SITE-A", "export")](s) for s in range(SLOTS))
    lowest = min(
        2
        * (PROSUMER_CHANNELS[("SITE-A", "general")](s) - PROSUMER_CHANNELS[("SITE-A", "export")](s))
        for s in range(SLOTS)
    )
    assert len(rows) == 1 and rows[0][:2] == ("SITE-A", SLOTS)
    assert rows[0][2:5] == pytest.approx((imported, exported, imported - exported), abs=1e-9)
    assert rows[0][5] == pytest.approx(lowest, abs=1e-9)
