"""Green Button XML (NAESB ESPI): recognized by its markup, read by a hardened parser, loaded
with no configuration, every value accounted for, and the same answers on DuckDB and
PostgreSQL.

The real samples (tests/fixtures/green_button_*/SOURCE.md) are the default-namespace style with
an xml-stylesheet line and long comments, and a utility's own spelling; the hand-written feeds
below add the `espi:` prefix, cumulative registers beside interval series, export, quality
codes, multipliers and units that are not energy.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, land
from test_bad_file_isolation import Store

from dlt_pipelines.text_tables import UnreadableFile, read_text_table

COASTAL = (
    FIXTURES / "green_button_coastal" / "Coastal_Multi_Family_12hr_2011-01-01_to_2011-01-15.xml"
)
SCE = next((FIXTURES / "green_button_sce").glob("*.xml"))

FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
  <entry>
    <link rel="self" href="https://u.example/espi/1_1/resource/RetailCustomer/9/UsagePoint/5"/>
    <link rel="related" href="https://u.example/espi/1_1/resource/RetailCustomer/9/UsagePoint/5/MeterReading"/>
    <link rel="related" href="https://u.example/espi/1_1/resource/LocalTimeParameters/2"/>
    <content><espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint></content>
  </entry>
  <entry>
    <link rel="self" href="https://u.example/espi/1_1/resource/LocalTimeParameters/2"/>
    <content><espi:LocalTimeParameters><espi:dstEndRule>B40E2000</espi:dstEndRule><espi:dstOffset>3600</espi:dstOffset><espi:dstStartRule>360E2000</espi:dstStartRule><espi:tzOffset>-18000</espi:tzOffset></espi:LocalTimeParameters></content>
  </entry>
{series}
</feed>
"""
SERIES = """  <entry>
    <link rel="self" href="https://u.example/espi/1_1/resource/RetailCustomer/9/UsagePoint/5/MeterReading/{mr}"/>
    <link rel="up" href="https://u.example/espi/1_1/resource/RetailCustomer/9/UsagePoint/5/MeterReading"/>
    <link rel="related" href="https://u.example/espi/1_1/resource/ReadingType/{mr}"/>
    <content><espi:MeterReading/></content>
  </entry>
  <entry>
    <link rel="self" href="https://u.example/espi/1_1/resource/ReadingType/{mr}"/>
    <content><espi:ReadingType><espi:accumulationBehaviour>{acc}</espi:accumulationBehaviour><espi:flowDirection>{flow}</espi:flowDirection><espi:intervalLength>900</espi:intervalLength><espi:powerOfTenMultiplier>{p}</espi:powerOfTenMultiplier><espi:uom>{uom}</espi:uom></espi:ReadingType></content>
  </entry>
  <entry>
    <link rel="up" href="https://u.example/espi/1_1/resource/RetailCustomer/9/UsagePoint/5/MeterReading/{mr}/IntervalBlock"/>
    <content><espi:IntervalBlock><espi:interval><espi:duration>3600</espi:duration><espi:start>1704700800</espi:start></espi:interval>
{readings}
    </espi:IntervalBlock></content>
  </entry>"""
READING = (
    "      <espi:IntervalReading>{quality}<espi:timePeriod><espi:duration>900</espi:duration>"
    "<espi:start>{start}</espi:start></espi:timePeriod><espi:value>{value}</espi:value>"
    "</espi:IntervalReading>"
)


def _series(mr: str, values: list[int], acc: str = "4", flow: str = "1", p: int = 0,
            uom: str = "72", quality: str = "") -> str:  # fmt: skip
    readings = "\n".join(
        READING.format(
            quality=f"<espi:ReadingQuality><espi:quality>{quality}</espi:quality></espi:ReadingQuality>"
            if quality else "",
            start=1704700800 + 900 * i,
            value=value,
        )
        for i, value in enumerate(values)
    )  # fmt: skip
    return SERIES.format(mr=mr, acc=acc, flow=flow, p=p, uom=uom, readings=readings)


def _feed(*series: str) -> str:
    return FEED.format(series="\n".join(series))


def minified(text: str) -> str:
    return re.sub(r">\s+<", "><", text).strip()


# -- the parser --------------------------------------------------------------------------------


def test_links_carry_each_reading_its_reading_type_and_zone():
    text = _feed(
        _series("1", [100, 200], p=3),
        _series("2", [5000, 5100], acc="1"),
        _series("3", [7], flow="19", quality="8"),
    )
    table = read_text_table(text.encode(), "feed.xml", "sha").rows.to_pylist()
    assert [r["reading_ordinal"] for r in table] == ["1", "2", "3", "4", "5"]
    assert {r["usage_point"] for r in table} == {"RetailCustomer/9/UsagePoint/5"}
    assert [(r["meter_reading"], r["power_of_ten_multiplier"], r["accumulation_behaviour"],
             r["flow_direction"]) for r in table] == [
        ("1", "3", "4", "1"), ("1", "3", "4", "1"), ("2", "0", "1", "1"), ("2", "0", "1", "1"),
        ("3", "0", "4", "19"),
    ]  # fmt: skip
    assert {r["tz_offset"] for r in table} == {"-18000"}
    assert table[4]["reading_quality"] == "8"
    lines = text.splitlines()
    assert all("IntervalReading" in lines[r["_source_line"] - 1] for r in table)


@pytest.mark.parametrize("path", [COASTAL, SCE], ids=["coastal", "sce"])
def test_real_samples_are_recognized_with_every_reading(path: Path):
    data = path.read_bytes()
    table = read_text_table(data, path.name, "sha")
    assert table.layout.name == "espi"
    values = re.findall(rb"<value>(\d+)</value>\s*</IntervalReading>", data)
    assert table.rows.column("value").to_pylist() == [v.decode() for v in values]
    assert set(table.rows.column("uom").to_pylist()) == {"72"}


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi"><title>&lol3;</title></feed>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&secret;</title></feed>
"""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (BOMB, "unsafe_xml"),
        (EXTERNAL, "unsafe_xml"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'>" + "<a>" * 100 + "</a>" * 100 + "</feed>",
         "unsafe_xml"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'><entry></feed>", "unparseable_xml"),
        ("<feed xmlns='http://www.w3.org/2005/Atom'><title>&undefined;</title></feed>",
         "unparseable_xml"),
        ("<?xml version='1.0'?><catalog><book/></catalog>", "unknown_layout"),
    ],
    ids=["bomb", "external_entity", "too_deep", "malformed", "undefined_entity", "not_espi"],
)  # fmt: skip
def test_unsafe_or_foreign_xml_is_refused_unread(text: str, reason: str):
    with pytest.raises(UnreadableFile) as caught:
        read_text_table(text.encode(), "x.xml", "sha")
    assert caught.value.reason == reason
    assert "lollol" not in str(caught.value) and "root:" not in str(caught.value)


def test_a_file_above_the_size_bound_is_refused():
    feed = _feed(_series("1", [1] * 20)).encode()
    assert read_text_table(feed, "big.xml", "sha", xml_max_bytes=len(feed)).rows.num_rows == 20
    with pytest.raises(UnreadableFile) as caught:
        read_text_table(feed, "big.xml", "sha", xml_max_bytes=len(feed) - 1)
    assert caught.value.reason == "xml_too_large"
    assert f"{len(feed) - 1:,}" in str(caught.value)


# -- the pipeline, on both stores ----------------------------------------------------------------


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, home: Path) -> Store:
    if request.param == "postgres":
        return Store(home, "postgres", request.getfixturevalue("pg_env"))
    return Store(home, "duckdb", None)


ANSWERS = {
    "published": "select source_file, channel, channel_kind, count(*), "
    "round(cast(sum(kwh) as numeric(28, 6)), 6), "
    "min(source_quality_flag), max(source_quality_flag) from marts.fct_readings "
    "group by 1, 2, 3 order by 1, 2",
    "quarantined": "select source_file, reason, count(*) from marts.quarantined_readings "
    "group by 1, 2 order by 1, 2",
    "balance": "select source_file, raw_values, published, quarantined, register_gap_reads, "
    "is_balanced from marts.file_reading_balance order by 1",
    "zones": "select meter_id, timezone from marts.dim_meters order by 1",
    "days": "select meter_id, cast(local_date as varchar), round(cast(kwh as numeric(28, 6)), 6) "
    "from marts.fct_daily_consumption order by 1, 2",
}


@pytest.mark.slow
def test_green_button_files_load_with_no_configuration(store: Store, tmp_path: Path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "feed.xml").write_text(  # minified: every reading on line 1
        minified(
            _feed(
                _series("1", [100, 200, 300, 400], p=-1),  # 10..40 Wh
                _series("2", [5000, 5100, 5250, 5250, 5400], acc="1"),  # a register
                _series("3", [1, 2], flow="19", p=3, quality="8"),  # export, kWh, estimated
                _series("4", [240, 241], uom="29"),  # volts: never a meter
            )
        ),
        encoding="utf-8",
    )
    (files / "bomb.xml").write_text(BOMB, encoding="utf-8")
    land(store.home, COASTAL, SCE, files / "feed.xml", files / "bomb.xml")
    run = store.run(REPO / "dbt_project", "run")
    assert run.returncode == 1, run.stdout + run.stderr  # the bomb is dead-lettered
    assert "bomb.xml" in run.stdout + run.stderr
    answers = {
        name: [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]
        for name, rows in ((name, store.query(sql)) for name, sql in ANSWERS.items())
    }

    published = {(f, c): row for f, c, *row in answers["published"]}
    # kWh equal to each file's own sum (Wh / 1000), every reading published
    assert published[(COASTAL.name, "general")] == ["consumption", 336, 196.1, "A", "A"]
    assert published[(SCE.name, "general")] == ["consumption", 96, 24.04, "A", "A"]
    assert published[("feed.xml", "general_1")] == ["consumption", 4, 0.1, "A", "A"]
    # register: 5000 is its baseline, then 100 + 150 + 0 + 150 Wh
    assert published[("feed.xml", "general_2")] == ["consumption", 4, 0.4, "A", "A"]
    assert published[("feed.xml", "export")] == ["export", 2, 3.0, "E", "E"]
    assert answers["quarantined"] == [
        ("feed.xml", "invalid_unit", 2),
        ("feed.xml", "register_baseline", 1),
    ]
    assert all(row[-1] for row in answers["balance"]), answers["balance"]
    assert {row[0]: row[1] for row in answers["balance"]} == {
        COASTAL.name: 336, SCE.name: 96, "feed.xml": 13,
    }  # fmt: skip
    assert dict(answers["zones"]) == {
        "RetailCustomer/3/UsagePoint/1": "America/Los_Angeles",
        "RetailCustomer/9/UsagePoint/5": "America/New_York",
        "RetailCustomer/VJEWP31BE/UsagePoint/NB6WRU": "America/Los_Angeles",
    }
    coastal_days = [row for row in answers["days"] if row[0] == "RetailCustomer/3/UsagePoint/1"]
    assert [day for _, day, _ in coastal_days] == [f"2011-01-{d:02d}" for d in range(1, 15)]
    letters = store.query("select original_name, reason from ops.dead_letters")
    assert letters == [("bomb.xml", "unsafe_xml")]
