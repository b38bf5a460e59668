"""A draft layouts.yml entry from a sample file, for a person to review.

What the sample shows is read by `sample.read_sample` and `column_roles.assign_roles`; here
each finding becomes a key of the entry (see `draft.Draft` for what the language cannot say
yet).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dlt_pipelines.layouts import KNOWN_CHANNEL_KINDS, Layout
from smartmeter.layouts_cli.column_roles import (
    CUMULATIVE_HEADER,
    END_HEADER,
    ENERGY_UNITS,
    ENERGY_WORDS,
    ESTIMATED_FLAG,
    EXCEL_TEXT,
    FILE_NAME_ID,
    PREAMBLE_ID,
    UNIT_SPELLING,
    UNIT_VALUE,
    Roles,
    assign_roles,
    channel_name,
    header_unit,
    is_wide,
    kind_of,
)
from smartmeter.layouts_cli.draft import Draft
from smartmeter.layouts_cli.recognition import recognize_file
from smartmeter.layouts_cli.sample import (
    Column,
    Sample,
    StampFormat,
    modal_step,
    parse_stamp,
    read_sample,
)

# A value column's header: what it measures, then its unit (`IMPORT (kWh)`, `Demand kW`).
VALUE_COLUMN_PATTERN = r"(?P<channel>.+?)\s*[(\[]?\s*(?P<unit>[km]?wh?)\s*[)\]]?"

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
        if stamp is not None:  # stamps with offsets are compared in UTC (a DST change)
            utc = stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp
            per_meter[f"{meter}\x00{channel}"].append(utc)
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
    wide = is_wide(roles)
    entry = draft.entry
    entry["name"] = layout_name(path.name, {lay.name for lay in layouts})
    entry["description"] = f"Drafted from {path.name} by smartmeter layouts suggest; review."
    entry["shape"] = "wide" if wide else "long"
    entry["recognize"] = {}  # filled below with every column the entry names
    if not sample.first_line_is_header:
        draft.declare(
            "recognize.header_within",
            min(sample.header_line + 10, 200),
            f"the header is line {sample.header_line}, after {len(sample.preamble)} preamble "
            "line(s); room for a longer preamble",
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
    draft.entry["recognize"]["header_includes"] = includes


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
            _declare_split_end(draft, sample, roles)
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


def _declare_split_end(draft: Draft, sample: Sample, roles: Roles) -> None:
    """An END TIME beside the START TIME: the interval's end, inclusive when it stops a minute
    short of the next start (00:00-00:59)."""
    end = next(
        (
            c
            for c in sample.columns
            if c.stamp
            and c.stamp.kind == "time"
            and c is not roles.time
            and END_HEADER.search(c.header)
        ),
        None,
    )
    if end is None or roles.date is None:
        return
    end_date = next(
        (
            c
            for c in sample.columns
            if c.stamp
            and c.stamp.kind == "date"
            and c is not roles.date
            and END_HEADER.search(c.header)
        ),
        roles.date,
    )
    minutes = [t.minute for v in end.present if (t := parse_stamp(v, end.stamp)) is not None]
    inclusive = bool(minutes) and all((m + 1) % 5 == 0 for m in minutes)
    draft.declare(
        "timestamp.end",
        {"columns": [end_date.header, end.header], "inclusive": inclusive},
        f"{end.header!r} closes each interval" + (" (inclusive: :59)" if inclusive else ""),
    )


def _units(draft: Draft, roles: Roles) -> tuple[list[Column], str | None]:
    """The value columns to load and their one unit: the columns of the most common energy
    unit (else power unit) named in their headers; columns of another unit need a unit per
    column."""
    by_unit: dict[str | None, list[Column]] = defaultdict(list)
    for column in roles.values:
        by_unit[header_unit(column.header)].append(column)
    # Numbers named neither by a unit nor as energy (keys, counts) are not readings.
    measured = [c for c in by_unit.pop(None, []) if ENERGY_WORDS.search(c.header)]
    unnamed = [c for c in roles.values if not header_unit(c.header) and c not in measured]
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
    if others:
        draft.declare(
            "value_columns",
            {"pattern": VALUE_COLUMN_PATTERN},
            "columns of other units too: "
            + ", ".join(repr(c.header) for c in others)
            + f" beside {unit}",
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
        name = channel_name(values[0].header)
        default = name if kind_of(name) not in (None, "consumption") else "general"
        channel["default"] = default
        entry["channel"] = channel
        entry["value"] = {"column": values[0].header}
    elif values:
        channel["default"] = "general"
        names = _unique([channel_name(c.header) for c in values])
        entry["channel"] = channel
        entry["registers"] = dict(zip([c.header for c in values], names, strict=True))
    else:
        entry["channel"] = channel or {"default": "general"}
        draft.note("channel", "no numeric value column was found: declare value.column")
    kinds = {
        n: k
        for n in [*entry.get("registers", {}).values(), channel.get("default", "general")]
        if (k := kind_of(n)) and n.lower() not in KNOWN_CHANNEL_KINDS
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
    for role, column in (("meter_id", roles.meter), *(("value", c) for c in values)):
        if column and any(EXCEL_TEXT.fullmatch(v) for v in column.values):
            draft.declare(
                f"{role}.clean",
                ["excel_text"],
                f'{column.header!r} holds Excel text formulas (="0123")',
            )
    for column in roles.ignored:
        kinds = sorted(set(column.present))
        if (
            len(kinds) <= 5
            and any("electric" in k.lower() for k in kinds)
            and any(re.search(r"gas|water", k, re.IGNORECASE) for k in kinds)
        ):
            draft.declare(
                "select",
                {"column": column.header, "values": [k for k in kinds if "electric" in k.lower()]},
                "the file mixes electric rows with gas or water rows",
            )
    if "value_columns" in entry:  # the language reads value columns and units from headers
        entry.pop("value", None)
        entry.pop("registers", None)
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
    """No meter id column: the id of the file's one meter from a preamble `key,value` line,
    else a number in the file name, else a fixed id for the user to set, tried in order."""
    sources: list[dict[str, str]] = []
    for line in sample.preamble:
        if PREAMBLE_ID.match(line):
            sources.append({"preamble": line.split(sample.delimiter)[0].strip().strip('"')})
            break
    if FILE_NAME_ID.search(sample.name):
        sources.append({"file_name": r"(?P<value>[0-9]{6,})"})
    said = {"preamble": "a preamble line", "file_name": "a number in the file name"}
    where = "the file's one meter: " + ", else ".join(said[next(iter(x))] for x in sources)
    if not sources:
        sources, where = [{"fixed": "METER-1"}], "the file names no meter: set its id"
    draft.declare("file_fields.meter_id", sources, where)
    draft.declare("meter_id.file_field", "meter_id", "the meter id is the file's")


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
