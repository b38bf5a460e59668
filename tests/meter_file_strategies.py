"""Hypothesis strategies for meter files in every layout, valid rows mixed with hostile fields.

A strategy draws a `Delivery`: files (name and text) and, for every value that is valid by
construction, where it sits (file, line, value position) and what the pipeline must publish
(meter, channel, UTC interval start, kW). Hostile fields are the ones users really send:
numbers no store can hold, non-finite spellings, impossible dates, leap seconds, 24:00, odd
offsets, epoch stamps, 9-digit fractions, ids that are empty, invisible, right-to-left, emoji
or 1,000 characters long, unknown units and interval lengths.

Valid values never share an interval with another value of the same meter and channel (a
hostile row that happens to parse could otherwise turn them into a conflicting duplicate): they
sit on even grid slots, hostile rows on odd ones or off the grid.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from hypothesis import strategies as st

DAY0 = datetime(2024, 1, 8)  # January: no DST anywhere the layouts live


@dataclass
class Expected:
    file: str
    line: int
    position: int
    meter_id: str
    channel: str
    start_utc: str  # ISO, naive UTC
    kw: float


@dataclass
class Delivery:
    files: dict[str, str] = field(default_factory=dict)
    expected: list[Expected] = field(default_factory=list)
    # hand-made regression cases may also pin the verdict of given values: "file:line:pos"
    reasons: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {
                "files": self.files,
                "expected": [asdict(e) for e in self.expected],
                "reasons": self.reasons,
            },
            indent=1,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Delivery:
        raw = json.loads(text)
        return cls(raw["files"], [Expected(**e) for e in raw["expected"]], raw.get("reasons", {}))


# -- fields ---------------------------------------------------------------------------------

HOSTILE_NUMBERS = [
    "1e308", "1e309", "-1e400", "1e-400", "1" + "0" * 40, "-0", "+.5", "NaN", "nan", "inf",
    "-Infinity", "Infinity", "", " ", "abc", "1.2.3", "0x1A", "1e", "e5", ".", "-", "+", "--1",
    "1..2", "\u0661\u0662", "\uff11\uff12", "1_000", "1,234.5", "12 345", "9" * 400,
    "0." + "0" * 120 + "1", "1e99", "-1e99", "5e-324", "1e-99", "-3.5", "1e5", "99999999",
    "\t1.5", "1.5\u00a0", "Null", "NONE", "1/2",
]  # fmt: skip
HOSTILE_IDS = [
    "", " ", "   ", "M\x01X", "\x7fDEL", "\u202eabc", "\u200bzw", "\ufeffbom", "\U0001f600meter",
    "x" * 1000, "Abc", "abc", "ABC", "a/b", "../../etc", "a=b", "%2F", "'; drop table x; --",
    "\U0001f600" * 21, "\u05d0\u05d1\u05d2", "meter\u0085nel", "caf\u00e9",
]  # fmt: skip
HOSTILE_UNITS = ["kilowatt", "kw h", "", "KWH ", " kW", "mWh", "k W", "litres", "\u00b5W", "VA"]
HOSTILE_INTERVALS = ["0", "-30", "99999999999999", "1e3", "abc", "7", "30.0", "+30", " 30 "]


def valid_number(max_value: float = 20) -> st.SearchStrategy[tuple[str, float]]:
    """A number as meters write it, and its value."""
    plain = st.decimals(min_value=0, max_value=max_value, places=3, allow_nan=False)
    return plain.flatmap(
        lambda d: st.sampled_from(
            [str(d), f"+{d}", f"0{d}", f" {d} ", f"{float(d):e}", f"{float(d)!r}"]
        ).map(lambda text: (text, float(text)))
    )


def slot_time(slot: int, minutes: int = 30) -> datetime:
    return DAY0 + timedelta(minutes=minutes * slot)


def hostile_iso(slot: int) -> st.SearchStrategy[str]:
    t = slot_time(slot)
    day = t.strftime("%Y-%m-%d")
    return st.sampled_from(
        [
            "0001-01-01T00:00:00Z", "9999-12-31T23:30:00Z", "10000-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z", f"{day}T24:00:00Z", f"{day}T23:59:60Z",
            t.strftime("%Y-%m-%dT%H:%M:00+14:00"), t.strftime("%Y-%m-%dT%H:%M:00-12:00"),
            t.strftime("%Y-%m-%dT%H:%M:00+05:45"), str(int(t.timestamp())),
            str(int(t.timestamp()) * 1000), t.strftime("%Y-%m-%dT%H:%M:00.123456789Z"),
            t.strftime("%Y-%m-%dT%H:%M:00+99:99"), "2024-13-01T00:00:00Z", f"{day}T25:00:00Z",
            t.strftime("%Y-%m-%dT%H:07:00Z"), "", "yesterday", t.strftime("%d/%m/%Y %H:%M"),
            "1970-01-01T00:00:00Z", "2999-01-01T00:00:00Z", t.strftime("%Y-%m-%dT%H:%M:00.5Z"),
        ]
    )  # fmt: skip


def hostile_local(slot: int, fmt: str, minutes: int = 30) -> st.SearchStrategy[str]:
    t = slot_time(slot, minutes)
    return st.sampled_from(
        [
            t.strftime(fmt).replace("2024", "0001"), t.strftime(fmt).replace("2024", "9999"),
            "30.02.2024 00:00" if fmt.startswith("%d") else "2024-02-30 00:00:00",
            t.strftime(fmt).replace(t.strftime("%H:%M"), "24:00"),
            t.strftime(fmt).replace(t.strftime("%H:%M"), "23:61"), str(int(t.timestamp())),
            "", "??", t.strftime(fmt) + ".123456789", (t + timedelta(minutes=7)).strftime(fmt),
        ]
    )  # fmt: skip


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _no_line_breaks(text: str) -> bool:
    return not any(c in text for c in "\n\r\x00\x0b\x0c\x1c\x1d\x1e\u2028\u2029")


hostile_number = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS), st.text(max_size=12).filter(_no_line_breaks)
)
hostile_id = st.one_of(st.sampled_from(HOSTILE_IDS), st.text(max_size=8).filter(_no_line_breaks))


def _not_a_valid_meter(text: str) -> bool:
    return not text.strip(" ").startswith("V")


def valid_id(base: str, tag: str) -> str:
    """A valid meter id (they all start with V) in the namespace `tag`: examples run together
    in one build never share a meter (or a meter could hold another example's duplicates)."""
    return f"V{tag}_{base[1:]}" if tag else base


# -- layouts --------------------------------------------------------------------------------


@st.composite
def canonical_file(draw, name: str = "canonical.csv", tag: str = "") -> Delivery:
    units = {"kWh": ("energy", 1.0), "kW": ("power", 1.0), "Wh": ("energy", 0.001),
             "W": ("power", 0.001), "KWH": ("energy", 1.0), " kw ": ("power", 1.0),
             "MWh": ("energy", 1000.0)}  # fmt: skip
    delivery = Delivery()
    rows = [["meter_id", "timestamp", "value", "unit", "interval_minutes", "channel"]]
    for meter in range(draw(st.integers(1, 3))):
        meter_id = valid_id(f"VC{meter}", tag)
        for slot in sorted(draw(st.sets(st.integers(0, 40), max_size=12))):
            text, value = draw(valid_number(max_value=5))
            unit = draw(st.sampled_from(sorted(units)))
            kind, scale = units[unit]
            interval = draw(st.sampled_from(["30", ""]))
            t = slot_time(2 * slot)
            stamp = draw(
                st.sampled_from(
                    [
                        t.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        t.strftime("%Y-%m-%d %H:%M"),
                        (t + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00"),
                        t.strftime("%Y-%m-%dT%H:%M:%S.000000000z"),
                    ]
                )
            )
            rows.append([f" {meter_id}", stamp, text, unit, interval, ""])
            kw = value * scale * (60.0 / 30 if kind == "energy" else 1)
            delivery.expected.append(
                Expected(name, len(rows), 1, meter_id, "general", t.isoformat(), kw)
            )
    for _ in range(draw(st.integers(1, 25))):
        slot = 2 * draw(st.integers(0, 40)) + 1
        meter_id = draw(
            st.one_of(hostile_id.filter(_not_a_valid_meter), st.just(valid_id("VC0", tag)))
        )
        value = draw(st.one_of(hostile_number, valid_number().map(lambda p: p[0])))
        stamp = draw(st.one_of(hostile_iso(slot), st.just(slot_time(slot).isoformat() + "Z")))
        unit = draw(st.one_of(st.sampled_from(HOSTILE_UNITS), st.just("kWh")))
        interval = draw(st.one_of(st.sampled_from(HOSTILE_INTERVALS), st.just("30")))
        channel = draw(st.one_of(st.just(""), hostile_id))
        rows.append([meter_id, stamp, value, unit, interval, channel])
    delivery.files[name] = csv_text(rows)
    return delivery


@st.composite
def semicolon_file(draw, name: str = "semicolon.csv", tag: str = "") -> Delivery:
    delivery = Delivery()
    meter_id = valid_id("VDE01", tag)
    rows = [["Zaehlpunkt", "Zeitstempel", "Leistung_kW"]]
    fmt = "%d.%m.%Y %H:%M"
    for slot in sorted(draw(st.sets(st.integers(0, 40), max_size=12))):
        text, value = draw(valid_number())
        t = slot_time(2 * slot, 15)
        rows.append([meter_id, (t + timedelta(hours=1)).strftime(fmt), text.replace(".", ",")])
        delivery.expected.append(
            Expected(name, len(rows), 1, meter_id, "general", t.isoformat(), value)
        )
    for _ in range(draw(st.integers(1, 15))):
        slot = 2 * draw(st.integers(0, 40)) + 1
        hostile = draw(st.one_of(hostile_id.filter(_not_a_valid_meter), st.just(meter_id)))
        stamp = draw(
            st.one_of(hostile_local(slot, fmt, 15), st.just(slot_time(slot, 15).strftime(fmt)))
        )
        rows.append([hostile, stamp, draw(hostile_number)])
    delivery.files[name] = csv_text(rows, ";")
    return delivery


@st.composite
def wide_file(draw, name: str = "wide.csv", tag: str = "") -> Delivery:
    delivery = Delivery()
    good = [valid_id(f"VW{k}", tag) for k in range(draw(st.integers(1, 3)))]
    bad = draw(
        st.lists(
            hostile_id.filter(lambda s: _not_a_valid_meter(s) and s.strip() != "local_time"),
            max_size=2,
            unique=True,
        )
    )
    header = ["local_time", *good, *bad]
    rows = [header]
    fmt = "%Y-%m-%d %H:%M"
    slots = sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=10)))
    for slot in slots:
        t = slot_time(2 * slot)
        row = [t.strftime(fmt)]
        for position, meter_id in enumerate(good, start=2):
            if draw(st.booleans()):
                text, value = draw(valid_number())
                row.append(text)
                delivery.expected.append(
                    Expected(
                        name, len(rows) + 1, position, meter_id, "general", t.isoformat(), value * 2
                    )
                )
            else:
                row.append(draw(hostile_number))
        row += [draw(hostile_number) for _ in bad]
        rows.append(row)
    for _ in range(draw(st.integers(0, 5))):
        slot = 2 * draw(st.integers(0, 40)) + 1
        rows.append(
            [draw(hostile_local(slot, fmt))] + [draw(valid_number())[0] for _ in header[1:]]
        )
    delivery.files[name] = csv_text(rows)
    return delivery


SGSC_HEADER = ["CUSTOMER_ID", "READING_DATETIME", "GENERAL_SUPPLY_KWH", "CONTROLLED_LOAD_KWH",
               "GROSS_GENERATION_KWH", "NET_GENERATION_KWH", "OTHER_KWH"]  # fmt: skip
SGSC_CHANNELS = ["general", "controlled_load", "gross_generation", "net_generation", "other"]


@st.composite
def sgsc_file(draw, name: str = "sgsc.csv", tag: str = "") -> Delivery:
    delivery = Delivery()
    meter_id = valid_id("V8", tag)
    rows = [SGSC_HEADER]
    fmt = "%Y-%m-%d %H:%M:%S"
    for slot in sorted(draw(st.sets(st.integers(0, 40), max_size=8))):
        t = slot_time(2 * slot)
        row = [meter_id, (t + timedelta(hours=10)).strftime(fmt)]
        for column, channel in zip(SGSC_HEADER[2:], SGSC_CHANNELS, strict=True):
            position = sorted(SGSC_HEADER[2:]).index(column) + 1  # registers by column name
            if draw(st.booleans()):
                text, value = draw(valid_number(max_value=2))
                row.append(text)
                delivery.expected.append(
                    Expected(
                        name, len(rows) + 1, position, meter_id, channel, t.isoformat(), value * 2
                    )
                )
            else:
                row.append(draw(hostile_number))
        rows.append(row)
    for _ in range(draw(st.integers(0, 6))):
        slot = 2 * draw(st.integers(0, 40)) + 1
        rows.append([draw(st.one_of(hostile_id, st.just(meter_id))), draw(hostile_local(slot, fmt))]
                    + [draw(hostile_number) for _ in SGSC_CHANNELS])  # fmt: skip
    delivery.files[name] = csv_text(rows)
    return delivery


@st.composite
def cumulative_file(draw, name: str = "cumulative.csv", tag: str = "") -> Delivery:
    """Register reads: balance and parity only (what a read after a gap publishes is VEE's
    business, tested elsewhere)."""
    rows = [["meter_id", "read_at", "register_kwh", "interval_minutes"]]
    meter_id = valid_id("V9", tag)
    register = draw(st.floats(0, 99999, allow_nan=False))
    for slot in sorted(draw(st.sets(st.integers(0, 40), max_size=12))):
        register += draw(st.floats(0, 3, allow_nan=False))
        rows.append([meter_id, slot_time(2 * slot).isoformat() + "Z", f"{register:.3f}", "30"])
    for _ in range(draw(st.integers(0, 10))):
        slot = 2 * draw(st.integers(0, 40)) + 1
        rows.append([draw(st.one_of(hostile_id, st.just(meter_id))), draw(hostile_iso(slot)),
                     draw(hostile_number), draw(st.sampled_from(HOSTILE_INTERVALS))])  # fmt: skip
    return Delivery({name: csv_text(rows)})


@st.composite
def nem12_file(draw, name: str = "nem12.csv", tag: str = "") -> Delivery:
    delivery = Delivery()
    nmi = valid_id("VNEM000001", tag)
    rows = [["100", "NEM12", "202401150000", "MDPUPLOAD", "NEMMCO"]]
    rows.append(["200", nmi, "E1", "1", "E1", "N1", "METER1", "KWH", "30", ""])
    for day in sorted(draw(st.sets(st.integers(0, 9), min_size=1, max_size=3))):
        date = DAY0 + timedelta(days=day)
        values = []
        line = len(rows) + 1
        for interval in range(1, 49):
            if draw(st.integers(0, 5)) == 0:
                values.append(draw(hostile_number.filter(lambda s: "," not in s)))
                continue
            text, value = draw(valid_number(max_value=2))
            values.append(text)
            start = date + timedelta(minutes=30 * (interval - 1)) - timedelta(hours=10)
            delivery.expected.append(
                Expected(name, line, interval, nmi, "general", start.isoformat(), value * 2)
            )
        rows.append(["300", date.strftime("%Y%m%d"), *values, "A", "", "", "20240115000000", ""])
    # A block the pipeline cannot use as it stands: its values get verdicts all the same.
    rows.append(["200", draw(hostile_id.filter(lambda s: "," not in s)), "E1", "1", "E1", "N1",
                 "METER2", draw(st.sampled_from(["KWH", *HOSTILE_UNITS])),
                 draw(st.sampled_from(["30", "15", *HOSTILE_INTERVALS])), ""])  # fmt: skip
    for _ in range(draw(st.integers(0, 2))):
        day = draw(st.sampled_from(["20240230", "00010101", "99991231", "2024011", "", "x"]))
        rows.append(
            [
                "300",
                day,
                *[draw(hostile_number.filter(lambda s: "," not in s)) for _ in range(48)],
                "A",
                "",
                "",
                "",
                "",
            ]
        )
    rows.append(["900"])
    delivery.files[name] = csv_text(rows)
    return delivery


GREEN_BUTTON_USAGE = {  # variant -> usage header fields, each (header, channel)
    "units": [("USAGE", "general")],
    "kwh": [("USAGE (kWh)", "general")],
    "import_export": [("IMPORT (kWh)", "general"), ("EXPORT (kWh)", "export")],
}
GREEN_BUTTON_PREAMBLE = [
    "Name,SAMPLE", 'Address,"1 MAIN ST, TOWN, ST 00000"', ",,,", "",
    "Report generated by a portal", "Bill Period,12/1/2023 - 1/1/2024",
]  # fmt: skip
GB_IDS = st.text("0123456789ABCDEFGHJK-", min_size=1, max_size=12).filter(
    lambda s: s.strip("-") == s
)


@st.composite
def green_button_file(draw, name: str = "gb_download.csv", tag: str = "") -> Delivery:
    """A Green Button "Download My Data" CSV (the built-in green_button_csv layout, local time
    America/Los_Angeles): any preamble, the meter id from the Service line, else the Account
    Number (maybe an Excel text formula), else the file name; one usage variant; valid
    electric hours (kW = kWh in an hour), gas rows (not_selected) and hostile electric rows."""
    delivery = Delivery()
    variant = draw(st.sampled_from(sorted(GREEN_BUTTON_USAGE)))
    usage = GREEN_BUTTON_USAGE[variant]
    lines = draw(st.lists(st.sampled_from(GREEN_BUTTON_PREAMBLE), max_size=4))
    # ("-" cannot start an id: "T<tag>-" keeps each example's ids apart)
    ids = GB_IDS.map(lambda s: f"T{tag}-{s}") if tag else GB_IDS
    service, account = draw(st.none() | ids), draw(st.none() | ids)
    if account is not None:
        excel = draw(st.booleans())
        lines.append(f'Account Number,"=""{account}"""' if excel else f"Account Number,{account}")
    if service is not None:
        lines.append(f"Service,{service}")
    meter = service or account or name.rsplit(".", 1)[0]
    header = ["TYPE", "DATE", "START TIME", "END TIME", *(h for h, _ in usage)]
    header += ["UNITS"] if variant == "units" else []
    header += ["COST", "NOTES"]
    # a value's position: its usage column's place in this file's header (found per file, so
    # no other file's columns can move it)
    positions = {h: header.index(h) + 1 for h, _ in usage}
    rows: list[list[str]] = []
    first_line = len(lines) + 2
    for slot in sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=8))):
        local = slot_time(2 * slot, 60)
        date = draw(st.sampled_from([local.strftime("%Y-%m-%d"),
                                     f"{local.month}/{local.day}/{local.year}"]))  # fmt: skip
        start = draw(st.sampled_from([local.strftime("%H:%M"), f"{local.hour}:00"]))
        values = [draw(valid_number(max_value=5)) for _ in usage]
        cells = [text for text, _ in values] + (["kWh"] if variant == "units" else [])
        notes = draw(st.sampled_from(["", "Estimated", "ACTUAL"]))
        line = first_line + len(rows)
        rows.append(["Electric usage", date, start, local.strftime("%H:59"), *cells, "$0.12",
                     notes])  # fmt: skip
        start_utc = (local + timedelta(hours=8)).isoformat()  # PST
        for (header_text, channel), (_, value) in zip(usage, values, strict=True):
            delivery.expected.append(Expected(name, line, positions[header_text], meter,
                                              channel, start_utc, value))  # fmt: skip
    width = len(usage) + (variant == "units")
    for _ in range(draw(st.integers(0, 6))):
        local = slot_time(2 * draw(st.integers(0, 40)) + 1, 60)
        kind = draw(st.sampled_from(["Natural gas usage", "Electric usage", "Water", ""]))
        date = draw(st.sampled_from([local.strftime("%Y-%m-%d"), "2/30/2024", "13/1/2024",
                                     "", "2024-01-08T00"]))  # fmt: skip
        start = draw(st.sampled_from([local.strftime("%H:%M"), "24:00", "x", "", "1:5"]))
        cells = [draw(hostile_number.filter(lambda t: "," not in t and '"' not in t))
                 for _ in range(width)]  # fmt: skip
        if variant == "units":
            cells[-1] = draw(st.sampled_from(["therms", "kWh", *HOSTILE_UNITS]))
        rows.append([kind, date, start, local.strftime("%H:59"), *cells, "$1", ""])
    # the hostile rows sit after the valid ones; a file's rows stay in line order
    delivery.files[name] = "".join(f"{line}\n" for line in lines) + csv_text([header, *rows])
    return delivery


@st.composite
def deliveries(draw, tag: str = "") -> Delivery:
    """One file of every layout, each with valid and hostile rows. With a tag, every file name
    starts with it and every valid meter id is in its namespace, so deliveries of different
    tags can be loaded together and judged each on its own."""
    merged = Delivery()
    prefix = f"{tag}_" if tag else ""
    for layout, name in (
        (canonical_file, "canonical.csv"), (semicolon_file, "semicolon.csv"),
        (wide_file, "wide.csv"), (sgsc_file, "sgsc.csv"), (cumulative_file, "cumulative.csv"),
        (nem12_file, "nem12.csv"), (espi_file, "green_button.xml"),
        (espi_file_without_ids, "green_button_no_ids.xml"), (green_button_file, "gb_download.csv"),
    ):  # fmt: skip
        part = draw(layout(name=prefix + name, tag=tag))
        merged.files.update(part.files)
        merged.expected.extend(part.expected)
    return merged


# -- Green Button XML (NAESB ESPI) ----------------------------------------------------------

ESPI_BASE = "https://utility.example/DataCustodian/espi/1_1/resource"
HOSTILE_EPOCHS = ["", "abc", "1.5", "-5", "99999999999999", "1e9", " ", "+1704700800x"]
HOSTILE_SECONDS = ["", "0", "-900", "90", "abc", "1e3", "86400", "99999999999999"]
HOSTILE_QUALITY = ["0", "7", "8", "9", "12", "17", "19", "abc", "", "8 9"]


def _espi_tag(prefixed: bool, name: str) -> str:
    return f"espi:{name}" if prefixed else name


@dataclass
class _EspiWriter:
    """Writes a feed line by line, so each IntervalReading's line is known."""

    prefixed: bool
    lines: list[str] = field(default_factory=list)
    readings: int = 0

    def el(self, name: str, text: str) -> str:
        tag = _espi_tag(self.prefixed, name)
        return f"<{tag}>{xml_escape(text)}</{tag}>"

    def resource(self, kind: str, inner: list[str]) -> None:
        tag = _espi_tag(self.prefixed, kind)
        xmlns = "" if self.prefixed else ' xmlns="http://naesb.org/espi"'
        self.lines.append(f"    <content><{tag}{xmlns}>")
        self.lines.extend(f"      {line}" for line in inner)
        self.lines.append(f"    </{tag}></content>")

    def entry(self, links: dict[str, list[str]], kind: str, inner: list[str]) -> None:
        self.lines.append("  <entry>")
        for rel, hrefs in links.items():
            self.lines.extend(f'    <link rel="{rel}" href="{href}"/>' for href in hrefs)
        self.resource(kind, inner)
        self.lines.append("  </entry>")

    def reading(self, start: str, seconds: str, value: str, quality: str | None) -> int:
        """Adds an IntervalReading; returns the line it opens on (1-based)."""
        self.readings += 1
        line = len(self.lines) + 1
        quality_xml = (
            "" if quality is None else
            f"{self.el_open('ReadingQuality')}{self.el('quality', quality)}"
            f"{self.el_close('ReadingQuality')}"
        )  # fmt: skip
        self.lines.append(
            f"      {self.el_open('IntervalReading')}{quality_xml}{self.el_open('timePeriod')}"
            f"{self.el('duration', seconds)}{self.el('start', start)}"
            f"{self.el_close('timePeriod')}{self.el('value', value)}"
            f"{self.el_close('IntervalReading')}"
        )
        return line

    def el_open(self, name: str) -> str:
        return f"<{_espi_tag(self.prefixed, name)}>"

    def block_open(self) -> str:
        xmlns = "" if self.prefixed else ' xmlns="http://naesb.org/espi"'
        return f"<{_espi_tag(self.prefixed, 'IntervalBlock')}{xmlns}>"

    def el_close(self, name: str) -> str:
        return f"</{_espi_tag(self.prefixed, name)}>"


def _xml_legal(text: str) -> bool:
    """Characters XML 1.0 can carry at all (a file with others is not XML: dead-lettered)."""
    return all(
        c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
        for c in text
    )


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _espi_head(prefixed: bool, preamble: bool) -> list[str]:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    if preamble:
        lines.append('<?xml-stylesheet type="text/xsl" href="GreenButtonDataStyleSheet.xslt"?>')
        lines.extend(["<!--", *["=" * 60] * 5, "Sample Green Button file: not real data", "-->"])
    espi_ns = ' xmlns:espi="http://naesb.org/espi"' if prefixed else ""
    lines.append(f'<feed xmlns="http://www.w3.org/2005/Atom"{espi_ns}>')
    lines.append("  <title>Green Button Subscription Feed</title>")
    return lines


@st.composite
def espi_file(draw, name: str = "green_button.xml", tag: str = "") -> Delivery:
    """A Green Button feed: one UsagePoint (New York time), a forward Wh (or W) series with
    valid readings on even slots and hostile ones on odd slots, an export series, sometimes a
    cumulative register series beside the forward one (its channel then names its
    MeterReading) and a voltage series (never a meter)."""
    delivery = Delivery()
    prefixed = draw(st.booleans())
    feed = _EspiWriter(prefixed)
    feed.lines.extend(_espi_head(prefixed, draw(st.booleans())))
    point = f"{ESPI_BASE}/RetailCustomer/7{tag}/UsagePoint/UP{draw(st.integers(1, 99))}"
    local_time = f"{ESPI_BASE}/LocalTimeParameters/1"
    feed.entry({"self": [point], "related": [f"{point}/MeterReading", local_time]},
               "UsagePoint", [feed.el("kind", "0")])  # fmt: skip
    zone = [("tzOffset", "-18000"), ("dstOffset", "3600"), ("dstStartRule", "360E2000"),
            ("dstEndRule", "B40E2000")]  # fmt: skip
    feed.entry({"self": [local_time]}, "LocalTimeParameters", [feed.el(*z) for z in zone])
    with_register = draw(st.booleans())
    series = [("1", "1", "72"), ("2", "19", draw(st.sampled_from(["72", "38"])))]
    if with_register:
        series.append(("3", "1", "72"))
    if draw(st.booleans()):
        series.append(("4", "1", "29"))
    for reading_id, direction, uom in series:
        meter_reading = f"{point}/MeterReading/{reading_id}"
        reading_type = f"{ESPI_BASE}/ReadingType/{reading_id}"
        multiplier = draw(st.sampled_from([-1, 0, 0, 1, 3]))
        minutes = draw(st.sampled_from([15, 30, 60]))
        cumulative = reading_id == "3"
        feed.entry({"self": [meter_reading], "up": [f"{point}/MeterReading"],
                    "related": [f"{meter_reading}/IntervalBlock", reading_type]},
                   "MeterReading", [])  # fmt: skip
        feed.entry({"self": [reading_type]}, "ReadingType",
                   [feed.el("accumulationBehaviour", "1" if cumulative else "4"),
                    feed.el("flowDirection", direction), feed.el("uom", uom),
                    feed.el("powerOfTenMultiplier", str(multiplier)),
                    feed.el("intervalLength", str(minutes * 60))])  # fmt: skip
        feed.lines.append("  <entry>")
        feed.lines.append(f'    <link rel="up" href="{meter_reading}/IntervalBlock"/>')
        feed.lines.append(f"    <content>{feed.block_open()}")
        register = draw(st.integers(0, 10**6))
        for slot in sorted(draw(st.sets(st.integers(0, 40), min_size=1, max_size=12))):
            start = DAY0 + timedelta(minutes=minutes * 2 * slot)
            if cumulative:
                register += draw(st.integers(0, 3000))
                text = str(register)
            else:
                text, value = draw(valid_number(max_value=2000))
            quality = draw(st.sampled_from([None, "0", "17", "8"]))
            line = feed.reading(str(int(start.timestamp())), str(minutes * 60), text, quality)
            if not cumulative and uom in ("72", "38"):
                scaled = value * 10.0**multiplier / 1000
                kw = scaled * 60 / minutes if uom == "72" else scaled
                channel = "general" if direction == "1" else "export"
                if with_register and direction == "1":
                    channel = f"general_{reading_id}"
                meter = point.rsplit("/resource/", 1)[1]
                delivery.expected.append(
                    Expected(name, line, feed.readings, meter, channel, start.isoformat(), kw)
                )
        for _ in range(0 if cumulative else draw(st.integers(0, 6))):
            slot = 2 * draw(st.integers(0, 40)) + 1
            start = str(int((DAY0 + timedelta(minutes=minutes * slot)).timestamp()))
            feed.reading(
                draw(st.sampled_from([start, start, *HOSTILE_EPOCHS])),
                draw(st.sampled_from([str(minutes * 60), *HOSTILE_SECONDS])),
                draw(hostile_number.filter(_xml_legal)),
                draw(st.sampled_from([None, *HOSTILE_QUALITY])),
            )
        feed.lines.append(f"    {feed.el_close('IntervalBlock')}</content>")
        feed.lines.append("  </entry>")
    feed.lines.append("</feed>")
    if draw(st.booleans()):  # minified, as some utilities send it: every reading on line 1
        delivery.files[name] = "".join(line.strip() for line in feed.lines)
        for expected in delivery.expected:
            expected.line = 1
    else:
        delivery.files[name] = "\n".join(feed.lines) + "\n"
    return delivery


@st.composite
def espi_file_without_ids(draw, name: str = "green_button_no_ids.xml", tag: str = "") -> Delivery:
    """A feed whose UsagePoint and MeterReading have no links and no ids: every value is judged
    (missing_meter_id), none stops the build. (It has no meter, so no namespace: `tag` unused.)"""
    prefixed = draw(st.booleans())
    feed = _EspiWriter(prefixed)
    feed.lines.extend(_espi_head(prefixed, False))
    feed.entry({}, "UsagePoint", [feed.el("kind", "0")])
    feed.entry({}, "MeterReading", [])
    feed.entry({}, "ReadingType", [feed.el("uom", "72"), feed.el("intervalLength", "1800")])
    feed.lines.append(f"  <entry><content>{feed.block_open()}")
    for slot in range(draw(st.integers(1, 4))):
        start = str(int((DAY0 + timedelta(minutes=30 * slot)).timestamp()))
        feed.reading(start, "1800", draw(valid_number())[0], None)
    feed.lines.append(f"    {feed.el_close('IntervalBlock')}</content></entry>")
    feed.lines.append("</feed>")
    return Delivery({name: "\n".join(feed.lines) + "\n"})
