"""Generated meter files for the channel-kind and register tests (and the parity test).

Every value is a deterministic function of its position, so a test can recompute what the
warehouse must publish.
"""

from __future__ import annotations

import csv
import itertools
from datetime import datetime, timedelta
from pathlib import Path

START = datetime(2024, 1, 8)
SLOTS = 4 * 48  # four days of half hours


def stamp(slot: int) -> str:
    return (START + timedelta(minutes=30 * slot)).strftime("%Y-%m-%dT%H:%M:%SZ")


def varying(slot: int, base: float = 0.2) -> float:
    """A load that never repeats two half hours in a row."""
    return round(base + 0.05 * ((slot * 7) % 11) + 0.001 * (slot % 5), 3)


def daylight(slot: int) -> bool:
    return 16 <= slot % 48 < 32  # 08:00 to 16:00 UTC


PROSUMER_CHANNELS = {
    # A site with import, export and PV: no export for its first two days (a 48 h zero run),
    # no PV at night (16 h zero runs). Nothing about it is a fault.
    ("SITE-A", "general"): lambda s: varying(s),
    ("SITE-A", "export"): lambda s: varying(s, 0.1) if s >= 96 and daylight(s) else 0.0,
    ("SITE-A", "pv"): lambda s: varying(s, 0.5) if daylight(s) else 0.0,
    # An import channel reading zero for 30 hours: a dead meter or a lost supply.
    ("SITE-B", "general"): lambda s: 0.0 if 40 <= s < 100 else varying(s),
    # A PV inverter stuck on one non-zero value for 13 hours: a fault whatever the kind.
    ("SITE-C", "general"): lambda s: varying(s),
    ("SITE-C", "pv"): lambda s: 1.5 if 60 <= s < 86 else (varying(s, 0.5) if daylight(s) else 0.0),
}


def write_prosumer_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prosumers.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["meter_id", "timestamp", "value", "unit", "interval_minutes", "channel"])
        for (meter, channel), value in PROSUMER_CHANNELS.items():
            for slot in range(SLOTS):
                out.writerow([meter, stamp(slot), f"{value(slot):.3f}", "kWh", 30, channel])
    return path


ROLLOVER_KWH = 100000.0  # the cumulative layout's register_rollover_kwh
# Missing reads between two kept ones: every short length up to the interpolation limit
# (120 min = 3 missing half hours), just past it, and gaps of hours and days.
GAP_LENGTHS = (1, 2, 3, 4, 5, 6, 8, 11, 24, 47, 48, 49, 100, 150)


def register_meters() -> dict[str, list[tuple[int, float]]]:
    """Per meter, the reads written: (slot of the read's end, register kWh). Slot s ends at
    START + 30 min x (s + 1)."""
    meters: dict[str, list[tuple[int, float]]] = {}
    # R-GAPS: every gap length, one after another, and a register that wraps at 100000 kWh.
    # R-EARLY: two long gaps straight after the first read (no published interval bounds them)
    # and a short one, then a wrap.
    for meter, start_kwh, gaps in (
        ("R-GAPS", ROLLOVER_KWH - 180.0, GAP_LENGTHS),
        ("R-EARLY", ROLLOVER_KWH - 30.0, (60, 3, 49, 2)),
    ):
        skipped: set[int] = set()
        slot = 10
        for length in gaps:
            skipped.update(range(slot, slot + length))
            slot += length + 7
        register = start_kwh
        reads = []
        for s in range(slot + 10):
            register += varying(s, 0.1)
            if s in skipped:
                continue
            reads.append((s, round(register % ROLLOVER_KWH, 3)))
        meters[meter] = reads
    return meters


def write_register_file(
    folder: Path, name: str = "registers.csv", slots: range | None = None
) -> Path:
    """The register reads (those whose slot is in `slots`, default all) as a cumulative file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["meter_id", "read_at", "register_kwh"])
        for meter, reads in register_meters().items():
            for slot, value in reads:
                if slots is None or slot in slots:
                    out.writerow([meter, stamp(slot + 1), f"{value:.3f}"])
    return path


def register_energy(reads: list[tuple[int, float]]) -> float:
    """Last read - first read, plus a full register for every wrap."""
    total = 0.0
    for (_, before), (_, after) in itertools.pairwise(reads):
        total += after - before if after >= before else after + ROLLOVER_KWH - before
    return total


WIDE_CHANNELS = {
    "SITE-W": ("general", lambda s: varying(s)),
    "SITE-W__export": ("export", lambda s: varying(s, 0.05) if daylight(s) else 0.0),
    "SITE-W__pv": ("pv", lambda s: varying(s, 0.4) if daylight(s) else 0.0),
    "SITE-W__heat_pump": ("heat_pump", lambda s: varying(s, 0.3) if s % 48 < 12 else 0.0),
}
WIDE_SLOTS = 2 * 48


def wide_estimated(slot: int) -> list[str]:
    """The columns the source says it estimated in a row (every 10th row, two of them)."""
    return ["SITE-W", "SITE-W__pv"] if slot % 10 == 3 else []


def write_wide_file(folder: Path) -> Path:
    """A wide file as a household dataset sends it: a local and a UTC timestamp, one column per
    meter channel, and a column listing the cells the source estimated."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "household_wide.csv"
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["local_time", "utc_time", *WIDE_CHANNELS, "estimated_columns"])
        for slot in range(WIDE_SLOTS):
            at = START + timedelta(minutes=30 * slot)  # January: London time is UTC
            out.writerow(
                [
                    at.strftime("%Y-%m-%d %H:%M"),
                    at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    *(f"{value(slot):.3f}" for _, value in WIDE_CHANNELS.values()),
                    "|".join(wide_estimated(slot)),
                ]
            )
    return path


def nem12_day(nmi: str, day: str, values: list[float], updated: str, suffix: str = "E1") -> str:
    return "\n".join(
        [
            "100,NEM12,202401120400,MDP,RETAILER",
            f"200,{nmi},E1B1,1,{suffix},N1,MS1,KWH,30,",
            f"300,{day},{','.join(f'{v:.3f}' for v in values)},A,,,{updated},",
            "900",
            "",
        ]
    )


ORIGINAL = [0.1 * (i % 7) for i in range(48)]
CORRECTED = [v + (0.5 if 16 <= i < 20 else 0.0) for i, v in enumerate(ORIGINAL)]


def write_nem12_revisions(folder: Path) -> list[Path]:
    """A NEM12 day delivered, then corrected (a later UpdateDateTime, four intervals changed);
    and for another NMI, two versions with the same UpdateDateTime that differ (a conflict)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "nem12_original.csv": nem12_day("NMI-REV", "20240110", ORIGINAL, "20240111030000")
        + nem12_day("NMI-TIE", "20240110", ORIGINAL, "20240111030000"),
        "nem12_corrected.csv": nem12_day("NMI-REV", "20240110", CORRECTED, "20240112090000")
        + nem12_day("NMI-TIE", "20240110", CORRECTED, "20240111030000"),
    }
    paths = []
    for name, text in files.items():
        (folder / name).write_text(text)
        paths.append(folder / name)
    return paths


def write_conflicting_nem12_resend(source: Path, folder: Path, days: list[str]) -> Path:
    """A resend of some days of a NEM12 file, same UpdateDateTime but other values: each version
    conflicts with the other, so both are quarantined and the days have no published reading."""
    lines, meter = [], None
    for line in source.read_text().splitlines():
        fields = line.split(",")
        if fields[0] == "200":
            meter = line
        elif fields[0] == "300" and fields[1] in days:
            count = 1440 // int(meter.split(",")[8])
            values = [f"{float(v) + 0.5:.3f}" for v in fields[2 : 2 + count]]
            lines += [meter, ",".join([*fields[:2], *values, *fields[2 + count :]])]
    path = folder / f"nem12_conflicting_resend_{source.stem}.csv"
    path.write_text("\n".join(["100,NEM12,201912030400,MDP,RETAILER", *lines, "900", ""]))
    return path
