"""What each column of a sample is: the timestamp (or a date and a time), the meter id, the
unit, channel, interval and quality columns, the readings, and the columns that are never
meters (reactive power, voltage, current, money, weather). Judged from header text in the
languages exports come in, and from the values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dlt_pipelines.layouts import KNOWN_CHANNEL_KINDS
from smartmeter.layouts_cli.sample import Column, Sample

UNIT_IN_HEADER = re.compile(r"(?<![a-z])(mwh|kwh|wh|mw|kw|w)(?![a-z])", re.IGNORECASE)
UNIT_SPELLING = {"mwh": "MWh", "kwh": "kWh", "wh": "Wh", "mw": "MW", "kw": "kW", "w": "W"}
ENERGY_UNITS = {"MWh", "kWh", "Wh"}
# Columns that are never meters: reactive power, voltage, current, money, weather, gas, water.
NOT_ENERGY = re.compile(
    r"kvar|kva|[(\[]\s*(v|a|va|var|varh|pf|hz)\s*[)\]]|^\s*(v|a|va|var|pf|hz)\s*$|volt|"
    r"(?<![a-z])amp|cost|price|charge|bill|[$€£]|temp|°|humid|power ?factor|freq|irradi|co2|"
    r"(?<![a-z])gas(?![a-z])|therm|m3|ccf|water|gallon|%",
    re.IGNORECASE,
)
ENERGY_WORDS = re.compile(
    r"usage|consum|energy|import|export|deliver|receiv|generat|value|reading|read|demand|load|"
    r"power|verbrauch|leistung|energie|conso|injection|feed|valeur|wert|waarde|volume|afname",
    re.IGNORECASE,
)
METER_HEADER = re.compile(
    r"meter|nmi|mpan|mprn|icp|esiid|account|service|customer|device|serial|premise|"
    r"zaehlpunkt|zählpunkt|point|(?<![a-z])(id|ean|pod|pdl|prm|site)(?![a-z])|lclid",
    re.IGNORECASE,
)
UNIT_HEADER = re.compile(r"units?|uom|unit of measure|einheit|unité|unite|eenheid", re.IGNORECASE)
UNIT_VALUE = re.compile(r"(k|m)?(wh|w)", re.IGNORECASE)
EXCEL_TEXT = re.compile(r'="[^"]*"')
CHANNEL_HEADER = re.compile(r"channel|register|direction|flow|suffix|obis", re.IGNORECASE)
INTERVAL_HEADER = re.compile(r"interval|duration|resolution|minutes", re.IGNORECASE)
QUALITY_HEADER = re.compile(r"quality|status|flag|estimat|read ?type|method", re.IGNORECASE)
ESTIMATED_FLAG = re.compile(
    r"e|est|estimated?|s|sub|substituted|f|forecast|geschat|geschätzt|estimée?|estimado|stimato",
    re.IGNORECASE,
)
CUMULATIVE_HEADER = re.compile(r"register|cumulative|total|index|meter ?read|stand", re.IGNORECASE)
END_HEADER = re.compile(r"end|(?<![a-z])(to|tot|bis|fin)(?![a-z])", re.IGNORECASE)
PREAMBLE_ID = re.compile(
    r"\s*(account( number| no\.?| #| id)?|service( id| number| point| agreement)?|"
    r"meter( number| no\.?| id)?|nmi|mpan|esiid|premise( id)?)\s*[:,;\t]\s*\"?([^,;\t\"]+)",
    re.IGNORECASE,
)
FILE_NAME_ID = re.compile(r"(?<![0-9])[0-9]{6,}(?![0-9])")
EXPORT_WORDS = re.compile(r"export|receiv|inject|feed", re.IGNORECASE)
GENERATION_WORDS = re.compile(r"generat|solar|pv", re.IGNORECASE)


def channel_name(header: str) -> str:
    text = UNIT_IN_HEADER.sub(" ", header)
    name = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "general"
    return name if name[0].isalpha() else f"c_{name}"


def header_unit(header: str) -> str | None:
    found = UNIT_IN_HEADER.search(header)
    return UNIT_SPELLING[found.group(1).lower()] if found else None


@dataclass
class Roles:
    """What each column of the sample is."""

    timestamp: Column | None = None
    date: Column | None = None
    time: Column | None = None
    meter: Column | None = None
    unit: Column | None = None
    channel: Column | None = None
    interval: Column | None = None
    quality: Column | None = None
    values: list[Column] = field(default_factory=list)
    ignored: list[Column] = field(default_factory=list)

    def named(self) -> list[Column]:
        singles = (
            self.timestamp,
            self.date,
            self.time,
            self.meter,
            self.unit,
            self.channel,
            self.interval,
            self.quality,
        )
        return [c for c in singles if c is not None]


def _first_start(sample: Sample, kind: str) -> Column | None:
    """The first column of stamps of this kind, one not named as an interval's end first."""
    stamps = [c for c in sample.columns if c.stamp and c.stamp.kind == kind]
    starts = [c for c in stamps if not END_HEADER.search(c.header)]
    return (starts or stamps or [None])[0]


def assign_roles(sample: Sample) -> Roles:
    roles = Roles()
    roles.timestamp = _first_start(sample, "datetime")
    if not roles.timestamp:
        roles.date = _first_start(sample, "date")
        roles.time = _first_start(sample, "time")
    taken = {id(c) for c in roles.named()}

    def pick(pattern: re.Pattern[str], want_text: bool) -> Column | None:
        for column in sample.columns:
            if id(column) in taken or column.stamp or not column.present:
                continue
            if pattern.search(column.header) and (not want_text or not column.is_numeric):
                taken.add(id(column))
                return column
        return None

    roles.unit = pick(UNIT_HEADER, want_text=True) or next(
        (
            c
            for c in sample.columns
            if id(c) not in taken and c.present and all(UNIT_VALUE.fullmatch(v) for v in c.present)
        ),
        None,
    )
    if roles.unit:
        taken.add(id(roles.unit))
    roles.channel = pick(CHANNEL_HEADER, want_text=True)
    roles.quality = pick(QUALITY_HEADER, want_text=True)
    roles.interval = next(
        (
            c
            for c in sample.columns
            if id(c) not in taken
            and c.is_numeric
            and INTERVAL_HEADER.search(c.header)
            and not header_unit(c.header)
        ),
        None,
    )
    if roles.interval:
        taken.add(id(roles.interval))
    # A meter id: a column named like one, text or a number (NMIs are digits).
    roles.meter = next(
        (
            c
            for c in sample.columns
            if id(c) not in taken
            and not c.stamp
            and METER_HEADER.search(c.header)
            and not header_unit(c.header)
            and c.present
        ),
        None,
    )
    if roles.meter:
        taken.add(id(roles.meter))
    for column in sample.columns:
        if id(column) in taken or column is roles.timestamp:
            continue
        if column.stamp or not column.is_numeric or NOT_ENERGY.search(column.header):
            roles.ignored.append(column)
        else:
            roles.values.append(column)
    return roles


def is_wide(roles: Roles) -> bool:
    """A column per meter: no meter column, and value columns named neither by a unit nor by
    what they measure (a meter id is neither)."""
    if roles.meter or roles.unit or roles.channel or len(roles.values) < 2 or not roles.timestamp:
        return False
    return not any(header_unit(c.header) or ENERGY_WORDS.search(c.header) for c in roles.values)


def kind_of(name: str) -> str | None:
    known = KNOWN_CHANNEL_KINDS.get(name.lower())
    if known:
        return known
    if EXPORT_WORDS.search(name):
        return "export"
    if GENERATION_WORDS.search(name):
        return "generation"
    return None
