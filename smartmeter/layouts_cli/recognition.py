"""Which layout recognizes a file, and for every other layout the key that failed.

The rule is the loader's own (Layout.matches on the first non-empty line, in declaration
order); this only explains its answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dlt_pipelines.layouts import Layout, normalize_header, split_line
from dlt_pipelines.text_tables import UnreadableFile, decode_content

# How far past line 1 to look for a header a preamble pushed down.
PREAMBLE_LINES = 50


@dataclass(frozen=True)
class Miss:
    layout: str
    failures: tuple[str, ...]  # "header_includes: missing 'unit'"
    closeness: float  # share of the recognition rule the line meets

    def line(self) -> str:
        return f"{self.layout}: {'; '.join(self.failures)}"


@dataclass
class Recognition:
    file: str
    first_line: str
    first_line_number: int
    recognized: str | None = None
    shadowed: list[str] = field(default_factory=list)  # also match, but come later
    misses: list[Miss] = field(default_factory=list)  # closest first
    later_header: tuple[int, str] | None = None  # (line, layout) after a preamble

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "first_line": self.first_line,
            "first_line_number": self.first_line_number,
            "recognized": self.recognized,
            "also_matching": self.shadowed,
            "near_misses": [
                {"layout": m.layout, "failures": list(m.failures), "closeness": m.closeness}
                for m in self.misses
            ],
            "header_after_preamble": (
                {"line": self.later_header[0], "layout": self.later_header[1]}
                if self.later_header
                else None
            ),
        }

    def lines(self) -> list[str]:
        shown = self.first_line if len(self.first_line) <= 100 else self.first_line[:97] + "..."
        if self.recognized:
            out = [
                f"{self.file}: recognized as '{self.recognized}' (line {self.first_line_number}:"
                f" {shown!r})"
            ]
            out += [
                f"  also matches '{name}', which comes later in layouts.yml and is not used"
                for name in self.shadowed
            ]
            return out
        out = [f"{self.file}: no layout recognizes it; its first line is {shown!r}"]
        out += [f"  {miss.line()}" for miss in self.misses]
        if self.later_header:
            line, name = self.later_header
            out.append(
                f"  line {line} is a header '{name}' would recognize, but only the first "
                "non-empty line is read for recognition (a preamble comes before it)"
            )
        return out


def text_lines(data: bytes) -> list[str]:
    """The file's lines as the loader sees them (gzip and BOM undone, only \n ends a line;
    UnreadableFile if it is empty or binary)."""
    text = decode_content(data).decode("utf-8", errors="replace")
    return [line.removesuffix("\r") for line in text.split("\n")]


def _located(
    layout: Layout, lines: list[str], first: int
) -> tuple[int | None, tuple[str, ...] | None]:
    """(0-based header line, None) when the layout recognizes the file, else (None, why).
    A loader whose layouts may look past a preamble (Layout.locate_header) is asked where;
    otherwise the rule is Layout.matches on the first non-empty line."""
    locate = getattr(layout, "locate_header", None)
    within = getattr(layout, "header_within", 1)
    if locate is not None and within > 1:
        index, reason = locate(lines)
        if index is not None:
            return index, None
        if not reason.startswith("recognize.header_includes"):
            return None, (reason.removeprefix("recognize."),)
        # Say what the closest line of the window lacks, as for a first-line layout.
        window = [line for line in lines[:within] if line.strip()]
        closest = max(window, key=lambda line: explain_miss(layout, line).closeness)
        return None, (
            f"header_within: no header in the first {within} lines",
            explain_miss(layout, closest).failures[-1],
        )
    if layout.matches(lines[first]):
        return first, None
    return None, None


def explain_miss(layout: Layout, line: str) -> Miss:
    fields = split_line(line, layout.delimiter)
    failures: list[str] = []
    if layout.delimiter not in line and len(fields) <= 1:
        failures.append(f"delimiter: {layout.delimiter!r} does not occur in the line")
    if layout.shape == "nem12":
        first = fields[0].strip() if fields else ""
        shown = first if len(first) <= 30 else first[:27] + "..."
        allowed = ", ".join(layout.record_types)
        failures.append(f"record_types: first field {shown!r} is not one of {allowed}")
        return Miss(layout.name, tuple(failures), 0.0)
    present = {normalize_header(f) for f in fields}
    missing = [h for h in layout.header_includes if normalize_header(h) not in present]
    failures.append("header_includes: missing " + ", ".join(repr(h) for h in missing))
    closeness = 1 - len(missing) / max(len(layout.header_includes), 1)
    return Miss(layout.name, tuple(failures), round(closeness, 3))


def recognize_file(path: Path, layouts: list[Layout], data: bytes | None = None) -> Recognition:
    lines = text_lines(path.read_bytes() if data is None else data)
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise UnreadableFile("empty_file", "the file has no non-empty line")
    number, first = numbered[0]
    result = Recognition(file=path.name, first_line=first, first_line_number=number)
    # Green Button XML is recognized by its markup, never by a line: no near miss of text.
    for layout in (lay for lay in layouts if lay.shape != "espi"):
        index, reason = _located(layout, lines, number - 1)
        if index is not None:
            if result.recognized is None:
                result.recognized = layout.name
                result.first_line, result.first_line_number = lines[index], index + 1
            else:
                result.shadowed.append(layout.name)
        elif reason:
            result.misses.append(Miss(layout.name, reason, 0.0))
        else:
            result.misses.append(explain_miss(layout, first))
    result.misses.sort(key=lambda m: -m.closeness)
    if result.recognized is None:
        for later_number, line in numbered[1:PREAMBLE_LINES]:
            found = next((lay.name for lay in layouts if lay.matches(line)), None)
            if found:
                result.later_header = (later_number, found)
                break
    return result
