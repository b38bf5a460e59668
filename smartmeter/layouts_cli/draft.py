"""A draft layouts.yml entry and how it is printed: the keys of today's language as YAML, a
finding that needs a key the language does not have yet as a commented line naming that key
(add the key's path to LANGUAGE_KEYS once the loader honours it, and it is emitted for real),
and notes for the person reviewing it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import yaml

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
    "cleanup.excel_text": "values written as Excel text formulas",
    "rows.keep": "a row filter (electric rows kept, gas rows judged apart)",
}

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
