"""Interval exports as vendors write them, generated: delimiter, decimal mark, encoding, date
and time formats (split columns, unpadded days and months), units in the header text,
columns that are not energy, preambles before the header, ids in the preamble or file name.
Each file knows what it holds, so a test can compare a layout's reading of it with the truth."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import strategies as st

# Date formats as exports write them; those with separators may drop leading zeros of the
# day and month (1/2/2024).
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y")
UNIT_KWH = {"kWh": 1.0, "Wh": 0.001}  # to kWh per interval
METER_HEADERS = ("Meter ID", "MeterNo", "NMI", "Service Point", "Device Serial")
VALUE_WORDS = ("Usage", "Consumption", "Energy", "Import", "Delivered")
EXTRA_COLUMNS = {  # header -> value at row i: columns that must never become meters
    "Voltage (V)": lambda i: f"{229 + i % 3}.5",
    "Cost": lambda i: f"${0.1 + i % 5 / 100:.2f}",
    "Temperature": lambda i: f"{10 + i % 7}",
    "Reactive (kVARh)": lambda i: f"{i % 4 / 10:.1f}",
    "Notes": lambda i: "estimated" if i % 11 == 0 else "",
}


@dataclass
class VendorSpec:
    delimiter: str
    decimal_mark: str
    date_format: str
    unpadded: bool
    split_date_time: bool
    interval_minutes: int
    unit: str  # kWh, Wh or kW
    meter_header: str | None  # None: the id is in the preamble or the file name
    value_header: str
    meters: list[str]
    slots: int
    extras: list[str]
    preamble: list[str] = field(default_factory=list)
    start: datetime = datetime(2024, 1, 13)  # a day above 12: day-first and month-first differ
    encoding: str = "utf-8"
    bom: bool = False

    @property
    def file_name(self) -> str:
        return "vendor_export.csv" if self.meter_header else "Usage_0012345678_2024-01.csv"

    def stamp(self, slot: int) -> datetime:
        return self.start + timedelta(minutes=self.interval_minutes * slot)

    def value(self, meter_index: int, slot: int) -> float:
        return round(0.05 + ((slot * 7 + meter_index * 3) % 40) / 10, 3)

    @property
    def expected_kwh(self) -> float:
        factor = self.interval_minutes / 60 if self.unit == "kW" else UNIT_KWH[self.unit]
        return sum(
            self.value(m, s) * factor for m in range(len(self.meters)) for s in range(self.slots)
        )

    def _date(self, when: datetime) -> str:
        text = when.strftime(self.date_format)
        # a day or month of two digits starting with 0, never the year's digits
        return re.sub(r"(?<![0-9])0(?=[0-9](?![0-9]))", "", text) if self.unpadded else text

    def _number(self, value: float | str) -> str:
        text = f"{value:g}" if isinstance(value, float) else value
        return text.replace(".", ",") if self.decimal_mark == "," else text

    def _field(self, text: str) -> str:
        if self.delimiter in text or '"' in text:
            return '"' + text.replace('"', '""') + '"'
        return text

    def header(self) -> list[str]:
        stamp = ["Date", "Time"] if self.split_date_time else ["Interval Start"]
        meter = [self.meter_header] if self.meter_header else []
        return [*meter, *stamp, f"{self.value_header} ({self.unit})", *self.extras]

    def content(self) -> bytes:
        lines = [*self.preamble, self.delimiter.join(self._field(h) for h in self.header())]
        i = 0
        for m, meter in enumerate(self.meters):
            for slot in range(self.slots):
                when = self.stamp(slot)
                stamp = (
                    [self._date(when), when.strftime("%H:%M")]
                    if self.split_date_time
                    else [f"{self._date(when)} {when.strftime('%H:%M')}"]
                )
                row = [
                    *([meter] if self.meter_header else []),
                    *stamp,
                    self._number(self.value(m, slot)),
                    *(self._number(EXTRA_COLUMNS[e](i)) for e in self.extras),
                ]
                lines.append(self.delimiter.join(self._field(f) for f in row))
                i += 1
        data = ("\r\n" if self.delimiter == ";" else "\n").join(lines) + "\n"
        return (b"\xef\xbb\xbf" if self.bom else b"") + data.encode(self.encoding)


@st.composite
def vendor_specs(draw, loadable_today: bool | None = None) -> VendorSpec:
    """A vendor's export. loadable_today: True for files today's keys can declare (header on
    line 1, one timestamp column, a meter id column), False for files that need a new key."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal_mark = draw(st.sampled_from([".", ","])) if delimiter != "," else "."
    date_format = draw(st.sampled_from(DATE_FORMATS))
    unpadded = not date_format.startswith("%Y") and draw(st.booleans())
    needs_key = draw(st.booleans()) if loadable_today is None else not loadable_today
    split = needs_key and draw(st.booleans())
    meter_header = draw(st.sampled_from(METER_HEADERS))
    if needs_key and not split and draw(st.booleans()):
        meter_header = None
    preamble: list[str] = []
    if needs_key and (meter_header is None or draw(st.booleans())):
        filler = delimiter * draw(st.integers(0, 3))
        preamble = [f"Name{delimiter}A. Customer{filler}", f"Account Number{delimiter}0123456"]
        preamble += draw(st.sampled_from([[], [""], ["Interval data", ""]]))
    encoding = draw(st.sampled_from(["utf-8", "latin-1"]))
    meters = draw(st.sampled_from([["M-001"], ["M-001", "M-002"], ["6001234567"]]))
    if encoding == "latin-1" and draw(st.booleans()):
        meters = ["Zähler-7"]
    return VendorSpec(
        delimiter=delimiter,
        decimal_mark=decimal_mark,
        date_format=date_format,
        unpadded=unpadded,
        split_date_time=split,
        interval_minutes=draw(st.sampled_from([5, 15, 30, 60])),
        unit=draw(st.sampled_from(["kWh", "Wh", "kW"])),
        meter_header=meter_header,
        value_header=draw(st.sampled_from(VALUE_WORDS)),
        meters=meters if meter_header else meters[:1],
        slots=draw(st.integers(3, 30)),
        extras=draw(st.lists(st.sampled_from(sorted(EXTRA_COLUMNS)), unique=True, max_size=3)),
        preamble=preamble,
        encoding=encoding,
        bom=encoding == "utf-8" and draw(st.booleans()),
    )
