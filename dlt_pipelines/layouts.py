"""The declared file layouts (layouts.yml): loading, checking and recognizing them.

A layout is recognized from a file's content, never its name: the first non-empty line is
split with each layout's delimiter and compared with what the layout says it must contain.
"""

from __future__ import annotations

import csv
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

    @property
    def has_header(self) -> bool:
        return self.shape not in ("nem12", "espi")

    def matches(self, first_line: str) -> bool:
        if self.shape == "espi":  # XML, recognized by its markup (text_tables, espi_xml)
            return False
        fields = split_line(first_line, self.delimiter)
        if self.shape == "nem12":
            return bool(fields) and fields[0].strip() in self.record_types
        present = {normalize_header(f) for f in fields}
        return all(normalize_header(h) in present for h in self.header_includes)

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
            "timestamp_format": ts.get("format"),
            "timezone": ts.get("timezone"),
            "timestamp_marks": ts.get("marks", "start"),
            "dst_folded_labels_zone": d.get("dst_folded_labels_zone"),
            "meter_id_column": _column_or_keyword(d.get("meter_id")),
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
    return None


def normalize_header(text: str) -> str:
    """How header fields are compared: trimmed, case-insensitive, BOM-free."""
    return text.replace("\ufeff", "").strip().casefold()


def raw_column_name(header: str) -> str:
    """Deterministic, SQL-safe raw column name for a header field: `KWH/hh (per half hour)` ->
    `kwh_hh_per_half_hour`. The exact header text is kept in raw.file_headers."""
    name = re.sub(r"[^0-9a-z]+", "_", normalize_header(header)).strip("_")
    if not name:
        name = "column"
    if name[0].isdigit():
        name = f"c_{name}"
    return name


def split_line(line: str, delimiter: str) -> list[str]:
    """Split one CSV line honouring quotes (used for headers and recognition only)."""
    rows = list(csv.reader([line.rstrip("\r\n")], delimiter=delimiter))
    return rows[0] if rows else []


def _require(entry: dict[str, Any], key: str, where: str) -> Any:
    if key not in entry or entry[key] in (None, ""):
        raise LayoutConfigError(f"{where}: missing required key '{key}'")
    return entry[key]


def _parse_entry(entry: dict[str, Any], index: int) -> Layout:
    where = f"layouts.yml entry {index + 1}"
    name = str(_require(entry, "name", where))
    where = f"layouts.yml layout '{name}'"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise LayoutConfigError(f"{where}: name must be lower snake_case")
    shape = _require(entry, "shape", where)
    if shape not in SHAPES:
        raise LayoutConfigError(f"{where}: shape must be one of {SHAPES}, not {shape!r}")
    if entry.get("values", "interval") not in VALUE_KINDS:
        raise LayoutConfigError(f"{where}: values must be one of {VALUE_KINDS}")
    encoding = entry.get("encoding", "utf-8")
    if encoding not in ENCODINGS:
        raise LayoutConfigError(f"{where}: encoding must be one of {ENCODINGS}")
    # Green Button XML is recognized by its markup: an Atom feed with ESPI elements.
    recognize = (
        entry.get("recognize") or {} if shape == "espi" else _require(entry, "recognize", where)
    )
    header_includes = tuple(recognize.get("header_includes") or ())
    record_types = tuple(str(r) for r in recognize.get("record_types") or ())
    if shape == "nem12" and not record_types:
        raise LayoutConfigError(f"{where}: a nem12 layout needs recognize.record_types")
    if shape in ("long", "wide") and not header_includes:
        raise LayoutConfigError(f"{where}: recognize.header_includes is required")
    ts = _require(entry, "timestamp", where)
    _require(ts, "format", f"{where} timestamp")
    _require(ts, "timezone", f"{where} timestamp")
    if ts.get("marks", "start") not in ("start", "end"):
        raise LayoutConfigError(f"{where}: timestamp.marks must be start or end")
    if shape == "long":
        _require(ts, "column", f"{where} timestamp")
        if not entry.get("value") and not entry.get("registers"):
            raise LayoutConfigError(f"{where}: a long layout needs `value` or `registers`")
        if not entry.get("unit"):
            raise LayoutConfigError(f"{where}: declare `unit` (column or fixed)")
        if not (entry.get("meter_id") or {}).get("column"):
            raise LayoutConfigError(f"{where}: a long layout needs meter_id.column")
    if shape == "wide" and entry.get("meter_id") != "header":
        raise LayoutConfigError(f"{where}: a wide layout takes meter_id: header")
    _check_columns(entry, shape, where)
    _check_source_quality(entry, shape, where)
    _check_version(entry, shape, where)
    _check_channel_kinds(entry.get("channel") or {}, where)
    rollover = entry.get("register_rollover_kwh")
    if rollover is not None:
        if entry.get("values") != "cumulative":
            raise LayoutConfigError(f"{where}: register_rollover_kwh needs values: cumulative")
        if not isinstance(rollover, int | float) or isinstance(rollover, bool) or rollover <= 0:
            raise LayoutConfigError(f"{where}: register_rollover_kwh must be a positive number")
    delimiter = entry.get("delimiter", ",")
    if len(delimiter) != 1:
        raise LayoutConfigError(f"{where}: delimiter must be one character")
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
    )


def _check_columns(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("columns")
    if spec is None:
        return
    if shape != "wide":
        raise LayoutConfigError(f"{where}: `columns` is for wide layouts")
    unknown = set(spec) - {"include", "exclude", "ignore", "header_pattern"}
    if unknown:
        raise LayoutConfigError(f"{where}: unknown columns keys: {', '.join(sorted(unknown))}")
    patterns = [*(spec.get(k) or [] for k in ("include", "exclude", "ignore"))]
    for pattern in [p for group in patterns for p in group] + [spec.get("header_pattern") or ""]:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise LayoutConfigError(f"{where}: bad regular expression {pattern!r}: {exc}") from exc
    header_pattern = spec.get("header_pattern")
    if header_pattern and "meter_id" not in re.compile(header_pattern).groupindex:
        raise LayoutConfigError(f"{where}: columns.header_pattern needs a (?P<meter_id>...) group")


def _check_source_quality(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("source_quality")
    if spec is None:
        return
    if shape in ("nem12", "espi"):
        raise LayoutConfigError(f"{where}: {shape} carries its quality in its own records")
    if not isinstance(spec, dict) or not spec.get("column"):
        raise LayoutConfigError(f"{where}: source_quality needs a column")
    if bool(spec.get("estimated")) == bool(spec.get("separator")):
        raise LayoutConfigError(
            f"{where}: source_quality takes either `estimated` (the flag values meaning the "
            "source estimated the row) or `separator` (the column lists the estimated columns)"
        )
    if spec.get("separator") and shape != "wide":
        raise LayoutConfigError(f"{where}: a list of estimated columns is for wide layouts")


def _check_version(entry: dict[str, Any], shape: str, where: str) -> None:
    spec = entry.get("version")
    if spec is None:
        return
    if not isinstance(spec, dict) or not spec.get("format"):
        raise LayoutConfigError(
            f"{where}: version needs a format (strptime codes, or number) and, outside NEM12, "
            "a column"
        )
    if shape == "long" and not spec.get("column"):
        raise LayoutConfigError(f"{where}: version needs the column holding it")
    if shape == "wide":
        raise LayoutConfigError(f"{where}: a wide layout cannot declare a version column yet")


def _check_channel_kinds(channel: dict[str, Any], where: str) -> None:
    kinds = [
        *(channel.get("kinds") or {}).values(),
        *(channel.get("kind_prefixes") or {}).values(),
        channel.get("default_kind", "consumption"),
    ]
    for kind in kinds:
        if kind not in CHANNEL_KINDS:
            raise LayoutConfigError(
                f"{where}: channel kind {kind!r} is not one of {', '.join(CHANNEL_KINDS)}"
            )


@cache
def load_layouts(path: Path = LAYOUTS_FILE) -> tuple[Layout, ...]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LayoutConfigError(f"{path}: not valid YAML: {exc}") from exc
    entries = (document or {}).get("layouts")
    if not isinstance(entries, list) or not entries:
        raise LayoutConfigError(f"{path}: expected a non-empty `layouts:` list")
    layouts = tuple(_parse_entry(e, i) for i, e in enumerate(entries))
    names = [lay.name for lay in layouts]
    tables = [lay.raw_table for lay in layouts]
    for label, values in (("name", names), ("raw_table", tables)):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise LayoutConfigError(f"{path}: duplicate layout {label}: {', '.join(dupes)}")
    return layouts


def recognize(first_line: str, layouts: tuple[Layout, ...] | None = None) -> Layout | None:
    """The first declared layout whose recognition rule fits the file's first non-empty line."""
    for layout in layouts or load_layouts():
        if layout.matches(first_line):
            return layout
    return None
