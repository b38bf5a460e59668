"""A draft layouts.yml entry and how it is printed: the keys of today's language as YAML, a
finding that needs a key the language does not have yet as a commented line naming that key
(emitted for real as soon as the loader's parser knows it), and notes for the person
reviewing it."""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from dlt_pipelines.layouts import LayoutConfigError, _parse_entry

# Keys a draft may need beyond the first layout language, in the form the loader's extended
# language declares them. Each is emitted as a key when the loader's own parser knows it
# (language_has), else as a commented line naming it.
FUTURE_KEYS = {
    "recognize.header_within": "a header after a preamble",
    "file_fields.meter_id": "a file-level meter id (preamble line, file name or fixed)",
    "meter_id.file_field": "the meter id from a file-level field",
    "timestamp.columns": "a timestamp from a date column and a time column",
    "timestamp.end": "the interval's end from its own columns",
    "value_columns": "value columns with a unit each, from their header",
    "value.clean": "clean-up of value cells",
    "meter_id.clean": "clean-up of meter id cells",
    "select": "a row filter (electric rows kept, the others counted apart)",
}
# Where to probe for a key whose last part is a free name (any file field name is valid).
PROBE_AT = {"file_fields.meter_id": "file_fields"}
# A long entry today's parser accepts; a probed key is added to it with a value no key takes.
PROBE_ENTRY = {
    "name": "probe",
    "shape": "long",
    "recognize": {"header_includes": ["t"]},
    "timestamp": {"column": "t", "format": "iso8601", "timezone": "UTC"},
    "meter_id": {"column": "m"},
    "value": {"column": "v"},
    "unit": {"fixed": "kWh"},
}


def _objection(path: str) -> str | None:
    """What the loader's parser says when `path` holds a value no key accepts."""
    entry = copy.deepcopy(PROBE_ENTRY)
    top, _, sub = path.partition(".")
    nonsense = {"\x00probe": [None]}
    if sub:
        entry.setdefault(top, {})[sub] = nonsense
    else:
        entry[top] = nonsense
    try:
        _parse_entry(entry, 0)
    except (LayoutConfigError, TypeError, ValueError, AttributeError) as exc:
        return str(exc) or type(exc).__name__
    return None


@cache
def language_has(path: str) -> bool:
    """Does the loader's parser know this key? It does when a value no key accepts, put there
    in an entry it otherwise accepts, draws an objection other than the one an unknown key at
    the same place draws (a parser ignores, or refuses as a typo, keys it does not know)."""
    objection = _objection(path)
    if objection is None:
        return False
    leaf = path.rpartition(".")[2]
    control_path = f"{path.rpartition('.')[0]}.zz_probe".lstrip(".")
    control = _objection(control_path)
    return control is None or objection.replace(leaf, "zz_probe") != control


# The order of an entry's keys, as in layouts.yml.
KEY_ORDER = (
    *("name", "description", "shape", "recognize", "delimiter", "decimal_mark", "encoding"),
    *("timestamp", "meter_id", "columns", "channel", "value", "registers", "unit"),
    *("interval_minutes", "source_quality", "values", "file_fields", "select", "value_columns"),
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
        if language_has(PROBE_AT.get(path, path)):
            if sub:
                self.entry.setdefault(top, {})[sub] = value
            else:
                self.entry[top] = value
            self.comments[top].append(why)
            return
        shown = flow_yaml(value)
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
            lines = f"{key}: {flow_yaml(value)}".split("\n")
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


def flow_yaml(value: Any) -> str:
    """A value as one line of YAML (flow style)."""
    text = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 20
    )
    return text.strip().removesuffix("...").strip()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
