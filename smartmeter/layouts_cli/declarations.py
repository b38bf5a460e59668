"""Which layouts.yml a command works on, and every error in it at once.

The loader (dlt_pipelines.layouts.load_layouts) stops at the first bad entry; here each entry
goes through the loader's own per-entry parser, so every broken entry is named in one pass.
A file given with --layouts is either a whole layouts.yml (a mapping with `layouts:`) or a
draft: a bare list of entries (what `smartmeter layouts suggest` prints), checked as if
appended to the active layouts.yml.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dlt_pipelines.layouts import LAYOUTS_FILE, Layout, LayoutConfigError, _parse_entry

# strptime codes the pipeline parses on every store (macros/cross_db/parsing.sql).
SUPPORTED_FORMAT_CODES = set("YmdHMSfny%")


def active_layouts_file() -> Path:
    """The layouts.yml the loader reads (the one place to change when it reads another)."""
    return LAYOUTS_FILE


@dataclass(frozen=True)
class EntryError:
    entry: str  # the layout's name, or "entry N" when it has none
    key: str | None  # the key at fault, when the message names one
    message: str

    def line(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, str | None]:
        return {"entry": self.entry, "key": self.key, "message": self.message}


@dataclass
class Declarations:
    """The entries of a layouts file (or of the active one plus a draft), parsed one by one."""

    source: str  # what was read, for messages
    entries: list[Any] = field(default_factory=list)
    layouts: list[Layout] = field(default_factory=list)
    errors: list[EntryError] = field(default_factory=list)
    document: dict[str, Any] = field(default_factory=dict)  # the whole layouts.yml to load
    given: bool = False  # read from a file given instead of the active layouts.yml

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_yaml(self) -> str:
        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LayoutConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise LayoutConfigError(f"{path}: not UTF-8 text") from exc
    except yaml.YAMLError as exc:
        raise LayoutConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc


def _whole_document(path: Path) -> dict[str, Any]:
    document = _read_yaml(path)
    if not isinstance(document, dict) or not isinstance(document.get("layouts"), list):
        raise LayoutConfigError(f"{path}: expected a non-empty `layouts:` list")
    return document


def read_declarations(given: Path | None = None) -> Declarations:
    """The active layouts.yml, a layouts file given instead, or a draft appended to the active
    one. Raises LayoutConfigError only when the file as a whole cannot be read."""
    active = active_layouts_file()
    if given is None:
        document, source = _whole_document(active), str(active)
    else:
        given_document = _read_yaml(given)
        if isinstance(given_document, list):  # a draft: entries to append
            document = _whole_document(active)
            document = {**document, "layouts": [*document["layouts"], *given_document]}
            source = f"{active} + {given}"
        elif isinstance(given_document, dict) and isinstance(given_document.get("layouts"), list):
            document, source = given_document, str(given)
        else:
            raise LayoutConfigError(
                f"{given}: expected a `layouts:` list, or a list of entries (a draft)"
            )
    declarations = Declarations(source=source, entries=list(document["layouts"]))
    declarations.document = document
    declarations.given = given is not None
    _check_entries(declarations)
    return declarations


def _entry_label(entry: Any, index: int) -> str:
    if isinstance(entry, dict) and entry.get("name"):
        return str(entry["name"])
    return f"entry {index + 1}"


def _check_entries(declarations: Declarations) -> None:
    if not declarations.entries:
        declarations.errors.append(
            EntryError("layouts", "layouts", "layouts.yml: the `layouts:` list is empty")
        )
    for index, entry in enumerate(declarations.entries):
        label = _entry_label(entry, index)
        if not isinstance(entry, dict):
            declarations.errors.append(
                EntryError(label, None, f"layouts.yml entry {index + 1}: not a mapping of keys")
            )
            continue
        try:
            layout = _parse_entry(entry, index)
        except LayoutConfigError as exc:
            declarations.errors.append(EntryError(label, key_named(str(exc), entry), str(exc)))
        except (AttributeError, TypeError, ValueError) as exc:
            # A key of the wrong type (a string where a mapping belongs) trips the parser.
            declarations.errors.append(
                EntryError(
                    label, None, f"layouts.yml layout '{label}': a key has the wrong type ({exc})"
                )
            )
        else:
            beyond = _beyond_the_parser(layout)
            declarations.errors.extend(beyond)
            if not beyond:
                declarations.layouts.append(layout)
    named = [e for e in declarations.entries if isinstance(e, dict) and e.get("name")]
    names = [str(e["name"]) for e in named]
    tables = [str(e.get("raw_table") or e["name"]) for e in named]
    reported = set()
    for key, values in (("name", names), ("raw_table", tables)):
        for dupe in sorted({v for v in values if values.count(v) > 1} - reported):
            reported.add(dupe)
            declarations.errors.append(
                EntryError(dupe, key, f"layouts.yml layout '{dupe}': duplicate layout {key}")
            )


def _beyond_the_parser(layout: Layout) -> list[EntryError]:
    """What the loader accepts but a build would trip on: an unknown time zone, a format code
    the stores do not parse."""
    where = f"layouts.yml layout '{layout.name}'"
    errors = []
    d = layout.declaration
    zones = {
        "timestamp.timezone": (d.get("timestamp") or {}).get("timezone"),
        "dst_folded_labels_zone": d.get("dst_folded_labels_zone"),
    }
    for key, zone in zones.items():
        if zone is None:
            continue
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(
                EntryError(layout.name, key, f"{where}: {key} {zone!r} is not an IANA time zone")
            )
    formats = {
        "timestamp.format": (d.get("timestamp") or {}).get("format"),
        "version.format": (d.get("version") or {}).get("format"),
    }
    for key, fmt in formats.items():
        if not isinstance(fmt, str) or fmt in ("iso8601", "number"):
            continue
        unknown = sorted(set(re.findall(r"%(.)", fmt)) - SUPPORTED_FORMAT_CODES)
        if unknown:
            codes = ", ".join(f"%{c}" for c in unknown)
            errors.append(
                EntryError(
                    layout.name,
                    key,
                    f"{where}: {key} {fmt!r} uses {codes}; the stores parse %Y %m %d %H %M %S "
                    "%f %n %y (or iso8601)",
                )
            )
    return errors


def key_named(message: str, entry: dict[str, Any]) -> str | None:
    """The key a parser message is about: `missing required key 'x'`, or the first dotted name
    in the message that is a key of the entry (`timestamp.marks must be ...`)."""
    text = message.split(": ", 1)[-1]
    missing = re.search(r"missing required key '([^']+)'", text)
    named = re.match(r"key '([^']+)'", text)  # the loader's `layout 'x': key 'y': ...`
    if named and not missing:
        return named.group(1)
    if missing:
        prefix = re.search(r"layout '[^']+' (\w+)", message.split(": ", 1)[0])
        return f"{prefix.group(1)}.{missing.group(1)}" if prefix else missing.group(1)
    for token in re.findall(r"`?([a-z_]+(?:\.[a-z_]+)?)`?", text):
        if token.split(".")[0] in entry or token.split(".")[0] in KNOWN_KEYS:
            return token
    return None


# Keys of an entry today, for naming the key of a message (a message may name a missing one).
KNOWN_KEYS = frozenset(
    {
        *("name", "shape", "description", "raw_table", "recognize", "delimiter"),
        *("decimal_mark", "encoding", "timestamp", "meter_id", "channel", "value"),
        *("registers", "unit", "interval_minutes", "columns", "source_quality", "version"),
        *("values", "register_rollover_kwh", "dst_folded_labels_zone"),
    }
)
