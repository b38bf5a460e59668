"""Write realistic household smart-meter files, with known defects, into a landing folder.

Four layouts of dlt_pipelines/layouts.yml are written, each from its own random stream, so a
file depends only on the arguments that shape it (same arguments, byte-identical files; asking
for fewer layouts does not change the others):

  canonical   canonical_<start>_<days>d.csv, or one canonical_<YYYY-MM-DD>.csv per UTC day
              with --split day. meter_id,timestamp,value,unit,interval_minutes; MTR-00001...;
              UTC interval starts (2024-03-18T00:00:00Z). Each meter keeps one unit from the
              cycle kWh, kW, W, Wh, KWH, kW, W, Wh, kWh, " kw ", W, Wh (KWH and " kw " are odd
              spellings of valid units, not defects). kW and W are average demand. Decimals:
              kWh and kW 4, Wh 2, W 1. Rows are grouped by UTC day, meter by meter within a day.
  wide        wide_<start>_<days>d.csv. local_time,WIDE-0001,...: Europe/London wall-clock
              interval starts of whole local days, kWh per interval (3 decimals). A DST change
              gives 46 or 50 rows that day (a repeated hour is written twice, in time order).
  cumulative  cumulative_<start>_<days>d.csv. meter_id,read_at,register_kwh,interval_minutes;
              REG-0001...; read_at is the UTC end of an interval. Each meter starts with an
              opening read at the range start, so every interval of the range has a difference.
  nem12       nem12_<start>_<days>d.csv. AEMO NEM12, CRLF lines: a 100 header, per NMI
              (NMI0000001...) a 200 record (E1, KWH) and one 300 record per AEST day (UTC+10, no
              DST), 400 records after a 300 record of quality method V, a 900 trailer.

Meters: canonical N (--meters), wide and cumulative max(2, N//8), nem12 max(1, N//12).

Defects (none with --clean) are placed at random but deterministically. In the canonical,
wide and cumulative files none comes within two hours of another on the same meter or within
three hours of a range end, so each has one expected outcome. The catalogue (--expected PATH)
is a JSON list with one object per defect:

  layout, file   layout name and the file's name inside --out
  kind           see below
  meter_id       the meter, column or NMI as written; channel is always "general"
  start, end     UTC ISO 8601 starts of the first and last affected interval (for a row with a
                 bad timestamp: the stamp as written, or null when it cannot be parsed)
  count          intervals from start to end (for an extra row: the number of extra rows, 1)
  note           what was written, in words

Canonical kinds. A *replacement* row takes the place of its interval's only reading, so that
interval has no valid reading left; *extra* rows come right after the row of their interval.
  short_gap, long_gap       rows missing (1-4 intervals; 6 hours; one whole UTC day)
  exact_duplicate           extra: the interval's line repeated verbatim
  conflicting_duplicate     extra: same meter and timestamp, a different value
  negative_value            replacement: the reading negated
  zero_run                  36 hours of readings exactly 0
  constant_run              16 hours of one identical non-zero reading
  spike                     one reading 12-20 times the day's third highest (2-40 kW)
  over_max_demand           one reading of 55-80 kW average demand
  unparseable_value         replacement: value `n/a` or `12..5`
  empty_value               replacement: value empty
  invalid_unit              replacement: unit `kVAh` or `litres`, value as usual
  off_grid_timestamp        replacement: the reading stamped 7 minutes after its interval start
  out_of_range_timestamp    extra: a reading stamped in 1999
  unparseable_timestamp     extra: a reading stamped 2024-13-45T99:00:00Z
With --split day a defect spanning days names the file of its first interval.
Other layouts: wide short_gap (two empty cells) and negative_value; cumulative missing_read
(the next difference spans two intervals) and counter_reset (the register restarts from 0 at
the start of the interval); nem12 estimated_intervals (a V day whose 400 records mark a few
intervals E52, reason code 79).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

LAYOUTS = ("canonical", "wide", "cumulative", "nem12")
CHANNEL = "general"
LONDON = ZoneInfo("Europe/London")
NEM_MARKET_OFFSET = dt.timedelta(hours=10)  # AEST, the NEM's market time all year
MIN_KWH_PER_HALF_HOUR = 0.005  # keeps natural readings above 0, so only the zero run is 0
DEFECT_MARGIN = dt.timedelta(hours=2)  # least distance between two defects on one meter
RANGE_EDGE = dt.timedelta(hours=3)  # no defect this close to the start or end of the data
MAX_PLACEMENT_TRIES = 10_000
NO_ROOM = "not enough room for the sample's defects: raise --meters or --days, or use --clean"
LOAD_STREAM, DEFECT_STREAM = 0, 1
CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=65_536)


@dataclass(frozen=True)
class Settings:
    out: Path
    meters: int
    days: int
    interval: int
    start: dt.date
    seed: int
    layouts: tuple[str, ...]
    split_by_day: bool
    inject_defects: bool
    expected: Path | None

    @property
    def slots_per_day(self) -> int:
        return 24 * 60 // self.interval

    def slots(self, span: dt.timedelta) -> int:
        return int(span / dt.timedelta(minutes=self.interval))

    def range_name(self, layout: str) -> str:
        return f"{layout}_{self.start.isoformat()}_{self.days}d.csv"

    def rng(self, layout: str, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, LAYOUTS.index(layout), stream])


@dataclass(frozen=True, kw_only=True)
class Defect:
    """One entry of the expectation catalogue."""

    layout: str
    file: str
    kind: str
    meter_id: str
    channel: str = CHANNEL
    start: str | None
    end: str | None
    count: int
    note: str


@dataclass(frozen=True)
class Unit:
    """A unit as a meter writes it, and how a kWh-per-interval figure is expressed in it."""

    text: str
    per_kwh: float  # factor from kWh (energy units) or from kW (demand units)
    is_demand: bool  # average demand over the interval rather than energy in it
    decimals: int

    def per_interval_kwh(self, interval_minutes: int) -> float:
        """What one kWh of energy in an interval is written as in this unit."""
        return self.per_kwh / (interval_minutes / 60) if self.is_demand else self.per_kwh


KWH = Unit("kWh", 1, is_demand=False, decimals=4)
KW = Unit("kW", 1, is_demand=True, decimals=4)
W = Unit("W", 1000, is_demand=True, decimals=1)
WH = Unit("Wh", 1000, is_demand=False, decimals=2)
ODD_KWH = Unit("KWH", 1, is_demand=False, decimals=4)
ODD_KW = Unit(" kw ", 1, is_demand=True, decimals=4)
UNIT_CYCLE = (KWH, KW, W, WH, ODD_KWH, KW, W, WH, KWH, ODD_KW, W, WH)
OUT_OF_RANGE_STAMP = "1999-12-31T23:30:00Z"
UNPARSEABLE_STAMP = "2024-13-45T99:00:00Z"
CANONICAL_SCHEMA = pa.schema(
    [
        ("meter_id", pa.string()),
        ("timestamp", pa.string()),
        ("value", pa.string()),
        ("unit", pa.string()),
        ("interval_minutes", pa.int16()),
    ]
)


# ---------------------------------------------------------------------------- text and time


def format_fixed(values: np.ndarray, decimals: np.ndarray | int) -> pa.Array:
    """Render numbers as fixed-point text ('-0.2340', '523'), one decimals count per value."""
    decimals = np.broadcast_to(np.asarray(decimals, dtype=np.int64), values.shape)
    power = 10**decimals
    scaled = np.rint(np.abs(values) * power).astype(np.int64)
    whole = pc.cast(pa.array(scaled // power), pa.string())
    # scaled % power + power has one leading 1 before the zero-padded fraction digits.
    fraction = pc.utf8_slice_codeunits(pc.cast(pa.array(scaled % power + power), pa.string()), 1)
    sign = pc.if_else(pa.array(values < 0), "-", "")
    point = pc.if_else(pa.array(decimals > 0), ".", "")
    return pc.binary_join_element_wise(sign, whole, point, fraction, "")


def format_one(value: float, decimals: int) -> str:
    """The text format_fixed writes for one value (for the catalogue's notes)."""
    return format_fixed(np.array([value]), decimals)[0].as_py()


def interval_starts(first: dt.datetime, count: int, interval_minutes: int) -> np.ndarray:
    """`count` interval starts from the naive datetime `first`, as datetime64[m]."""
    step = np.timedelta64(interval_minutes, "m")
    return np.datetime64(first, "m") + np.arange(count) * step


def iso_utc(instants: np.ndarray) -> np.ndarray:
    """UTC datetime64 values as ISO 8601 text with a Z (2024-03-18T00:00:00Z)."""
    return np.char.add(np.datetime_as_string(instants, unit="s"), "Z")


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


# ------------------------------------------------------------------------------------ load


def daily_bump(hour: np.ndarray, centre: np.ndarray | float, width: float) -> np.ndarray:
    """A Gaussian bump around `centre` o'clock that wraps around midnight."""
    distance = (hour - centre + 12) % 24 - 12
    return np.exp(-0.5 * (distance / width) ** 2)


def household_load_kwh(
    rng: np.random.Generator, n_meters: int, local_starts: np.ndarray, interval_minutes: int
) -> np.ndarray:
    """Energy per interval, shape (meters, intervals), of households on local wall-clock time.

    A base load of 0.05-0.3 kWh per half hour, a morning peak (later at weekends), an evening
    peak, a weekend midday bump, a per-meter scale and a few percent of noise; always > 0."""
    days = local_starts.astype("datetime64[D]")
    minutes = (local_starts - days).astype(np.int64) + interval_minutes / 2
    hour = minutes / 60
    weekend = (days.astype(np.int64) + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    per_meter = (n_meters, 1)
    base = rng.uniform(0.05, 0.3, per_meter)
    morning_hour = rng.normal(7.3, 0.4, per_meter) + 1.5 * weekend
    morning = rng.uniform(0.15, 0.6, per_meter) * daily_bump(hour, morning_hour, 1.0)
    evening = rng.uniform(0.4, 1.2, per_meter) * daily_bump(
        hour, rng.normal(18.7, 0.5, per_meter), 1.7
    )
    midday = rng.uniform(0.1, 0.4, per_meter) * daily_bump(hour, 13.0, 2.5) * weekend
    scale = rng.uniform(0.6, 1.8, per_meter)
    load = base + morning
    load += evening
    load += midday
    load *= scale * rng.lognormal(0.0, 0.12, (n_meters, hour.size))
    load *= interval_minutes / 30
    return np.maximum(load, MIN_KWH_PER_HALF_HOUR * interval_minutes / 30, out=load)


# ------------------------------------------------------------------------------- placement


class DefectPlacer:
    """Picks (meter, first interval) for defects so that no two come close on one meter."""

    def __init__(self, rng: np.random.Generator, settings: Settings, n_meters: int, n_slots: int):
        self.rng = rng
        self.slots_per_day = settings.slots_per_day
        self.margin = settings.slots(DEFECT_MARGIN)
        self.edge = settings.slots(RANGE_EDGE)
        self.taken = np.zeros((n_meters, n_slots), dtype=bool)

    def place(
        self,
        length: int,
        *,
        meters: np.ndarray | None = None,
        within_one_day: bool = True,
        whole_day: bool = False,
    ) -> tuple[int, int]:
        n_meters, n_slots = self.taken.shape
        n_days = n_slots // self.slots_per_day
        if meters is not None and meters.size == 0:
            raise SystemExit(NO_ROOM)
        for _ in range(MAX_PLACEMENT_TRIES):
            meter = int(
                self.rng.choice(meters) if meters is not None else self.rng.integers(n_meters)
            )
            if whole_day:
                first = int(self.rng.integers(1, n_days - 1)) * self.slots_per_day
            else:
                first = int(
                    self.rng.integers(self.edge, max(n_slots - self.edge - length, self.edge + 1))
                )
            last = first + length - 1
            if last >= n_slots - self.edge or (
                within_one_day and first // self.slots_per_day != last // self.slots_per_day
            ):
                continue
            if not self.taken[meter, max(first - self.margin, 0) : last + 1 + self.margin].any():
                self.taken[meter, first : last + 1] = True
                return meter, first
        raise SystemExit(NO_ROOM)

    def release(self, meter: int, first: int, length: int = 1) -> None:
        """Give back a placement the caller could not use."""
        self.taken[meter, first : first + length] = False


# ------------------------------------------------------------------------------- canonical


@dataclass
class CanonicalRows:
    """The canonical readings before they become text, with every defect applied."""

    kwh: np.ndarray  # (meters, intervals) energy per interval, numeric defects included
    present: np.ndarray  # (meters, intervals) False where a gap removes the row
    replaced_fields: dict[tuple[int, int], dict[str, str]]  # field -> text for a slot's row
    extra_rows: dict[tuple[int, int], list[dict[str, str]]]  # copies of a slot's row, edited


@dataclass(frozen=True)
class CanonicalMeters:
    ids: list[str]
    units: list[Unit]

    @classmethod
    def numbered(cls, count: int) -> CanonicalMeters:
        ids = [f"MTR-{number:05d}" for number in range(1, count + 1)]
        return cls(ids, [UNIT_CYCLE[index % len(UNIT_CYCLE)] for index in range(count)])


class CanonicalDefects:
    """Injects the canonical defects into `rows` and records each in the catalogue."""

    def __init__(
        self,
        settings: Settings,
        rows: CanonicalRows,
        meters: CanonicalMeters,
        slot_text: np.ndarray,
        file_of_slot: Callable[[int], str],
    ):
        self.settings = settings
        self.rows = rows
        self.meters = meters
        self.slot_text = slot_text
        self.file_of_slot = file_of_slot
        self.rng = settings.rng("canonical", DEFECT_STREAM)
        self.placer = DefectPlacer(self.rng, settings, *rows.kwh.shape)
        self.medians = np.median(rows.kwh, axis=1)  # of the clean readings
        self.catalogue: list[Defect] = []

    def inject_all(self) -> list[Defect]:
        n_meters = len(self.meters.ids)
        hours = self.settings.slots(dt.timedelta(hours=1))
        for _ in range(max(4, n_meters // 10)):
            self.gap("short_gap", int(self.rng.integers(1, 5)))
        self.gap("long_gap", 6 * hours)
        self.gap("long_gap", self.settings.slots_per_day, whole_day=True)
        zero_meter = self.run_of_one_value("zero_run", 36 * hours, within_one_day=False)
        constant_meter = self.run_of_one_value("constant_run", 16 * hours, avoid=[zero_meter])
        for _ in range(max(3, n_meters // 20)):
            self.exact_duplicate()
        for _ in range(max(2, n_meters // 40)):
            self.conflicting_duplicate()
        for _ in range(2):
            self.negative_value()
        for _ in range(2):
            self.spike(avoid=[zero_meter, constant_meter])
        self.over_max_demand()
        self.replaced_field("unparseable_value", "value", "n/a")
        self.replaced_field("unparseable_value", "value", "12..5")
        self.replaced_field("empty_value", "value", "")
        for unit in ("kVAh", "kVAh", "litres"):
            self.replaced_field("invalid_unit", "unit", unit)
        self.off_grid_timestamp()
        self.bad_timestamp_row("out_of_range_timestamp", OUT_OF_RANGE_STAMP, parseable=True)
        self.bad_timestamp_row("unparseable_timestamp", UNPARSEABLE_STAMP, parseable=False)
        return self.catalogue

    # -- helpers

    def record(
        self,
        kind: str,
        meter: int,
        first: int,
        last: int,
        note: str,
        *,
        written_stamps: tuple[str | None, str | None] | None = None,
    ) -> None:
        """Catalogue a defect on intervals first..last. `written_stamps` replaces the interval
        starts as (start, end) when the defective row carries a timestamp of its own."""
        file = self.file_of_slot(first)
        if self.file_of_slot(last) != file:
            note += f"; continues into {self.file_of_slot(last)}"
        start, end = written_stamps or (str(self.slot_text[first]), str(self.slot_text[last]))
        self.catalogue.append(
            Defect(
                layout="canonical",
                file=file,
                kind=kind,
                meter_id=self.meters.ids[meter],
                start=start,
                end=end,
                count=last - first + 1,
                note=note,
            )
        )

    def value_text(self, meter: int, kwh: float) -> str:
        """The value field written for `kwh` in the meter's unit."""
        unit = self.meters.units[meter]
        return format_one(kwh * unit.per_interval_kwh(self.settings.interval), unit.decimals)

    def written_value(self, meter: int, kwh: float) -> str:
        return f"{self.value_text(meter, kwh)} {self.meters.units[meter].text.strip()}"

    def other_meters(self, avoid: list[int]) -> np.ndarray:
        return np.setdiff1d(np.arange(len(self.meters.ids)), avoid)

    # -- defects

    def gap(self, kind: str, length: int, *, whole_day: bool = False) -> None:
        meter, first = self.placer.place(length, whole_day=whole_day)
        self.rows.present[meter, first : first + length] = False
        self.record(kind, meter, first, first + length - 1, f"{length} intervals without a row")

    def run_of_one_value(
        self, kind: str, length: int, *, avoid: list[int] | None = None, within_one_day: bool = True
    ) -> int:
        meter, first = self.placer.place(
            length, meters=self.other_meters(avoid or []), within_one_day=within_one_day
        )
        value = 0.0 if kind == "zero_run" else float(self.medians[meter])
        self.rows.kwh[meter, first : first + length] = value
        note = f"{length} readings of exactly {self.written_value(meter, value)}"
        self.record(kind, meter, first, first + length - 1, note)
        return meter

    def exact_duplicate(self) -> None:
        meter, slot = self.placer.place(1)
        self.rows.extra_rows[(meter, slot)] = [{}]
        self.record("exact_duplicate", meter, slot, slot, "the line is written twice in a row")

    def conflicting_duplicate(self) -> None:
        meter, slot = self.placer.place(1)
        kwh = self.rows.kwh[meter, slot]
        other = kwh * self.rng.uniform(1.3, 1.8)
        self.rows.extra_rows[(meter, slot)] = [{"value": self.value_text(meter, other)}]
        note = (
            f"a second row follows with {self.written_value(meter, other)} "
            f"instead of {self.written_value(meter, kwh)}"
        )
        self.record("conflicting_duplicate", meter, slot, slot, note)

    def negative_value(self) -> None:
        meter, slot = self.placer.place(1)
        self.rows.kwh[meter, slot] *= -1
        note = f"reading written as {self.written_value(meter, self.rows.kwh[meter, slot])}; "
        note += "the interval has no other reading"
        self.record("negative_value", meter, slot, slot, note)

    def spike(self, avoid: list[int]) -> None:
        """One interval 12-20 times the day's third-highest reading (the MDM spike check compares
        the day's highest interval with its third highest), at least 2 kW and below 40 kW."""
        interval_hours = self.settings.interval / 60
        slots_per_day = round(24 / interval_hours)
        factor = self.rng.uniform(12, 20)
        candidates = np.setdiff1d(np.arange(len(self.medians)), avoid)
        for _ in range(1000):
            meter, slot = self.placer.place(1, meters=candidates)
            day = slot // slots_per_day * slots_per_day
            others = np.delete(self.rows.kwh[meter, day : day + slots_per_day], slot - day)
            third_highest = np.sort(others)[-3]
            kwh = factor * third_highest
            if 2 <= kwh / interval_hours < 40:
                break
            self.placer.release(meter, slot)
        else:
            raise RuntimeError("no interval found where a spike would be 2-40 kW")
        self.rows.kwh[meter, slot] = kwh
        note = (
            f"reading {self.written_value(meter, kwh)}, {factor:.1f} times the day's "
            f"third-highest interval ({kwh / interval_hours:.1f} kW)"
        )
        self.record("spike", meter, slot, slot, note)

    def over_max_demand(self) -> None:
        meter, slot = self.placer.place(1)
        kw = self.rng.uniform(55, 80)
        kwh = kw * self.settings.interval / 60
        self.rows.kwh[meter, slot] = kwh
        note = f"reading {self.written_value(meter, kwh)}, {kw:.1f} kW average demand (above 50 kW)"
        self.record("over_max_demand", meter, slot, slot, note)

    def replaced_field(self, kind: str, field: str, text: str) -> None:
        meter, slot = self.placer.place(1)
        self.rows.replaced_fields[(meter, slot)] = {field: text}
        note = f"{field} written as {text!r}; the interval has no other reading"
        self.record(kind, meter, slot, slot, note)

    def off_grid_timestamp(self) -> None:
        meter, slot = self.placer.place(1)
        stamp = np.datetime64(str(self.slot_text[slot])[:-1]) + np.timedelta64(7, "m")
        text = str(iso_utc(np.array([stamp]))[0])
        self.rows.replaced_fields[(meter, slot)] = {"timestamp": text}
        note = f"the reading of the {self.slot_text[slot]} interval is stamped {text}; "
        note += "the interval has no other reading"
        self.record("off_grid_timestamp", meter, slot, slot, note, written_stamps=(text, text))

    def bad_timestamp_row(self, kind: str, text: str, parseable: bool) -> None:
        meter, slot = self.placer.place(1)
        self.rows.extra_rows[(meter, slot)] = [{"timestamp": text}]
        note = f"an extra row stamped {text!r} follows the {self.slot_text[slot]} reading"
        stamp = text if parseable else None
        self.record(kind, meter, slot, slot, note, written_stamps=(stamp, stamp))


def replace_fields(table: pa.Table, edits: list[tuple[int, dict[str, str]]]) -> pa.Table:
    """`table` with the given text fields of the rows at the given positions replaced."""
    for name in ("timestamp", "value", "unit"):
        changes = sorted((position, fields[name]) for position, fields in edits if name in fields)
        if not changes:
            continue
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[[position for position, _ in changes]] = True
        column = pc.replace_with_mask(
            table.column(name).combine_chunks(),
            pa.array(mask),
            pa.array([text for _, text in changes], pa.string()),
        )
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def insert_after(table: pa.Table, anchors: list[int], extras: pa.Table) -> pa.Table:
    """`table` with each row of `extras` placed right after the row at its anchor position."""
    keys = np.concatenate([2 * np.arange(table.num_rows), 2 * np.asarray(anchors, np.int64) + 1])
    return pa.concat_tables([table, extras]).take(np.argsort(keys, kind="stable"))


def render_canonical_block(
    rows: CanonicalRows, meters: CanonicalMeters, slot_text: pa.Array, slots: range, interval: int
) -> pa.Table:
    """The canonical table for the intervals `slots`, meter by meter, defects included."""
    present = rows.present[:, slots.start : slots.stop]
    meter_index, offset = np.nonzero(present)
    slot_index = offset + slots.start
    factors = np.array([unit.per_interval_kwh(interval) for unit in meters.units])
    decimals = np.array([unit.decimals for unit in meters.units])
    values = rows.kwh[meter_index, slot_index] * factors[meter_index]
    table = pa.table(
        {
            "meter_id": pa.array(meters.ids).take(meter_index),
            "timestamp": slot_text.take(slot_index),
            "value": format_fixed(values, decimals[meter_index]),
            "unit": pa.array([unit.text for unit in meters.units]).take(meter_index),
        }
    )
    keys = meter_index * len(slots) + offset

    def position(meter: int, slot: int) -> int:
        return int(np.searchsorted(keys, meter * len(slots) + slot - slots.start))

    def in_block(edits: dict[tuple[int, int], list | dict]) -> list:
        return [(position(m, s), edit) for (m, s), edit in sorted(edits.items()) if s in slots]

    table = replace_fields(table, in_block(rows.replaced_fields))
    extras = [(anchor, edit) for anchor, edits in in_block(rows.extra_rows) for edit in edits]
    if extras:
        copies = table.take([anchor for anchor, _ in extras])
        copies = replace_fields(copies, [(i, edit) for i, (_, edit) in enumerate(extras)])
        table = insert_after(table, [anchor for anchor, _ in extras], copies)
    return table.append_column(
        "interval_minutes", pa.array(np.full(table.num_rows, interval, dtype=np.int16))
    )


def canonical_files(settings: Settings) -> list[tuple[str, range]]:
    """(file name, day indexes) of every canonical file."""
    if not settings.split_by_day:
        return [(settings.range_name("canonical"), range(settings.days))]
    return [
        (
            f"canonical_{(settings.start + dt.timedelta(days=day)).isoformat()}.csv",
            range(day, day + 1),
        )
        for day in range(settings.days)
    ]


def write_canonical(settings: Settings) -> list[Defect]:
    n_slots = settings.days * settings.slots_per_day
    starts = interval_starts(midnight(settings.start), n_slots, settings.interval)
    kwh = household_load_kwh(
        settings.rng("canonical", LOAD_STREAM), settings.meters, starts, settings.interval
    )
    rows = CanonicalRows(kwh, np.ones(kwh.shape, dtype=bool), {}, {})
    meters = CanonicalMeters.numbered(settings.meters)
    slot_text = iso_utc(starts)
    files = canonical_files(settings)
    file_of_day = {day: name for name, days in files for day in days}
    catalogue: list[Defect] = []
    if settings.inject_defects:
        catalogue = CanonicalDefects(
            settings,
            rows,
            meters,
            slot_text,
            lambda slot: file_of_day[slot // settings.slots_per_day],
        ).inject_all()
    slot_array = pa.array(slot_text)
    for name, days in files:
        written = 0
        with (
            written_atomically(settings.out / name) as partial,
            pacsv.CSVWriter(str(partial), CANONICAL_SCHEMA, write_options=CSV_OPTIONS) as writer,
        ):
            for day in days:
                slots = range(day * settings.slots_per_day, (day + 1) * settings.slots_per_day)
                block = render_canonical_block(rows, meters, slot_array, slots, settings.interval)
                writer.write_table(block)
                written += block.num_rows
        report_file(settings.out / name, written)
    return catalogue


# ------------------------------------------------------------------------------------ wide


def london_day_labels(settings: Settings) -> list[str]:
    """Europe/London wall-clock labels of every interval start of whole local days."""
    first = midnight(settings.start).replace(tzinfo=LONDON).astimezone(dt.UTC)
    end_day = settings.start + dt.timedelta(days=settings.days)
    end = midnight(end_day).replace(tzinfo=LONDON).astimezone(dt.UTC)
    step = dt.timedelta(minutes=settings.interval)
    instants = (first + step * index for index in range(int((end - first) / step)))
    return [instant.astimezone(LONDON).strftime("%Y-%m-%d %H:%M") for instant in instants]


def wide_defect_rows(settings: Settings, labels: list[str]) -> np.ndarray:
    """Row indexes where a two-interval defect may start: on a day without a DST change, two
    intervals inside one local day, away from the range ends."""
    dates = np.array([label[:10] for label in labels])
    unique_dates, rows_per_date = np.unique(dates, return_counts=True)
    ordinary_dates = unique_dates[rows_per_date == settings.slots_per_day]
    edge = settings.slots(RANGE_EDGE)
    rows = np.arange(edge, len(labels) - edge - 1)
    rows = rows[np.isin(dates[rows], ordinary_dates) & (dates[rows] == dates[rows + 1])]
    if rows.size == 0:
        raise SystemExit("the wide sample needs a day without a DST change: raise --days")
    return rows


def inject_wide_defects(
    settings: Settings, file: str, meter_ids: list[str], kwh: np.ndarray, labels: list[str]
) -> tuple[np.ndarray, list[Defect]]:
    """Negate one cell of `kwh` in place and choose two consecutive cells of another meter to
    leave empty. Returns the empty-cell mask (meters, rows) and the catalogue entries."""
    rng = settings.rng("wide", DEFECT_STREAM)
    gap_meter, negative_meter = (int(meter) for meter in rng.permutation(len(meter_ids))[:2])
    candidates = wide_defect_rows(settings, labels)
    gap_row, negative_row = (int(row) for row in rng.choice(candidates, 2, replace=False))
    empty = np.zeros(kwh.shape, dtype=bool)
    empty[gap_meter, gap_row : gap_row + 2] = True
    kwh[negative_meter, negative_row] *= -1
    first = midnight(settings.start).replace(tzinfo=LONDON).astimezone(dt.UTC).replace(tzinfo=None)
    utc_text = iso_utc(interval_starts(first, len(labels), settings.interval))
    negative_text = format_one(kwh[negative_meter, negative_row], 3)
    return empty, [
        Defect(
            layout="wide",
            file=file,
            kind="short_gap",
            meter_id=meter_ids[gap_meter],
            start=str(utc_text[gap_row]),
            end=str(utc_text[gap_row + 1]),
            count=2,
            note=f"empty cells at local {labels[gap_row]} and {labels[gap_row + 1]}",
        ),
        Defect(
            layout="wide",
            file=file,
            kind="negative_value",
            meter_id=meter_ids[negative_meter],
            start=str(utc_text[negative_row]),
            end=str(utc_text[negative_row]),
            count=1,
            note=f"cell at local {labels[negative_row]} written as {negative_text}",
        ),
    ]


def write_wide(settings: Settings) -> list[Defect]:
    n_meters = max(2, settings.meters // 8)
    meter_ids = [f"WIDE-{number:04d}" for number in range(1, n_meters + 1)]
    labels = london_day_labels(settings)
    local_starts = np.array([label.replace(" ", "T") for label in labels], dtype="datetime64[m]")
    kwh = household_load_kwh(
        settings.rng("wide", LOAD_STREAM), n_meters, local_starts, settings.interval
    )
    name = settings.range_name("wide")
    empty = np.zeros(kwh.shape, dtype=bool)
    catalogue: list[Defect] = []
    if settings.inject_defects:
        empty, catalogue = inject_wide_defects(settings, name, meter_ids, kwh, labels)
    no_text = pa.scalar(None, pa.string())
    cells = [
        pc.if_else(pa.array(empty[meter]), no_text, format_fixed(kwh[meter], 3))
        for meter in range(n_meters)
    ]
    table = pa.table([pa.array(labels), *cells], names=["local_time", *meter_ids])
    with written_atomically(settings.out / name) as partial:
        pacsv.write_csv(table, str(partial), CSV_OPTIONS)
    report_file(settings.out / name, table.num_rows)
    return catalogue


# ------------------------------------------------------------------------------ cumulative


def inject_cumulative_defects(
    settings: Settings,
    file: str,
    meter_ids: list[str],
    registers: np.ndarray,
    read_text: np.ndarray,
) -> tuple[np.ndarray, list[Defect]]:
    """Reset one meter's register in place and choose one read of another meter to leave out.
    Returns the mask of reads to write (meters, reads) and the catalogue entries."""
    rng = settings.rng("cumulative", DEFECT_STREAM)
    edge = settings.slots(RANGE_EDGE)
    missing_meter, reset_meter = (int(meter) for meter in rng.permutation(len(meter_ids))[:2])
    last_interval = registers.shape[1] - 1
    missing, reset = (int(index) for index in rng.integers(edge, last_interval - edge, 2))
    present = np.ones(registers.shape, dtype=bool)
    present[missing_meter, missing] = False
    before = registers[reset_meter, reset]
    registers[reset_meter, reset + 1 :] -= before  # restarts from 0 as interval `reset` opens
    after = registers[reset_meter, reset + 1]
    return present, [
        Defect(
            layout="cumulative",
            file=file,
            kind="missing_read",
            meter_id=meter_ids[missing_meter],
            start=str(read_text[missing - 1]),
            end=str(read_text[missing]),
            count=2,
            note=f"no read at {read_text[missing]}; the next difference spans 2 intervals",
        ),
        Defect(
            layout="cumulative",
            file=file,
            kind="counter_reset",
            meter_id=meter_ids[reset_meter],
            start=str(read_text[reset]),
            end=str(read_text[reset]),
            count=1,
            note=f"register falls from {format_one(before, 3)} at {read_text[reset]} to "
            f"{format_one(after, 3)} at {read_text[reset + 1]}",
        ),
    ]


def write_cumulative(settings: Settings) -> list[Defect]:
    n_meters = max(2, settings.meters // 8)
    meter_ids = [f"REG-{number:04d}" for number in range(1, n_meters + 1)]
    n_slots = settings.days * settings.slots_per_day
    reads_at = interval_starts(midnight(settings.start), n_slots + 1, settings.interval)
    rng = settings.rng("cumulative", LOAD_STREAM)
    kwh = household_load_kwh(rng, n_meters, reads_at[:-1], settings.interval)
    opening = np.round(rng.uniform(1_000, 9_000, (n_meters, 1)), 3)
    registers = np.concatenate([opening, opening + np.cumsum(kwh, axis=1)], axis=1)
    read_text = iso_utc(reads_at)
    name = settings.range_name("cumulative")
    present = np.ones(registers.shape, dtype=bool)
    catalogue: list[Defect] = []
    if settings.inject_defects:
        present, catalogue = inject_cumulative_defects(
            settings, name, meter_ids, registers, read_text
        )
    meter_index, read_index = np.nonzero(present)
    table = pa.table(
        {
            "meter_id": pa.array(meter_ids).take(meter_index),
            "read_at": pa.array(read_text).take(read_index),
            "register_kwh": format_fixed(registers[meter_index, read_index], 3),
            "interval_minutes": pa.array(np.full(meter_index.size, settings.interval, np.int16)),
        }
    )
    with written_atomically(settings.out / name) as partial:
        pacsv.write_csv(table, str(partial), CSV_OPTIONS)
    report_file(settings.out / name, table.num_rows)
    return catalogue


# ----------------------------------------------------------------------------------- NEM12


@dataclass(frozen=True)
class EstimatedRun:
    """A V day of one NMI whose 400 records mark intervals first..last (1-based) estimated."""

    nmi: int
    day: int
    first: int
    last: int

    @classmethod
    def chosen(cls, settings: Settings, n_nmis: int) -> EstimatedRun:
        rng = settings.rng("nem12", DEFECT_STREAM)
        length = int(rng.integers(2, 5))
        # From interval 2 to the day's last but one, so actual (A) ranges come either side.
        first = int(rng.integers(2, settings.slots_per_day - length + 1))
        nmi, day = int(rng.integers(n_nmis)), int(rng.integers(settings.days))
        return cls(nmi, day, first, first + length - 1)

    def defect(self, settings: Settings, file: str) -> Defect:
        date = settings.start + dt.timedelta(days=self.day)
        day_start = midnight(date) - NEM_MARKET_OFFSET  # in UTC
        utc_text = iso_utc(interval_starts(day_start, self.last, settings.interval))
        return Defect(
            layout="nem12",
            file=file,
            kind="estimated_intervals",
            meter_id=nmi_name(self.nmi),
            start=str(utc_text[self.first - 1]),
            end=str(utc_text[self.last - 1]),
            count=self.last - self.first + 1,
            note=f"300 record of {date:%Y%m%d} has quality V; its 400 records mark intervals "
            f"{self.first}-{self.last} E52 with reason code 79",
        )

    def records_400(self, intervals_per_day: int) -> list[str]:
        ranges = [
            (1, self.first - 1, "A", ""),
            (self.first, self.last, "E52", "79"),
            (self.last + 1, intervals_per_day, "A", ""),
        ]
        return [
            f"400,{first},{last},{quality},{reason}," for first, last, quality, reason in ranges
        ]


def nmi_name(index: int) -> str:
    return f"NMI{index + 1:07d}"


def nem12_lines(settings: Settings, values: np.ndarray, run: EstimatedRun | None) -> list[str]:
    """Every NEM12 record: `values` holds the interval text, shape (NMIs, days, intervals)."""
    n_nmis, n_days, intervals_per_day = values.shape
    created = settings.start + dt.timedelta(days=n_days)
    lines = [f"100,NEM12,{created:%Y%m%d}0400,MDPUPLOAD,RETAILER"]
    for nmi in range(n_nmis):
        lines.append(f"200,{nmi_name(nmi)},E1,E1,E1,N1,MS{nmi + 1:06d},KWH,{settings.interval},")
        for day in range(n_days):
            date = settings.start + dt.timedelta(days=day)
            updated = f"{date + dt.timedelta(days=1):%Y%m%d}03{(7 * nmi + day) % 60:02d}00"
            estimated = run if run is not None and (run.nmi, run.day) == (nmi, day) else None
            quality = "A" if estimated is None else "V"
            lines.append(f"300,{date:%Y%m%d},{','.join(values[nmi, day])},{quality},,,{updated},")
            if estimated is not None:
                lines.extend(estimated.records_400(intervals_per_day))
    lines.append("900")
    return lines


def write_nem12(settings: Settings) -> list[Defect]:
    n_nmis = max(1, settings.meters // 12)
    market_starts = interval_starts(
        midnight(settings.start), settings.days * settings.slots_per_day, settings.interval
    )
    kwh = household_load_kwh(
        settings.rng("nem12", LOAD_STREAM), n_nmis, market_starts, settings.interval
    )
    text = format_fixed(kwh.ravel(), 3).to_numpy(zero_copy_only=False)
    values = text.reshape(n_nmis, settings.days, settings.slots_per_day)
    name = settings.range_name("nem12")
    run = EstimatedRun.chosen(settings, n_nmis) if settings.inject_defects else None
    lines = nem12_lines(settings, values, run)
    with written_atomically(settings.out / name) as partial:
        partial.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))
    report_file(settings.out / name, len(lines))
    return [] if run is None else [run.defect(settings, name)]


# ------------------------------------------------------------------------------ files, CLI


@contextmanager
def written_atomically(path: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside `path`; rename it into place once written."""
    partial = path.with_name(f".{path.name}.part")
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)


def report_file(path: Path, rows: int) -> None:
    print(f"{path}\t{rows} rows")


def write_catalogue(path: Path, catalogue: list[Defect]) -> None:
    order = {layout: index for index, layout in enumerate(LAYOUTS)}
    entries = sorted(
        (asdict(defect) for defect in catalogue),
        key=lambda entry: (order[entry["layout"]], entry["start"] or "", entry["meter_id"]),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with written_atomically(path) as partial:
        partial.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    print(f"{path}\t{len(entries)} defects")


WRITERS: dict[str, Callable[[Settings], list[Defect]]] = {
    "canonical": write_canonical,
    "wide": write_wide,
    "cumulative": write_cumulative,
    "nem12": write_nem12,
}


def layout_list(text: str) -> tuple[str, ...]:
    names = {name.strip() for name in text.split(",") if name.strip()}
    unknown = names - set(LAYOUTS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(LAYOUTS)}")
    return tuple(name for name in LAYOUTS if name in names)


def positive_int(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parse_settings(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(
        description="Write sample smart-meter files (with catalogued defects) into a folder.",
        epilog="Meters per layout: canonical N, wide max(2, N//8), cumulative max(2, N//8), "
        "nem12 max(1, N//12) NMIs. Defects need --days 3 or more; --clean leaves them out.",
    )
    parser.add_argument("--out", type=Path, required=True, help="landing folder to write into")
    parser.add_argument("--meters", type=positive_int, default=24, help="N (default 24)")
    parser.add_argument("--days", type=positive_int, default=21, help="days of data (default 21)")
    parser.add_argument("--interval", type=int, choices=(15, 30), default=30, help="minutes")
    parser.add_argument(
        "--start", type=dt.date.fromisoformat, default=dt.date(2024, 3, 18), help="first day"
    )
    parser.add_argument("--seed", type=int, default=7, help="same seed, same bytes (default 7)")
    parser.add_argument("--layouts", type=layout_list, default=LAYOUTS, help=",".join(LAYOUTS))
    parser.add_argument(
        "--split", choices=("none", "day"), default="none", help="day: one canonical file per day"
    )
    parser.add_argument("--clean", action="store_true", help="write no defects")
    parser.add_argument(
        "--expected", type=Path, help="write the defect catalogue (JSON) here; keep it out of --out"
    )
    args = parser.parse_args(argv)
    if not args.clean and args.days < 3:
        parser.error("defects need --days 3 or more (or use --clean)")
    return Settings(
        out=args.out,
        meters=args.meters,
        days=args.days,
        interval=args.interval,
        start=args.start,
        seed=args.seed,
        layouts=args.layouts,
        split_by_day=args.split == "day",
        inject_defects=not args.clean,
        expected=args.expected,
    )


def main(argv: list[str] | None = None) -> int:
    settings = parse_settings(argv)
    settings.out.mkdir(parents=True, exist_ok=True)
    catalogue = [defect for layout in settings.layouts for defect in WRITERS[layout](settings)]
    if settings.expected is not None:
        write_catalogue(settings.expected, catalogue)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
