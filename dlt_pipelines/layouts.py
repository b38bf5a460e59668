"""The declared file layouts (layouts.yml): loading, checking and recognizing them.

A layout is recognized from a file's content, never its name: the header line (the first
non-empty line, or one of the first `recognize.header_within` lines after a preamble) is split
with each layout's delimiter and compared with what the layout says it must contain.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LAYOUTS_FILE = Path(__file__).with_name("layouts.yml")
SHAPES = ("long", "wide", "nem12", "espi")
VALUE_KINDS = ("interval", "cumulative")
ENCODINGS = ("utf-8", "latin-1")
CHANNEL_KINDS = ("consumption", "export", "generation", "submeter")
QUALITY_FLAGS = ("A", "E", "S", "F")
# Cell clean-up rules a layout may declare for values and ids (applied in staging).
CLEAN_RULES = ("excel_text", "thousands_separator", "currency", "spaces")
FILE_FIELD_SOURCES = ("preamble", "file_name", "fixed")
# The longest raw column name: every store keeps it whole (a suffix _2.. may follow).
MAX_RAW_COLUMN = 56
# How far down a file a header may be looked for (recognize.header_within).
MAX_HEADER_LINE = 200
ENTRY_KEYS = {
    "name",
    "description",
    "shape",
    "recognize",
    "raw_table",
    "delimiter",
    "decimal_mark",
    "encoding",
    "timestamp",
    "dst_folded_labels_zone",
    "meter_id",
    "channel",
    "value",
    "registers",
    "value_columns",
    "unit",
    "interval_minutes",
    "columns",
    "source_quality",
    "version",
    "values",
    "register_rollover_kwh",
    "file_fields",
    "select",
    "blocks",
    "column_groups",
}
# What each column of a repeated column group may be (column_groups.columns).
GROUP_ROLES = ("value", "unit", "interval_minutes")
# What a channel name means when a layout does not say (compared lower-cased).
KNOWN_CHANNEL_KINDS = {
    "general": "consumption",
    "consumption": "consumption",
    "import": "consumption",
    "export": "export",
    "generation": "generation",
    "pv": "generation",
    "solar": "generation",
}


class LayoutConfigError(ValueError):
    """layouts.yml says something the loader cannot honour."""


@dataclass(frozen=True)
class Layout:
    name: str
    shape: str
    description: str
    raw_table: str
    delimiter: str
    decimal_mark: str
    encoding: str
    header_includes: tuple[str, ...]
    record_types: tuple[str, ...]
    declaration: dict[str, Any] = field(repr=False, compare=False, hash=False)
    header_within: int = 1
    preamble_includes: tuple[str, ...] = ()

    @property
    def has_header(self) -> bool:
        return self.shape not in ("nem12", "espi")

    def matches(self, first_line: str) -> bool:
        return self.mismatch(first_line) is None

    def mismatch(self, line: str) -> str | None:
        """Why `line` is not this layout's header (or first record): None when it is."""
        if self.shape == "espi":  # XML, recognized by its markup (text_tables, espi_xml)
            return "shape espi: a Green Button XML feed is recognized by its markup"
        fields = split_line(line, self.delimiter)
        if self.shape == "nem12":
            if fields and fields[0].strip() in self.record_types:
                return None
            return f"recognize.record_types: the first field is not one of {self.record_types}"
        present = {normalize_header(f) for f in fields}
        missing = [h for h in self.header_includes if normalize_header(h) not in present]
        if not missing:
            return None
        return f"recognize.header_includes: no {', '.join(repr(m) for m in missing)}"

    def locate_header(self, lines: list[str]) -> tuple[int | None, str]:
        """Where this layout's header is among a file's first lines (their 0-based index), or
        None and the reason (the recognize key that failed) when it is not there. Without
        `header_within` the header is the first non-empty line, as it always was."""
        reason = "the file has no non-empty line"
        for index, line in enumerate(lines):
            if self.header_within > 1 and index >= self.header_within:
                break
            if not line.strip():
                continue
            reason = self.mismatch(line) or ""
            if not reason:
                missing = self._missing_preamble(lines[:index])
                if missing is None:
                    return index, ""
                reason = missing
            if self.header_within == 1:
                break
        if self.header_within > 1 and reason.startswith("recognize.header_includes"):
            reason = f"{reason} in any of the first {self.header_within} lines"
        return None, reason

    def _missing_preamble(self, preamble: list[str]) -> str | None:
        for pattern in self.preamble_includes:
            if not any(re.search(pattern, line, re.IGNORECASE) for line in preamble):
                return f"recognize.preamble_includes: no line before the header matches {pattern!r}"
        return None

    @property
    def block_title(self) -> re.Pattern[str] | None:
        """The line that opens a block (`blocks.title`), its named groups the block's fields."""
        title = (self.declaration.get("blocks") or {}).get("title")
        return re.compile(title, re.IGNORECASE) if title else None

    @property
    def channel_kinds(self) -> dict[str, str]:
        """Channel name (lower-cased) -> kind: the well-known names, overridden by the layout's
        own `channel.kinds`."""
        declared = (self.declaration.get("channel") or {}).get("kinds") or {}
        return {**KNOWN_CHANNEL_KINDS, **{str(k).lower(): v for k, v in declared.items()}}

    def wide_header_roles(self, header: list[str]) -> list[tuple[str, str | None, str | None]]:
        """(role, meter id, channel) of each field of a wide file's header, from the layout's
        `columns` declaration: the timestamp column, the source-quality column, ignored
        columns, and meter columns (all others, or those `include` names, less `exclude`),
        each split by `header_pattern` into meter id and channel. A meter column the pattern
        does not fit is an error: a header the declaration does not foresee."""
        d = self.declaration
        spec = d.get("columns") or {}
        timestamp = normalize_header((d.get("timestamp") or {}).get("column") or "")
        quality = normalize_header((d.get("source_quality") or {}).get("column") or "")
        default_channel = (d.get("channel") or {}).get("default", "general")
        pattern = spec.get("header_pattern")

        def matches(text: str, patterns: list[str]) -> bool:
            return any(re.fullmatch(p, text.strip(), re.IGNORECASE) for p in patterns)

        def is_meter(text: str) -> bool:
            if matches(text, [*(spec.get("ignore") or []), *(spec.get("exclude") or [])]):
                return False
            return not spec.get("include") or matches(text, spec["include"])

        roles: list[tuple[str, str | None, str | None]] = []
        for index, text in enumerate(header):
            name = normalize_header(text)
            if (timestamp and name == timestamp) or (not timestamp and index == 0):
                roles.append(("timestamp", None, None))
            elif quality and name == quality:
                roles.append(("quality", None, None))
            elif not is_meter(text):
                roles.append(("ignored", None, None))
            elif not text.strip():  # a meter column without an id: its cells are judged
                roles.append(("meter", None, default_channel))  # missing_meter_id
            elif pattern:
                found = re.fullmatch(pattern, text.strip())
                if not found or not found.groupdict().get("meter_id"):
                    raise LayoutConfigError(
                        f"layout '{self.name}': header field {text!r} (position {index + 1}) is "
                        f"a meter column that columns.header_pattern does not fit; declare it "
                        "under columns.ignore or columns.exclude, or widen the pattern"
                    )
                channel = found.groupdict().get("channel") or default_channel
                roles.append(("meter", found.group("meter_id"), channel))
            else:
                roles.append(("meter", text.strip(), default_channel))
        return roles

    def table_row(self) -> dict[str, str | None]:
        """The declaration flattened into text columns for raw.layouts (read by dbt)."""
        d = self.declaration
        ts = d.get("timestamp", {})

        def part(key: str, sub: str) -> str | None:
            value = d.get(key)
            return (
                None if not isinstance(value, dict) or value.get(sub) is None else str(value[sub])
            )

        return {
            "layout": self.name,
            "shape": self.shape,
            "raw_table": self.raw_table,
            "delimiter": self.delimiter,
            "decimal_mark": self.decimal_mark,
            "encoding": self.encoding,
            "timestamp_column": raw_column_name(ts["column"]) if ts.get("column") else None,
            "timestamp_columns": json.dumps(stamp_columns(ts)),
            "timestamp_format": formats_of(ts)[0] if formats_of(ts) else None,
            "timestamp_formats": json.dumps(formats_of(ts)),
            "timestamp_pattern": sql_groups_pattern(ts.get("pattern")),
            "timestamp_pattern_groups": json.dumps(pattern_groups(ts.get("pattern"))),
            "end_timestamp_columns": json.dumps(stamp_columns(ts.get("end") or {})),
            "end_is_inclusive": str(bool((ts.get("end") or {}).get("inclusive"))).lower(),
            "timezone": ts.get("timezone"),
            "timestamp_marks": ts.get("marks", "start"),
            "dst_folded_labels_zone": d.get("dst_folded_labels_zone"),
            "meter_id_column": _column_or_keyword(d.get("meter_id")),
            "meter_id_clean": json.dumps(_rules(d.get("meter_id"), "clean")),
            "channel_column": _raw_or_none(part("channel", "column")),
            "default_channel": part("channel", "default") or "general",
            "channel_map": json.dumps(d.get("channel", {}).get("map") or {}, sort_keys=True),
            "channel_kinds": json.dumps(self.channel_kinds, sort_keys=True),
            "channel_kind_prefixes": json.dumps(
                {
                    str(k).lower(): v
                    for k, v in (d.get("channel", {}).get("kind_prefixes") or {}).items()
                },
                sort_keys=True,
            ),
            "default_channel_kind": d.get("channel", {}).get("default_kind", "consumption"),
            "value_column": _raw_or_none(part("value", "column")),
            "value_missing": json.dumps([str(t) for t in _rules(d.get("value"), "missing")]),
            "value_clean": json.dumps(_rules(d.get("value"), "clean")),
            "value_columns_pattern": part("value_columns", "pattern"),
            "value_columns_channels": json.dumps(
                (d.get("value_columns") or {}).get("channels") or {}, sort_keys=True
            ),
            "column_groups": json.dumps(_column_groups_row(d.get("column_groups")), sort_keys=True),
            "select_column": _raw_or_none(part("select", "column")),
            "select_values": json.dumps(
                [str(v) for v in (d.get("select") or {}).get("values") or []]
            ),
            "registers": json.dumps(
                {raw_column_name(k): v for k, v in (d.get("registers") or {}).items()},
                sort_keys=True,
            ),
            "unit_column": _raw_or_none(part("unit", "column")),
            "fixed_unit": part("unit", "fixed"),
            "interval_column": _raw_or_none(part("interval_minutes", "column")),
            "default_interval_minutes": part("interval_minutes", "default"),
            "value_kind": d.get("values", "interval"),
            "source_quality_column": _raw_or_none(part("source_quality", "column")),
            "source_quality_estimated": json.dumps(
                [str(v) for v in (d.get("source_quality") or {}).get("estimated") or []]
            ),
            "source_quality_separator": part("source_quality", "separator"),
            "source_quality_map": json.dumps(
                {str(k): v for k, v in ((d.get("source_quality") or {}).get("map") or {}).items()}
            ),
            "version_column": _raw_or_none(part("version", "column")),
            "version_format": part("version", "format"),
            "register_rollover_kwh": (
                None
                if d.get("register_rollover_kwh") is None
                else repr(float(d["register_rollover_kwh"]))
            ),
            "declaration": json.dumps(d, sort_keys=True),
        }


def _raw_or_none(header: str | None) -> str | None:
    return raw_column_name(header) if header else None


def _column_or_keyword(spec: Any) -> str | None:
    if spec == "header":
        return "header"
    if isinstance(spec, dict) and spec.get("column"):
        return raw_column_name(spec["column"])
    if isinstance(spec, dict) and spec.get("file_field"):
        return file_field_column(spec["file_field"])
    return None


def _column_groups_row(spec: dict[str, Any] | None) -> dict[str, Any]:
    if not spec:
        return {}
    return {
        "columns": list(spec["columns"]),
        "first": int(spec.get("first", 1)),
        "channels": {
            str(k).strip().lower(): str(v) for k, v in (spec.get("channels") or {}).items()
        },
    }


def _rules(spec: Any, key: str) -> list[Any]:
    return list(spec.get(key) or []) if isinstance(spec, dict) else []


def file_field_column(name: str) -> str:
    """The raw column holding a file-level field (the same text on every row of a file)."""
    return f"_field_{name}"


def stamp_columns(spec: dict[str, Any]) -> list[str]:
    """The raw columns a stamp is written in, in order (joined by one space when several)."""
    headers = spec.get("columns") or ([spec["column"]] if spec.get("column") else [])
    return [raw_column_name(h) for h in headers]


def formats_of(spec: dict[str, Any]) -> list[str]:
    formats = spec.get("format")
    return [formats] if isinstance(formats, str) else [str(f) for f in formats or []]


def pattern_groups(pattern: str | None) -> dict[str, int]:
    """Named group -> its number, for SQL dialects that number groups but do not name them."""
    return dict(re.compile(pattern).groupindex) if pattern else {}


def sql_groups_pattern(pattern: str | None) -> str | None:
    """A pattern with named groups `(?P<x>` as plain groups, for the SQL regex engines."""
    return re.sub(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>", "(", pattern) if pattern else None


def normalize_header(text: str) -> str:
    """How header fields are compared: trimmed, case-insensitive, BOM-free, any run of white
    space (a non-breaking space too: `Energy \u00a0Delivered`) as one space."""
    return " ".join(text.replace("\ufeff", "").split()).casefold()


def raw_column_name(header: str) -> str:
    """Deterministic, SQL-safe raw column name for a header field: `KWH/hh (per half hour)` ->
    `kwh_hh_per_half_hour`. The exact header text is kept in raw.file_headers."""
    name = re.sub(r"[^0-9a-z]+", "_", normalize_header(header)).strip("_")
    if not name:
        name = "column"
    if name[0].isdigit():
        name = f"c_{name}"
    if len(name) > MAX_RAW_COLUMN:  # PostgreSQL keeps 63 bytes of a name; dlt would shorten it
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_RAW_COLUMN - 9]}_{digest}"
    return name


def split_line(line: str, delimiter: str) -> list[str]:
    """Split one CSV line honouring quotes (used for headers and recognition only)."""
    rows = list(csv.reader([line.rstrip("\r\n")], delimiter=delimiter))
    return rows[0] if rows else []


def _require(entry: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(entry, dict) or key not in entry or entry[key] in (None, ""):
        raise LayoutConfigError(f"{where}: missing required key '{key}'")
    return entry[key]


def _bad(where: str, key: str, message: str) -> LayoutConfigError:
    return LayoutConfigError(f"{where}: key '{key}': {message}")


def _check_regex(where: str, key: str, pattern: Any, groups: tuple[str, ...] = ()) -> None:
    """A regular expression of the common subset the loader (Python) and the stores' engines
    (RE2, PostgreSQL, Java) read alike; `groups` names the groups it must have."""
    if not isinstance(pattern, str) or not pattern:
        raise _bad(where, key, "give a regular expression (text)")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise _bad(where, key, f"bad regular expression {pattern!r}: {exc}") from exc
    if "'" in pattern or "(?<" in pattern.replace("(?P<", ""):
        raise _bad(where, key, "quotes and lookbehinds are not portable to every store")
    for group in groups:
        if group not in compiled.groupindex:
            raise _bad(where, key, f"the pattern needs a (?P<{group}>...) group")


def _check_list(where: str, key: str, value: Any, allowed: tuple[str, ...] | None = None) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise _bad(where, key, "give a list of texts")
    if allowed:
        unknown = [str(v) for v in value if v not in allowed]
        if unknown:
            raise _bad(where, key, f"{', '.join(unknown)}: not one of {', '.join(allowed)}")


def _parse_entry(entry: dict[str, Any], index: int) -> Layout:
    where = f"layouts.yml entry {index + 1}"
    if not isinstance(entry, dict):
        raise LayoutConfigError(f"{where}: an entry is a mapping of keys")
    name = str(_require(entry, "name", where))
    where = f"layout '{name}'"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise _bad(where, "name", "name must be lower snake_case")
    unknown = sorted(set(entry) - ENTRY_KEYS)
    if unknown:
        raise _bad(where, unknown[0], "not a layout key (a typo?)")
    shape = _require(entry, "shape", where)
    if shape not in SHAPES:
        raise _bad(where, "shape", f"shape must be one of {SHAPES}, not {shape!r}")
    if entry.get("values", "interval") not in VALUE_KINDS:
        raise _bad(where, "values", f"values must be one of {VALUE_KINDS}")
    encoding = entry.get("encoding", "utf-8")
    if encoding not in ENCODINGS:
        raise _bad(where, "encoding", f"encoding must be one of {ENCODINGS}")
    # Green Button XML is recognized by its markup: an Atom feed with ESPI elements.
    recognize = (
        entry.get("recognize") or {} if shape == "espi" else _require(entry, "recognize", where)
    )
    if not isinstance(recognize, dict):
        raise _bad(where, "recognize", "a mapping (header_includes, record_types, ...)")
    header_includes = tuple(str(h) for h in recognize.get("header_includes") or ())
    record_types = tuple(str(r) for r in recognize.get("record_types") or ())
    if shape == "nem12" and not record_types:
        raise _bad(where, "recognize", "a nem12 layout needs recognize.record_types")
    if shape in ("long", "wide") and not header_includes:
        raise _bad(where, "recognize", "recognize.header_includes is required")
    within = recognize.get("header_within", 1)
    if (
        not isinstance(within, int)
        or isinstance(within, bool)
        or not 1 <= within <= MAX_HEADER_LINE
    ):
        raise _bad(where, "recognize.header_within", f"a whole number from 1 to {MAX_HEADER_LINE}")
    preamble = recognize.get("preamble_includes") or []
    _check_list(where, "recognize.preamble_includes", preamble)
    for pattern in preamble:
        _check_regex(where, "recognize.preamble_includes", pattern)
    ts = _require(entry, "timestamp", where)
    if not isinstance(ts, dict):
        raise _bad(where, "timestamp", "a mapping (column, format, timezone, marks)")
    _require(ts, "format", f"{where} timestamp")
    _require(ts, "timezone", f"{where} timestamp")
    if ts.get("marks", "start") not in ("start", "end"):
        raise _bad(where, "timestamp.marks", "timestamp.marks must be start or end")
    _check_timestamp(ts, shape, where)
    _check_file_fields(entry, where)
    if shape == "long":
        if not any(entry.get(k) for k in ("value", "registers", "value_columns", "column_groups")):
            raise _bad(
                where,
                "value",
                "a long layout needs `value`, `registers`, `value_columns` or `column_groups`",
            )
        if not entry.get("unit") and not _pattern_has_unit(entry) and not _groups_have_unit(entry):
            raise _bad(where, "unit", "declare `unit` (column or fixed)")
        meter = entry.get("meter_id") or {}
        if not isinstance(meter, dict) or not (meter.get("column") or meter.get("file_field")):
            raise _bad(
                where, "meter_id", "a long layout needs meter_id.column or meter_id.file_field"
            )
        field_name = meter.get("file_field")
        if field_name and field_name not in (entry.get("file_fields") or {}):
            raise _bad(where, "meter_id.file_field", f"no file_fields entry {field_name!r}")
    if shape == "wide" and entry.get("meter_id") != "header":
        raise _bad(where, "meter_id", "a wide layout takes meter_id: header")
    _check_values(entry, shape, where)
    _check_blocks(entry, shape, where)
    _check_column_groups(entry, shape, where)
    _check_columns(entry, shape, where)
    _check_source_quality(entry, shape, where)
    _check_version(entry, shape, where)
    _check_channel_kinds(entry.get("channel") or {}, where)
    rollover = entry.get("register_rollover_kwh")
    if rollover is not None:
        if entry.get("values") != "cumulative":
            raise _bad(
                where, "register_rollover_kwh", "register_rollover_kwh needs values: cumulative"
            )
        if not isinstance(rollover, int | float) or isinstance(rollover, bool) or rollover <= 0:
            raise _bad(
                where, "register_rollover_kwh", "register_rollover_kwh must be a positive number"
            )
    delimiter = entry.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise _bad(where, "delimiter", "delimiter must be one character")
    if entry.get("decimal_mark", ".") not in (".", ","):
        raise _bad(where, "decimal_mark", "a point or a comma")
    return Layout(
        name=name,
        shape=shape,
        description=" ".join(str(entry.get("description", "")).split()),
        raw_table=entry.get("raw_table", name),
        delimiter=delimiter,
        decimal_mark=entry.get("decimal_mark", "."),
        encoding=encoding,
        header_includes=header_includes,
        record_types=record_types,
        declaration=entry,
        header_within=within,
        preamble_includes=tuple(str(p) for p in preamble),
    )


def _check_timestamp(ts: dict[str, Any], shape: str, where: str) -> None:
    formats = ts["format"]
    if not isinstance(formats, str | list) or not formats_of(ts):
        raise _bad(where, "timestamp.format", "strptime codes, or a list of them")
    if "iso8601" in formats_of(ts) and len(formats_of(ts)) > 1:
        raise _bad(where, "timestamp.format", "iso8601 stands alone")
    if ts.get("column") and ts.get("columns"):
        raise _bad(where, "timestamp.columns", "give `column` or `columns`, not both")
    columns = ts.get("columns")
    if columns is not None:
        _check_list(where, "timestamp.columns", columns)
        if not columns:
            raise _bad(where, "timestamp.columns", "name at least one column")
    if shape == "long" and not stamp_columns(ts):
        raise _bad(where, "timestamp.column", "name the column (or `columns`) holding the stamp")
    if ts.get("pattern") is not None:
        if not ts.get("column"):
            raise _bad(where, "timestamp.pattern", "a pattern reads one field: give `column`")
        _check_regex(where, "timestamp.pattern", ts["pattern"], ("start",))
    end = ts.get("end")
    if end is not None:
        if not isinstance(end, dict):
            raise _bad(where, "timestamp.end", "a mapping (column or columns, inclusive)")
        unknown = sorted(set(end) - {"column", "columns", "inclusive"})
        if unknown:
            raise _bad(where, f"timestamp.end.{unknown[0]}", "not a key of timestamp.end")
        if end.get("columns") is not None:
            _check_list(where, "timestamp.end.columns", end["columns"])
        if not isinstance(end.get("inclusive", False), bool):
            raise _bad(where, "timestamp.end.inclusive", "true or false")
    if ts.get("pattern") and "end" in pattern_groups(ts["pattern"]) and end is not None:
        raise _bad(where, "timestamp.end", "the pattern's end group already gives the end")
    if end is not None and not stamp_columns(end):
        raise _bad(where, "timestamp.end", "name its column (or columns)")


def _check_file_fields(entry: dict[str, Any], where: str) -> None:
    fields = entry.get("file_fields")
    if fields is None:
        return
    if not isinstance(fields, dict) or not fields:
        raise _bad(where, "file_fields", "a mapping of field name -> list of sources")
    for name, sources in fields.items():
        key = f"file_fields.{name}"
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
            raise _bad(where, key, "a field name is lower snake_case")
        if not isinstance(sources, list) or not sources:
            raise _bad(where, key, "a list of sources (preamble, file_name, fixed), tried in order")
        for source in sources:
            if not isinstance(source, dict) or len(source) != 1:
                raise _bad(
                    where,
                    key,
                    "each source is one of {preamble: key}, {file_name: pattern}, {fixed: text}",
                )
            ((kind, value),) = source.items()
            if kind not in FILE_FIELD_SOURCES:
                raise _bad(
                    where, key, f"{kind!r} is not a source ({', '.join(FILE_FIELD_SOURCES)})"
                )
            if kind == "file_name":
                _check_regex(where, key, value)
                if re.compile(value).groups == 0:
                    raise _bad(where, key, "the file_name pattern needs a group: (?P<value>...)")
            elif not isinstance(value, str | int) or str(value).strip() == "":
                raise _bad(where, key, f"{kind}: give a text")


def _pattern_has_unit(entry: dict[str, Any]) -> bool:
    pattern = (entry.get("value_columns") or {}).get("pattern")
    return bool(pattern) and "unit" in pattern_groups(pattern)


def _groups_have_unit(entry: dict[str, Any]) -> bool:
    spec = entry.get("column_groups")
    return isinstance(spec, dict) and "unit" in (spec.get("columns") or [])


def _check_blocks(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("blocks")
    if spec is None:
        return
    if shape != "long":
        raise _bad(where, "blocks", "blocks are for long layouts")
    if not isinstance(spec, dict) or set(spec) != {"title"}:
        raise _bad(where, "blocks", "a mapping with `title` (a regular expression)")
    _check_regex(where, "blocks.title", spec["title"])
    groups = pattern_groups(spec["title"])
    if not groups:
        raise _bad(where, "blocks.title", "name the block's fields: (?P<channel>...)")
    for group in groups:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", group):
            raise _bad(where, "blocks.title", f"the group {group!r} is not lower snake_case")


def _check_column_groups(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("column_groups")
    if spec is None:
        return
    if shape != "long":
        raise _bad(where, "column_groups", "column_groups is for long layouts")
    if not isinstance(spec, dict):
        raise _bad(where, "column_groups", "a mapping (columns, first, channels)")
    unknown = sorted(set(spec) - {"columns", "first", "channels"})
    if unknown:
        raise _bad(where, f"column_groups.{unknown[0]}", "not a key of column_groups")
    if (
        entry.get("registers")
        or entry.get("value_columns")
        or (entry.get("value") or {}).get("column")
    ):
        raise _bad(where, "column_groups", "give `value`, `registers`, `value_columns` or this")
    columns = spec.get("columns")
    _check_list(where, "column_groups.columns", columns, GROUP_ROLES)
    if columns.count("value") != 1 or len(set(columns)) != len(columns):
        raise _bad(where, "column_groups.columns", "one `value`, and no role twice")
    first = spec.get("first", 1)
    if not isinstance(first, int) or isinstance(first, bool) or first < 1:
        raise _bad(where, "column_groups.first", "the 1-based position of the first group")
    if not isinstance(spec.get("channels") or {}, dict):
        raise _bad(where, "column_groups.channels", "a mapping of header text -> channel")


def _check_values(entry: dict[str, Any], shape: str, where: str) -> None:
    for role in ("value", "meter_id"):
        spec = entry.get(role)
        if not isinstance(spec, dict):
            continue
        if spec.get("clean") is not None:
            _check_list(where, f"{role}.clean", spec["clean"], CLEAN_RULES)
        if spec.get("missing") is not None:
            if role != "value":
                raise _bad(where, f"{role}.missing", "missing tokens are for values")
            _check_list(where, "value.missing", spec["missing"])
    spec = entry.get("value_columns")
    if spec is not None:
        if shape != "long":
            raise _bad(where, "value_columns", "value_columns is for long layouts")
        if entry.get("registers") or (entry.get("value") or {}).get("column"):
            raise _bad(where, "value_columns", "give `value`, `registers` or `value_columns`")
        if not isinstance(spec, dict):
            raise _bad(where, "value_columns", "a mapping (pattern, channels)")
        _check_regex(where, "value_columns.pattern", spec.get("pattern"))
        if not isinstance(spec.get("channels") or {}, dict):
            raise _bad(where, "value_columns.channels", "a mapping of header text -> channel")
    select = entry.get("select")
    if select is not None:
        if shape != "long":
            raise _bad(where, "select", "row selection is for long layouts")
        if not isinstance(select, dict) or not select.get("column"):
            raise _bad(where, "select.column", "name the column rows are selected by")
        _check_list(where, "select.values", select.get("values"))
        if not select["values"]:
            raise _bad(where, "select.values", "list the values of rows to keep")


def _check_columns(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("columns")
    if spec is None:
        return
    if shape != "wide":
        raise _bad(where, "columns", "`columns` is for wide layouts")
    unknown = set(spec) - {"include", "exclude", "ignore", "header_pattern"}
    if unknown:
        raise _bad(where, "columns", f"unknown columns keys: {', '.join(sorted(unknown))}")
    patterns = [*(spec.get(k) or [] for k in ("include", "exclude", "ignore"))]
    for pattern in [p for group in patterns for p in group] + [spec.get("header_pattern") or ""]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _bad(where, "columns", f"bad regular expression {pattern!r}: {exc}") from exc
    header_pattern = spec.get("header_pattern")
    if header_pattern and "meter_id" not in re.compile(header_pattern).groupindex:
        raise _bad(where, "columns", "columns.header_pattern needs a (?P<meter_id>...) group")


def _check_source_quality(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("source_quality")
    if spec is None:
        return
    if shape in ("nem12", "espi"):
        raise _bad(where, "source_quality", f"{shape} carries its quality in its own records")
    if not isinstance(spec, dict) or not spec.get("column"):
        raise _bad(where, "source_quality", "source_quality needs a column")
    if sum(bool(spec.get(k)) for k in ("estimated", "separator", "map")) != 1:
        raise _bad(
            where,
            "source_quality",
            "source_quality takes either `estimated` (the flag values meaning the "
            "source estimated the row), `separator` (the column lists the estimated columns) "
            "or `map` (text found in the column -> flag)",
        )
    quality_map = spec.get("map")
    if quality_map is not None:
        if not isinstance(quality_map, dict) or not quality_map:
            raise _bad(where, "source_quality.map", "a mapping of text -> flag (A, E, S, F)")
        wrong = sorted(str(v) for v in quality_map.values() if v not in QUALITY_FLAGS)
        if wrong:
            raise _bad(where, "source_quality.map", f"{', '.join(wrong)}: not one of A, E, S, F")
    if spec.get("separator") and shape != "wide":
        raise _bad(where, "source_quality", "a list of estimated columns is for wide layouts")


def _check_version(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("version")
    if spec is None:
        return
    if not isinstance(spec, dict) or not spec.get("format"):
        raise _bad(
            where,
            "version",
            "version needs a format (strptime codes, or number) and, outside NEM12, a column",
        )
    if shape == "long" and not spec.get("column"):
        raise _bad(where, "version", "version needs the column holding it")
    if shape == "wide":
        raise _bad(where, "version", "a wide layout cannot declare a version column yet")


def _check_channel_kinds(channel: dict[str, Any], where: str) -> None:
    kinds = [
        *(channel.get("kinds") or {}).values(),
        *(channel.get("kind_prefixes") or {}).values(),
        channel.get("default_kind", "consumption"),
    ]
    for kind in kinds:
        if kind not in CHANNEL_KINDS:
            raise _bad(
                where, "channel", f"channel kind {kind!r} is not one of {', '.join(CHANNEL_KINDS)}"
            )


def _read_document(path: Path) -> list[Any]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LayoutConfigError(f"{path}: not valid YAML: {exc}") from exc
    entries = (document or {}).get("layouts") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise LayoutConfigError(f"{path}: expected a non-empty `layouts:` list")
    return entries


def layout_errors(path: Path = LAYOUTS_FILE) -> list[str]:
    """Every problem of a layouts file at once, one line each (empty when it loads)."""
    try:
        entries = _read_document(path)
    except LayoutConfigError as exc:
        return [str(exc)]
    errors: list[str] = []
    layouts: list[Layout] = []
    for index, entry in enumerate(entries):
        try:
            layouts.append(_parse_entry(entry, index))
        except LayoutConfigError as exc:
            errors.append(str(exc))
    try:
        _check_unique(layouts, path)
    except LayoutConfigError as exc:
        errors.append(str(exc))
    return errors


def _check_unique(layouts: list[Layout] | tuple[Layout, ...], path: Path) -> None:
    names = [lay.name for lay in layouts]
    tables = [lay.raw_table for lay in layouts]
    for label, values in (("name", names), ("raw_table", tables)):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise LayoutConfigError(f"{path}: duplicate layout {label}: {', '.join(dupes)}")


@cache
def load_layouts(path: Path = LAYOUTS_FILE) -> tuple[Layout, ...]:
    """The declared layouts; the first bad entry raises LayoutConfigError, one line naming the
    layout and the key (layout_errors lists them all)."""
    layouts = tuple(_parse_entry(e, i) for i, e in enumerate(_read_document(path)))
    _check_unique(layouts, path)
    return layouts


def header_search_depth(layouts: tuple[Layout, ...]) -> int:
    """How many leading lines recognition may need to see."""
    return max((layout.header_within for layout in layouts), default=1)


def recognize(first_line: str, layouts: tuple[Layout, ...] | None = None) -> Layout | None:
    """The first declared layout whose recognition rule fits the file's first non-empty line."""
    found = recognize_lines([first_line], layouts)
    return found[0] if found else None


def recognize_lines(
    lines: list[str], layouts: tuple[Layout, ...] | None = None
) -> tuple[Layout, int] | None:
    """The first declared layout that finds its header (or first record) among a file's
    leading lines (BOM-free text), and the header's 0-based line index."""
    for layout in layouts or load_layouts():
        index, _ = layout.locate_header(lines)
        if index is not None:
            return layout, index
    return None


def explain_recognition(
    lines: list[str], layouts: tuple[Layout, ...] | None = None
) -> list[tuple[str, str]]:
    """For each declared layout, (name, why it does not recognize these leading lines); the
    reason is "" for a layout that does (the first such one wins)."""
    return [(layout.name, layout.locate_header(lines)[1]) for layout in layouts or load_layouts()]


def leading_lines(text: str, layouts: tuple[Layout, ...] | None = None) -> list[str]:
    """The lines recognition looks at: as many as the deepest header_within, and at least up to
    the first non-empty line. A leading BOM is dropped."""
    depth = header_search_depth(layouts or load_layouts())
    lines: list[str] = []
    for line in text.lstrip("\ufeff").split("\n"):  # only \n ends a line (not \x1e, \f)
        lines.append(line.removesuffix("\r"))
        if len(lines) >= depth and any(x.strip() for x in lines):
            break
    return lines
