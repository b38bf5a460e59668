"""Green Button XML (NAESB ESPI, REQ.21): an Atom feed of UsagePoint, MeterReading, ReadingType,
LocalTimeParameters and IntervalBlock entries, read into one text row per IntervalReading.

The parser is hardened the way defusedxml hardens expat, and stricter: a document type
declaration (DOCTYPE, where entity bombs and external entities live) is refused outright (ESPI
files need none), parameter entities are never parsed, external entities never fetched, and the
document's size and element depth are bounded. Such a file is dead-lettered with the reason; it
is never expanded.

Entries refer to each other by their Atom links (a MeterReading's `related` link names its
ReadingType and IntervalBlock collection; an IntervalBlock's `up` link its MeterReading's), so
each reading row carries, as written, the fields of its ReadingType and LocalTimeParameters and
the resource paths of its UsagePoint and MeterReading. Where a feed leaves a link out, the
resource path in the other links says it, else the nearest entry of the kind before it (or the
only one in the file). Nothing is converted here: dbt (models/staging/espi) does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat

import pyarrow as pa

ESPI_NS = "http://naesb.org/espi"
ATOM_NS = "http://www.w3.org/2005/Atom"
# Bounds: a year of 15-minute data for one home is about 10 MB of XML; the parser holds about
# 1.5 KB per reading, 6 times the XML (measured on the Coastal sample), so 100 MB of XML stays
# under 600 MB of memory. The caller passes the data home's own bound (Settings.xml_max_bytes).
MAX_XML_BYTES = 100 * 1024 * 1024
MAX_DEPTH = 64
SNIFF_BYTES = 64 * 1024

# ReadingType and LocalTimeParameters elements copied onto every reading (raw column names).
READING_TYPE_FIELDS = {
    "uom": "uom",
    "powerOfTenMultiplier": "power_of_ten_multiplier",
    "accumulationBehaviour": "accumulation_behaviour",
    "flowDirection": "flow_direction",
    "commodity": "commodity",
    "kind": "kind",
    "intervalLength": "interval_length",
}
LOCAL_TIME_FIELDS = {
    "tzOffset": "tz_offset",
    "dstOffset": "dst_offset",
    "dstStartRule": "dst_start_rule",
    "dstEndRule": "dst_end_rule",
}
COLUMNS = (
    "usage_point",
    "usage_point_atom_id",
    "meter_reading",
    "reading_type",
    *READING_TYPE_FIELDS.values(),
    *LOCAL_TIME_FIELDS.values(),
    "block_start",
    "block_duration",
    "time_period_start",
    "time_period_duration",
    "value",
    "cost",
    "reading_quality",
    "reading_ordinal",
)


class XmlRefused(Exception):
    """The XML cannot be read safely or at all; `reason` is the dead-letter reason code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def looks_like_xml(content: bytes) -> bool:
    """Markup rather than delimited text: the first non-blank character is `<`."""
    return content[:SNIFF_BYTES].lstrip()[:1] == b"<"


@dataclass
class _Entry:
    position: int
    kind: str = ""  # the ESPI resource inside <content>: UsagePoint, MeterReading, ...
    atom_id: str | None = None
    self_href: str | None = None
    up_href: str | None = None
    related: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Reading:
    entry: _Entry
    block: dict[str, str]
    parent_reading: _Entry | None  # a MeterReading the block sits inside (not per the standard)
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    qualities: list[str] = field(default_factory=list)


class _Collector:
    """expat handlers: collect entries, blocks and readings in one pass."""

    def __init__(self, parser: expat.XMLParserType):
        self.parser = parser
        self.stack: list[tuple[str, str]] = []  # (namespace, local name)
        self.text: list[str] = []
        self.entries: list[_Entry] = []
        self.entry: _Entry | None = None
        self.block: dict[str, str] | None = None
        self.reading: _Reading | None = None
        self.readings: list[_Reading] = []
        self.espi_seen = False
        self.root: tuple[str, str] | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ns, _, local = name.rpartition(" ")
        if len(self.stack) >= MAX_DEPTH:
            raise XmlRefused(
                "unsafe_xml", f"XML nested deeper than {MAX_DEPTH} elements: refused unread"
            )
        if self.root is None:
            self.root = (ns, local)
        parent = self.stack[-1] if self.stack else ("", "")
        self.stack.append((ns, local))
        self.text = []
        if ns == ESPI_NS:
            self.espi_seen = True
        atom = ns in (ATOM_NS, "")
        if atom and local == "entry":
            self.entry = _Entry(position=len(self.entries))
            self.entries.append(self.entry)
        elif atom and local == "link" and self.entry is not None:
            rel, href = attrs.get("rel", "alternate"), attrs.get("href")
            if href is not None:
                if rel == "self" and self.entry.self_href is None:
                    self.entry.self_href = href
                elif rel == "up" and self.entry.up_href is None:
                    self.entry.up_href = href
                elif rel == "related":
                    self.entry.related.append(href)
        elif ns == ESPI_NS:
            if parent[1] == "content" and self.entry is not None and not self.entry.kind:
                self.entry.kind = local
            if local == "IntervalBlock":
                self.block = {}
            elif local == "IntervalReading" and self.block is not None:
                self.reading = _Reading(
                    entry=self.entry or self._orphan(),
                    block=self.block,
                    parent_reading=self.entry if self._inside("MeterReading") else None,
                    line=self.parser.CurrentLineNumber,
                )
                self.readings.append(self.reading)

    def _orphan(self) -> _Entry:
        """Readings outside any Atom entry (an IntervalBlock document on its own)."""
        self.entry = _Entry(position=len(self.entries))
        self.entries.append(self.entry)
        return self.entry

    def _inside(self, local: str) -> bool:
        return any(n == ESPI_NS and name == local for n, name in self.stack[:-1])

    def end(self, name: str) -> None:
        ns, local = self.stack.pop()
        text = "".join(self.text)
        self.text = []
        parent = self.stack[-1][1] if self.stack else ""
        if ns in (ATOM_NS, "") and local == "id" and parent == "entry" and self.entry:
            self.entry.atom_id = text
        elif ns != ESPI_NS:
            return
        elif self.reading is not None:
            if local == "IntervalReading":
                self.reading = None
            elif parent == "timePeriod" and local in ("start", "duration"):
                self.reading.fields[f"time_period_{local}"] = text
            elif parent == "IntervalReading" and local in ("value", "cost"):
                self.reading.fields[local] = text
            elif parent == "ReadingQuality" and local == "quality":
                self.reading.qualities.append(text)
        elif self.block is not None and local == "IntervalBlock":
            self.block = None
        elif self.block is not None and parent == "interval" and local in ("start", "duration"):
            self.block[f"block_{local}"] = text
        elif self.entry is not None and parent == self.entry.kind:
            self.entry.fields[local] = text

    def characters(self, data: str) -> None:
        self.text.append(data)


def _refuse_dtd(*_args: object) -> None:
    raise XmlRefused(
        "unsafe_xml",
        "the XML declares a document type (DOCTYPE): entities and DTDs are refused, never "
        "expanded (a Green Button file needs none)",
    )


def parse(content: bytes, max_bytes: int = MAX_XML_BYTES) -> _Collector:
    if len(content) > max_bytes:
        raise XmlRefused(
            "xml_too_large",
            f"the XML is {len(content):,} bytes, above the {max_bytes:,} this loader reads "
            "(SMARTMETER_XML_MAX_BYTES)",
        )
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd
    collector = _Collector(parser)
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.characters
    parser.buffer_text = True
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise XmlRefused(
            "unparseable_xml",
            f"not well-formed XML: {expat.ErrorString(exc.code)} on line {exc.lineno}, "
            f"column {exc.offset}",
        ) from exc
    return collector


def is_espi(collector: _Collector) -> bool:
    """An Atom feed (or entry) carrying ESPI resources."""
    return (
        collector.root is not None
        and collector.root[1] in ("feed", "entry")
        and collector.root[0] in (ATOM_NS, "")
        and collector.espi_seen
    )


def _resource_path(href: str | None) -> str:
    """The resource part of a link: `.../espi/1_1/resource/RetailCustomer/3/UsagePoint/1` ->
    `RetailCustomer/3/UsagePoint/1` (the scheme and host go when there is no `/resource/`)."""
    if not href:
        return ""
    if "/resource/" in href:
        return href.rsplit("/resource/", 1)[1].strip("/")
    return re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*", "", href).strip("/")


def _up_to(href: str | None, collection: str) -> str | None:
    """`.../UsagePoint/1/MeterReading/01/IntervalBlock/3`, `MeterReading` ->
    `.../UsagePoint/1/MeterReading/01` (None when the path does not name one)."""
    if not href:
        return None
    found = re.search(rf"^(.*/{collection}/[^/]+)", href)
    return found.group(1) if found else None


def _segment_after(path: str, collection: str) -> str:
    found = re.search(rf"(?:^|/){collection}/([^/]+)", path)
    return found.group(1) if found else ""


class _Feed:
    """The entries of a feed, and how one finds another."""

    def __init__(self, entries: list[_Entry]):
        self.entries = entries
        self.by_self = {e.self_href: e for e in entries if e.self_href}
        self.by_kind: dict[str, list[_Entry]] = {}
        for entry in entries:
            self.by_kind.setdefault(entry.kind, []).append(entry)

    def linked(self, entry: _Entry, kind: str) -> _Entry | None:
        for href in entry.related:
            found = self.by_self.get(href)
            if found is not None and found.kind == kind:
                return found
        return None

    def nearest(self, kind: str, position: int, after: bool = False) -> _Entry | None:
        """The only entry of the kind, else the nearest one before `position` (or after)."""
        candidates = self.by_kind.get(kind, [])
        if len(candidates) == 1:
            return candidates[0]
        if after:
            return next((e for e in candidates if e.position > position), None)
        return next((e for e in reversed(candidates) if e.position < position), None)

    def meter_reading(self, reading: _Reading) -> tuple[_Entry | None, str | None]:
        """The MeterReading entry of a reading's block, and its href."""
        if reading.parent_reading is not None:
            return reading.parent_reading, reading.parent_reading.self_href
        block = reading.entry
        href = _up_to(block.self_href or block.up_href, "MeterReading")
        for candidate in self.by_kind.get("MeterReading", []):
            collection = block.up_href
            if (collection and collection in candidate.related) or (
                href and candidate.self_href == href
            ):
                return candidate, candidate.self_href
        if href:
            return None, href
        found = self.nearest("MeterReading", block.position)
        return found, found.self_href if found else None

    def usage_point(self, meter_reading: _Entry | None, href: str | None) -> _Entry | None:
        up_href = _up_to(href, "UsagePoint")
        collection = meter_reading.up_href if meter_reading else None
        for candidate in self.by_kind.get("UsagePoint", []):
            if (up_href and candidate.self_href == up_href) or (
                collection and collection in candidate.related
            ):
                return candidate
        if up_href:
            return None
        position = meter_reading.position if meter_reading else len(self.entries)
        return self.nearest("UsagePoint", position)


def read_espi_rows(content: bytes, max_bytes: int = MAX_XML_BYTES) -> pa.Table:
    """One text row per IntervalReading (COLUMNS, as written; None where the feed has no such
    element) plus `_source_line`, the line its <IntervalReading> opens on. A document above
    `max_bytes` is refused unread."""
    collector = parse(content, max_bytes)
    if not is_espi(collector):
        raise XmlRefused(
            "unknown_layout",
            "an XML file that is not a Green Button (ESPI) Atom feed: no layout reads it",
        )
    feed = _Feed(collector.entries)
    columns: dict[str, list[str | None]] = {name: [] for name in COLUMNS}
    lines: list[int] = []
    resolved: dict[int, dict[str, str | None]] = {}  # per block entry (and parent reading)
    for ordinal, reading in enumerate(collector.readings, start=1):
        key = id(reading.entry) if reading.parent_reading is None else -id(reading.entry)
        if key not in resolved:
            resolved[key] = _resolve(feed, reading)
        row: dict[str, str | None] = {
            **resolved[key],
            **reading.block,
            **reading.fields,
            "reading_quality": " ".join(q.strip() for q in reading.qualities) or None,
            "reading_ordinal": str(ordinal),
        }
        for name in COLUMNS:
            columns[name].append(row.get(name))
        lines.append(reading.line)
    table = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    table["_source_line"] = pa.array(lines, pa.int64())
    return pa.table(table)


def _resolve(feed: _Feed, reading: _Reading) -> dict[str, str | None]:
    meter_reading, reading_href = feed.meter_reading(reading)
    reading_type = (
        (feed.linked(meter_reading, "ReadingType") if meter_reading else None)
        or feed.nearest(
            "ReadingType", meter_reading.position if meter_reading else reading.entry.position,
            after=meter_reading is not None,
        )
    )  # fmt: skip
    usage_point = feed.usage_point(meter_reading, reading_href)
    local_time = (
        feed.linked(usage_point, "LocalTimeParameters") if usage_point else None
    ) or feed.nearest("LocalTimeParameters", reading.entry.position)
    usage_href = (usage_point.self_href if usage_point else None) or _up_to(
        reading_href, "UsagePoint"
    )
    row: dict[str, str | None] = {
        "usage_point": _resource_path(usage_href) or (usage_point.atom_id if usage_point else ""),
        "usage_point_atom_id": usage_point.atom_id if usage_point else None,
        "meter_reading": _segment_after(_resource_path(reading_href), "MeterReading"),
        "reading_type": _resource_path(reading_type.self_href) if reading_type else None,
    }
    for source, names in ((reading_type, READING_TYPE_FIELDS), (local_time, LOCAL_TIME_FIELDS)):
        for element, column in names.items():
            row[column] = source.fields.get(element) if source else None
    return row
