"""A data home's own local zones for layouts whose files do not say theirs (a Green Button CSV
is written in the utility's wall clock, which the file never names).

<home>/layout_zones.yml:

    green_button_csv:
      timezone: America/Chicago          # every file of the layout in this home
      files:                             # or by file name: the first pattern found wins
        - {name: "^sdge_", timezone: America/Los_Angeles}

A file the settings do not cover keeps its layout's declared `timestamp.timezone`. The zone a
file is read in, and where it came from, go to raw.file_zones (one row per such file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from dlt_pipelines.layouts import LayoutConfigError, load_layouts

SETTINGS_FILE = "layout_zones.yml"


@dataclass(frozen=True)
class ZoneRule:
    timezone: str | None
    files: tuple[tuple[str, str], ...]  # (file-name pattern, zone)


def _zone(where: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LayoutConfigError(f"{where}: give an IANA time zone name (America/Chicago)")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise LayoutConfigError(f"{where}: {value!r} is not a known time zone") from exc
    return value


def load_zone_settings(home_root: Path) -> dict[str, ZoneRule]:
    """The home's zone settings, checked: one line naming the layout and the key when wrong."""
    path = Path(home_root) / SETTINGS_FILE
    if not path.is_file():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise LayoutConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(document, dict):
        raise LayoutConfigError(f"{path}: a mapping of layout name -> timezone, files")
    names = {layout.name for layout in load_layouts()}
    rules: dict[str, ZoneRule] = {}
    for name, spec in document.items():
        where = f"{SETTINGS_FILE}: layout '{name}'"
        if name not in names:
            raise LayoutConfigError(f"{where}: no such layout in layouts.yml")
        if not isinstance(spec, dict) or not spec or set(spec) - {"timezone", "files"}:
            raise LayoutConfigError(f"{where}: give `timezone` and/or `files`")
        files = spec.get("files") or []
        if not isinstance(files, list):
            raise LayoutConfigError(f"{where}: key 'files': a list of {{name, timezone}}")
        patterns = []
        for item in files:
            if not isinstance(item, dict) or set(item) != {"name", "timezone"}:
                raise LayoutConfigError(f"{where}: key 'files': each is {{name, timezone}}")
            try:
                re.compile(str(item["name"]))
            except re.error as exc:
                raise LayoutConfigError(f"{where}: key 'files': bad pattern: {exc}") from exc
            patterns.append((str(item["name"]), _zone(f"{where}: key 'files'", item["timezone"])))
        zone = spec.get("timezone")
        rules[str(name)] = ZoneRule(
            _zone(f"{where}: key 'timezone'", zone) if zone is not None else None,
            tuple(patterns),
        )
    return rules


def zone_of_file(rules: dict[str, ZoneRule], layout: str, file_name: str) -> tuple[str, str] | None:
    """The zone the home sets for this file of `layout`, and where it came from; None when the
    home says nothing (the layout's declared zone)."""
    rule = rules.get(layout)
    if rule is None:
        return None
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    for pattern, zone in rule.files:
        if re.search(pattern, base):
            return zone, f"{SETTINGS_FILE}: files {pattern!r}"
    if rule.timezone:
        return rule.timezone, f"{SETTINGS_FILE}: timezone"
    return None
