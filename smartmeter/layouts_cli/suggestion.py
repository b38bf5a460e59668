"""A draft layouts.yml entry from a sample file, for a person to review.

What the sample shows is read by `sample.read_sample`; here each finding becomes a key of the
entry. A finding that needs a key the layout language does not have yet (a header after a
preamble, a meter id from the preamble or the file name, a stamp split over a date and a
time column, a unit per column) is written as a commented line naming the key it needs; add
that key's path to LANGUAGE_KEYS once the loader honours it, and it is emitted for real.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from dlt_pipelines.layouts import KNOWN_CHANNEL_KINDS, Layout
from smartmeter.layouts_cli.recognition import recognize_file
from smartmeter.layouts_cli.sample import (
    Column,
    Sample,
    StampFormat,
    modal_step,
    parse_stamp,
    read_sample,
)

# Keys beyond today's language that a draft may need. Those listed in LANGUAGE_KEYS are
# emitted as keys; the others as commented lines.
LANGUAGE_KEYS: frozenset[str] = frozenset()
FUTURE_KEYS = {
    "recognize.header_line": "a header after a preamble",
    "meter_id.preamble": "a file-level meter id from a preamble line",
    "meter_id.file_name": "a file-level meter id from the file name",
    "meter_id.fixed": "a file-level meter id written nowhere in the file",
    "timestamp.columns": "a timestamp from a date column and a time column",
    "unit.per_column": "a unit per value column",
}

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
END_HEADER = re.compile(r"end|(?<![a-z])to(?![a-z])|bis|fin", re.IGNORECASE)
PREAMBLE_ID = re.compile(
    r"\s*(account( number| no\.?| #| id)?|service( id| number| point| agreement)?|"
    r"meter( number| no\.?| id)?|nmi|mpan|esiid|premise( id)?)\s*[:,;\t]\s*\"?([^,;\t\"]+)",
    re.IGNORECASE,
)
FILE_NAME_ID = re.compile(r"(?<![0-9])[0-9]{6,}(?![0-9])")
EXPORT_WORDS = re.compile(r"export|receiv|inject|feed", re.IGNORECASE)
GENERATION_WORDS = re.compile(r"generat|solar|pv", re.IGNORECASE)


# The order of an entry's keys, as in layouts.yml.
KEY_ORDER = (
    *("name", "description", "shape", "recognize", "delimiter", "decimal_mark", "encoding"),
    *("timestamp", "meter_id", "columns", "channel", "value", "registers", "unit"),
    *("interval_minutes", "source_quality", "values"),
)


@dataclass
class Draft:
    entry: dict[str, Any] = field(default_factory=dict)
    comments: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    needs: list[str] = field(default_factory=list)  # keys the language lacks today
    notes: list[str] = field(default_factory=list)

    def declare(self, path: str, value: Any, why: str) -> None:
        """A key the language may not have yet: a key when it does, else a commented line."""
        top, _, sub = path.partition(".")
        if path in LANGUAGE_KEYS:
            self.entry.setdefault(top, {})[sub] = value
            return
        shown = yaml.safe_dump(value, default_flow_style=True, width=1 << 20).strip()
        shown = shown.removesuffix("\n...").removesuffix("...").strip()
        self.comments[top].append(
            f"{path}: {shown}  ({why}; needs this key, not in the language yet)"
        )
        self.needs.append(path)

    def note(self, key: str, text: str) -> None:
        self.comments[key].append(text)

    def yaml_text(self, source_name: str) -> str:
        out = [f"# Draft entry from {_one_line(source_name)} by `smartmeter layouts suggest`:"]
        out.append("# review every line, then append it to layouts.yml (`layouts check`).")
        out += [f"# {_one_line(n)}" for n in self.notes]
        if self.needs:
            keys = ", ".join(dict.fromkeys(self.needs))
            out.append(f"# Not loadable yet: the file needs {keys}, not in the language today.")
        for index, (key, value) in enumerate(self.entry.items()):
            dumped = yaml.safe_dump(
                {key: value},
                default_flow_style=None,
                sort_keys=False,
                allow_unicode=True,
                width=1 << 20,
            )
            flow = yaml.safe_dump(
                value,
                default_flow_style=True,
                sort_keys=False,
                allow_unicode=True,
                width=1 << 20,
            ).strip()
            flow = flow.removesuffix("...").strip()
            line = f"{key}: {flow}" if "\n" not in flow else dumped.rstrip("\n")
            lines = line.split("\n")
            prefix = "  - " if index == 0 else "    "
            out.append(prefix + lines[0])
            out += ["    " + rest for rest in lines[1:]]
            out += [f"    # {_one_line(c)}" for c in self._comments_after(key)]
        return "\n".join(out) + "\n"

    def _comments_after(self, key: str) -> list[str]:
        """A key's comments, then those of absent keys that would come before the next key
        present (a meter id the language cannot declare yet goes where meter_id goes)."""
        comments = list(self.comments.get(key, []))
        if key not in KEY_ORDER:
            return comments
        for absent in KEY_ORDER[KEY_ORDER.index(key) + 1 :]:
            if absent in self.entry:
                break
            comments += self.comments.get(absent, [])
        if key == list(self.entry)[-1]:
            placed = set(self.entry) | set(KEY_ORDER)
            comments += [c for k, cs in self.comments.items() if k not in placed for c in cs]
        return comments


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# File-name words that name no vendor: dates, numbers, connectives.
NAME_STOP_WORDS = {"", "to", "from", "and", "the", "of", "export", "data"}


def layout_name(file_name: str, taken: set[str]) -> str:
    """snake_case from the file name, less numbers (dates, account numbers), unique."""
    stem = Path(file_name).name.split(".")[0].lower()
    words = [
        w for w in re.split(r"[^a-z0-9]+", stem) if w not in NAME_STOP_WORDS and not w.isdigit()
    ]
    base = "_".join(words)[:40].strip("_") or "vendor"
    if not base[0].isalpha():
        base = f"vendor_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _channel_name(header: str) -> str:
    text = UNIT_IN_HEADER.sub(" ", header)
    name = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "general"
    return name if name[0].isalpha() else f"c_{name}"


def _header_unit(header: str) -> str | None:
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
            and not _header_unit(c.header)
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
            and not _header_unit(c.header)
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


def _is_wide(roles: Roles) -> bool:
    """A column per meter: no meter column, and value columns named neither by a unit nor by
    what they measure (a meter id is neither)."""
    if roles.meter or roles.unit or roles.channel or len(roles.values) < 2 or not roles.timestamp:
        return False
    return not any(_header_unit(c.header) or ENERGY_WORDS.search(c.header) for c in roles.values)


def _stamps(sample: Sample, roles: Roles) -> tuple[StampFormat | None, list[datetime | None]]:
    if roles.timestamp and roles.timestamp.stamp:
        stamp = roles.timestamp.stamp
        return stamp, [parse_stamp(v, stamp) for v in roles.timestamp.values]
    if roles.date and roles.time and roles.date.stamp and roles.time.stamp:
        stamp = StampFormat(f"{roles.date.stamp.format} {roles.time.stamp.format}", "datetime")
        joined = [f"{d} {t}" for d, t in zip(roles.date.values, roles.time.values, strict=True)]
        return stamp, [parse_stamp(v, stamp) for v in joined]
    return None, []


def _interval(roles: Roles, stamps: list[datetime | None]) -> timedelta | None:
    per_meter: dict[str, list[datetime]] = defaultdict(list)
    meters = roles.meter.values if roles.meter else [""] * len(stamps)
    channels = roles.channel.values if roles.channel else [""] * len(stamps)
    for meter, channel, stamp in zip(meters, channels, stamps, strict=True):
        if stamp is not None:
            per_meter[f"{meter}\x00{channel}"].append(stamp.replace(tzinfo=None))
    steps = Counter(step for s in per_meter.values() if (step := modal_step(s)))
    return steps.most_common(1)[0][0] if steps else None


def _marks(
    column: Column | None, stamps: list[datetime | None], step: timedelta | None
) -> tuple[str, str | None]:
    """end when the header says so, or when the first stamp is one interval past midnight
    (exports usually begin at a day's start); else start."""
    if column and END_HEADER.search(column.header):
        return "end", f"end: the column is named {column.header!r}"
    first = next((s for s in stamps if s is not None), None)
    if first and step and step < timedelta(days=1):
        since_midnight = first - first.replace(hour=0, minute=0, second=0, microsecond=0)
        if since_midnight == step:
            return "end", "end: the first stamp is one interval after midnight; check"
    return "start", None


def suggest(path: Path, layouts: list[Layout], data: bytes | None = None) -> Draft:
    data = path.read_bytes() if data is None else data
    sample = read_sample(data, path.name)
    roles = assign_roles(sample)
    draft = Draft()
    recognized = recognize_file(path, layouts, data)
    if recognized.recognized:
        draft.notes.append(
            f"layout '{recognized.recognized}' already recognizes this file: it needs no new "
            "entry (an entry appended after it is never used for this header)"
        )
    wide = _is_wide(roles)
    entry = draft.entry
    entry["name"] = layout_name(path.name, {lay.name for lay in layouts})
    entry["description"] = f"Drafted from {path.name} by smartmeter layouts suggest; review."
    entry["shape"] = "wide" if wide else "long"
    entry["recognize"] = {}  # filled below with every column the entry names
    if not sample.first_line_is_header:
        draft.declare(
            "recognize.header_line",
            sample.header_line,
            f"the header is line {sample.header_line}, after {len(sample.preamble)} preamble "
            "line(s)",
        )
    if sample.repeated_headers or sample.skipped_lines:
        draft.notes.append(
            f"the header repeats {sample.repeated_headers} time(s) and {sample.skipped_lines} "
            "line(s) after it are not rows of its width (blocks or titles): check them"
        )
    entry["delimiter"] = sample.delimiter
    entry["decimal_mark"] = sample.decimal_mark
    entry["encoding"] = sample.encoding
    if sample.has_bom:
        draft.note("encoding", "the file starts with a UTF-8 byte-order mark (read past)")
    interval = _declare_timestamp(draft, sample, roles)
    if wide:
        _declare_wide(draft, roles, interval)
    else:
        _declare_long(draft, sample, roles, interval)
    split = [c.header for c in (roles.date, roles.time) if c and not roles.timestamp]
    _declare_recognition(draft, sample, split)
    return draft


def _named_columns(entry: dict[str, Any]) -> list[str]:
    named = [
        (entry.get(key) or {}).get("column") if isinstance(entry.get(key), dict) else None
        for key in (
            "timestamp",
            "meter_id",
            "channel",
            "value",
            "unit",
            "interval_minutes",
            "source_quality",
        )
    ]
    return [c for c in (*named, *(entry.get("registers") or {})) if c]


def _declare_recognition(draft: Draft, sample: Sample, also: list[str]) -> None:
    """Recognized by every column the entry reads (its timestamp column alone for wide)."""
    includes = list(dict.fromkeys([*also, *_named_columns(draft.entry)])) or sample.header[:1]
    if sample.encoding != "utf-8":
        # Recognition reads the first line as UTF-8: only plain ASCII fields compare equal.
        ascii_only = [h for h in includes if h.isascii()]
        if len(ascii_only) < len(includes):
            draft.note("recognize", "header fields with non-ASCII letters left out (latin-1)")
        includes = ascii_only or [h for h in sample.header if h.isascii()][:3]
    draft.entry["recognize"] = {"header_includes": includes}


def _declare_timestamp(draft: Draft, sample: Sample, roles: Roles) -> dict[str, Any]:
    """The timestamp keys; returns interval_minutes (from the time step), declared later."""
    stamp, stamps = _stamps(sample, roles)
    step = _interval(roles, stamps) if stamps else None
    marks, why = _marks(roles.timestamp or roles.time, stamps, step)
    if why:
        draft.note("timestamp", f"marks {why}")
    if stamp is None:
        draft.entry["timestamp"] = {"format": "iso8601", "timezone": "UTC", "marks": "start"}
        draft.note("timestamp", "no column of dates and times was found: declare column and format")
    else:
        timestamp: dict[str, Any] = {}
        if roles.timestamp:
            timestamp["column"] = roles.timestamp.header
        timestamp.update({"format": stamp.format, "timezone": "UTC", "marks": marks})
        draft.entry["timestamp"] = timestamp
        if roles.date and roles.time:
            draft.declare(
                "timestamp.columns",
                [roles.date.header, roles.time.header],
                "the date and the time are in two columns",
            )
        if stamp.has_offset:
            draft.note("timestamp", "stamps carry their UTC offset; timezone is not used for them")
        else:
            draft.note("timestamp", "timezone: the file does not say; set its wall clock's zone")
        if stamp.ambiguous_with:
            draft.note(
                "timestamp",
                f"every date also reads as {stamp.ambiguous_with!r}: day and month are never "
                "above 12 in this sample, so check which comes first",
            )
        if stamp.format != "iso8601" and "%S" not in stamp.format and step and step.seconds % 60:
            draft.note("timestamp", "the step has seconds the format does not read")
    minutes = int(step.total_seconds() // 60) if step else None
    interval: dict[str, Any] = {}
    if roles.interval:
        interval["column"] = roles.interval.header
    interval["default"] = minutes if minutes and 0 < minutes <= 1440 else 30
    if not minutes:
        draft.note("interval_minutes", "no time step found in the sample: 30 is a guess")
    elif minutes > 1440:
        draft.note("interval_minutes", f"the step is {minutes} minutes: check the stamps")
    return interval


def _units(draft: Draft, roles: Roles) -> tuple[list[Column], str | None]:
    """The value columns to load and their one unit: the columns of the most common energy
    unit (else power unit) named in their headers; columns of another unit need a unit per
    column."""
    by_unit: dict[str | None, list[Column]] = defaultdict(list)
    for column in roles.values:
        by_unit[_header_unit(column.header)].append(column)
    # Numbers named neither by a unit nor as energy (keys, counts) are not readings.
    measured = [c for c in by_unit.pop(None, []) if ENERGY_WORDS.search(c.header)]
    unnamed = [c for c in roles.values if not _header_unit(c.header) and c not in measured]
    if not by_unit and not measured:
        return roles.values, None
    roles.ignored += unnamed
    if not by_unit:
        return measured, None
    by_unit[None] = measured
    named = {u: cols for u, cols in by_unit.items() if u}
    unit = max(named, key=lambda u: (u in ENERGY_UNITS, len(named[u])))
    chosen = named[unit]
    others = [c for u, cols in by_unit.items() if u != unit for c in cols]
    for column in others:
        draft.declare(
            "unit.per_column",
            {column.header: _header_unit(column.header) or "?"},
            f"{column.header!r} is in another unit",
        )
    return chosen, unit


def _declare_long(draft: Draft, sample: Sample, roles: Roles, interval: dict[str, Any]) -> None:
    entry = draft.entry
    if roles.meter:
        entry["meter_id"] = {"column": roles.meter.header}
    else:
        _declare_file_level_id(draft, sample)
    values, header_unit = _units(draft, roles)
    channel: dict[str, Any] = {}
    if roles.channel:
        channel["column"] = roles.channel.header
    if len(values) == 1:
        name = _channel_name(values[0].header)
        default = name if _kind_of(name) not in (None, "consumption") else "general"
        channel["default"] = default
        entry["channel"] = channel
        entry["value"] = {"column": values[0].header}
    elif values:
        channel["default"] = "general"
        names = _unique([_channel_name(c.header) for c in values])
        entry["channel"] = channel
        entry["registers"] = dict(zip([c.header for c in values], names, strict=True))
    else:
        entry["channel"] = channel or {"default": "general"}
        draft.note("channel", "no numeric value column was found: declare value.column")
    kinds = {
        n: k
        for n in [*entry.get("registers", {}).values(), channel.get("default", "general")]
        if (k := _kind_of(n)) and n.lower() not in KNOWN_CHANNEL_KINDS
    }
    if kinds:
        channel["kinds"] = kinds
    if roles.unit:
        entry["unit"] = {"column": roles.unit.header}
    elif header_unit:
        entry["unit"] = {"fixed": header_unit}
        draft.note("unit", "from the value column's header")
    elif preamble_unit := _preamble_unit(sample):
        entry["unit"] = {"fixed": preamble_unit}
        draft.note("unit", "from the preamble; check it")
    else:
        entry["unit"] = {"fixed": "kWh"}
        draft.note("unit", "assumed: neither a unit column nor a unit in the header; check it")
    entry["interval_minutes"] = interval
    if roles.quality:
        flags = sorted({v for v in roles.quality.present if ESTIMATED_FLAG.fullmatch(v)})
        if flags:
            entry["source_quality"] = {"column": roles.quality.header, "estimated": flags}
    formulas = [c.header for c in sample.columns if any(EXCEL_TEXT.fullmatch(v) for v in c.values)]
    if formulas:
        draft.declare(
            "cleanup.excel_text",
            formulas,
            'values written as Excel text formulas (="0123") are kept as written',
        )
    ignored = [c.header for c in roles.ignored]
    if ignored:
        draft.note("values", "not loaded: " + ", ".join(repr(h) for h in ignored))
    cumulative = values and all(
        CUMULATIVE_HEADER.search(c.header) and _non_decreasing(c, roles) for c in values
    )
    entry["values"] = "cumulative" if cumulative else "interval"


def _preamble_unit(sample: Sample) -> str | None:
    """A unit standing alone in a preamble field (`Unit;W`): the one unit the preamble names."""
    units = {
        UNIT_SPELLING[f.strip().lower()]
        for line in sample.preamble
        for f in line.split(sample.delimiter)
        if UNIT_VALUE.fullmatch(f.strip())
    }
    return units.pop() if len(units) == 1 else None


def _declare_wide(draft: Draft, roles: Roles, interval: dict[str, Any]) -> None:
    entry = draft.entry
    entry["meter_id"] = "header"
    columns: dict[str, Any] = {}
    others = [c for c in (*roles.named(), *roles.ignored) if c is not roles.timestamp]
    if others:
        columns["ignore"] = [re.escape(c.header) for c in others]
    if columns:
        entry["columns"] = columns
    entry["channel"] = {"default": "general"}
    entry["unit"] = {"fixed": "kWh"}
    draft.note("unit", "assumed: the meter columns' headers name no unit; check it")
    entry["interval_minutes"] = interval
    entry["values"] = "interval"
    draft.note("meter_id", "meters: " + ", ".join(repr(c.header) for c in roles.values[:10]))


def _declare_file_level_id(draft: Draft, sample: Sample) -> None:
    for line in sample.preamble:
        found = PREAMBLE_ID.match(line)
        if found:
            draft.declare(
                "meter_id.preamble",
                found.group(1).strip(),
                f"the preamble says {line.strip()[:60]!r}",
            )
            return
    if FILE_NAME_ID.search(sample.name):
        draft.declare(
            "meter_id.file_name",
            r"(?P<meter_id>[0-9]{6,})",
            "the file name carries a number that may be the meter's",
        )
        return
    draft.declare("meter_id.fixed", "METER-1", "the file names no meter: one meter per file")


def _kind_of(name: str) -> str | None:
    known = KNOWN_CHANNEL_KINDS.get(name.lower())
    if known:
        return known
    if EXPORT_WORDS.search(name):
        return "export"
    if GENERATION_WORDS.search(name):
        return "generation"
    return None


def _unique(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        candidate, n = name, 2
        while candidate in out:
            candidate, n = f"{name}_{n}", n + 1
        out.append(candidate)
    return out


def _non_decreasing(column: Column, roles: Roles) -> bool:
    meters = roles.meter.values if roles.meter else [""] * len(column.values)
    last: dict[str, float] = {}
    for meter, text in zip(meters, column.values, strict=True):
        try:
            value = float(text.replace(",", "."))
        except ValueError:
            continue
        if value < last.get(meter, float("-inf")):
            return False
        last[meter] = value
    return bool(last)
