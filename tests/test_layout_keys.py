"""The layout language for real customer downloads (layouts.yml keys beyond a plain header):
preambles, file-level fields, split and ranged stamps, units from header text, clean-up and
missing tokens, row selection and quality maps; and the built-in Green Button CSV layout."""

from __future__ import annotations

import random
import re
import shutil
from unittest.mock import patch

import pytest
import yaml
from conftest import FIXTURES, duck, q, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from layout_projects import layouts_file, project_copy, run_in

from dlt_pipelines.file_zones import load_zone_settings
from dlt_pipelines.layouts import (
    LayoutConfigError,
    _parse_entry,
    explain_recognition,
    leading_lines,
    load_layouts,
    raw_column_name,
)
from dlt_pipelines.text_tables import UnreadableFile, read_text_table

GREEN_BUTTON = next(lay for lay in load_layouts() if lay.name == "green_button_csv")
BASE = dict(GREEN_BUTTON.declaration)


def read(data: bytes, name: str = "file.csv"):
    return read_text_table(data, name, "0" * 64)


# --- every key is checked, with one line naming the layout and the key -------------------

BROKEN = [
    ({"recognize": {**BASE["recognize"], "header_within": 0}}, "recognize.header_within"),
    ({"recognize": {**BASE["recognize"], "preamble_includes": ["("]}}, "recognize.preamble"),
    ({"timestamp": {**BASE["timestamp"], "columns": "DATE"}}, "timestamp.columns"),
    ({"timestamp": {**BASE["timestamp"], "end": {"columns": ["x"], "inclusive": "y"}}}, "end"),
    ({"timestamp": {**BASE["timestamp"], "column": "X", "pattern": "(?P<x>.*)"}}, "timestamp"),
    ({"file_fields": {"meter_id": [{"preamble": ""}]}}, "file_fields.meter_id"),
    ({"file_fields": {"meter_id": [{"file_name": "[0-9]+"}]}}, "file_fields.meter_id"),
    ({"file_fields": {"meter_id": [{"guess": "x"}]}}, "file_fields.meter_id"),
    ({"meter_id": {"file_field": "account"}}, "meter_id.file_field"),
    ({"value": {"clean": ["magic"]}}, "value.clean"),
    ({"value": {"missing": "?"}}, "value.missing"),
    ({"value_columns": {"pattern": "(USAGE"}}, "value_columns.pattern"),
    ({"select": {"column": "TYPE", "values": []}}, "select.values"),
    ({"source_quality": {"column": "NOTES", "map": {"est": "X"}}}, "source_quality.map"),
    ({"colour": "blue"}, "colour"),
    ({"blocks": "Delivered"}, "blocks"),
    ({"blocks": {"title": "^Delivered$"}}, "blocks.title"),
    ({"blocks": {"title": "^(?P<Day>.+)$"}}, "blocks.title"),
    ({"column_groups": {"columns": ["value"]}}, "column_groups"),
    ({"value_columns": None, "column_groups": {"columns": ["unit"]}}, "column_groups.columns"),
    ({"value_columns": None, "column_groups": {"columns": ["value", "kwh"]}}, "groups.columns"),
    ({"value_columns": None, "column_groups": {"columns": ["value"], "first": 0}}, "first"),
    ({"value_columns": None, "column_groups": {"columns": ["value"], "size": 3}}, "size"),
]


@pytest.mark.parametrize(("change", "key"), BROKEN, ids=[k for _, k in BROKEN])
def test_each_key_is_checked_with_a_one_line_error(change, key):
    with pytest.raises(LayoutConfigError) as caught:
        _parse_entry({**BASE, **change}, 0)
    message = str(caught.value)
    assert message.startswith("layout 'green_button_csv': key '")
    assert key in message.split(": ")[1]
    assert "\n" not in message


# --- recognition: a header after a preamble, BOM dropped; near misses explained ----------

preamble_lines = st.lists(
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=30).filter(
        lambda s: "TYPE" not in s.upper() or "," not in s
    ),
    max_size=12,
)


@given(preamble=preamble_lines, bom=st.booleans())
@settings(max_examples=60, deadline=None)
def test_the_header_is_found_after_any_preamble(preamble, bom):
    header = "TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES"
    body = "Electric usage,2024-01-01,00:00,00:59,1.5,kWh,$0.10,"
    text = "\n".join([*preamble, header, body]) + "\n"
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    table = read(data)
    assert table.layout.name == "green_button_csv"
    assert table.rows.column("_source_line").to_pylist() == [len(preamble) + 2]
    kept = [line for line in preamble if line.strip()]
    assert (
        table.preamble.column("line_text").to_pylist()
        == [line.lstrip("\ufeff") if i == 0 else line for i, line in enumerate(kept)]
        or bom
    )


def test_a_header_beyond_header_within_is_a_near_miss_explained():
    text = "\n".join(["Name,X"] * 45 + ["TYPE,DATE,START TIME,END TIME,USAGE", "a,b,c,d,1"])
    with pytest.raises(UnreadableFile) as caught:
        read(text.encode())
    assert caught.value.reason == "unknown_layout"
    reasons = dict(explain_recognition(leading_lines(text)))
    assert "in any of the first 40 lines" in reasons["green_button_csv"]
    assert reasons["canonical"].startswith("recognize.header_includes")


# --- file-level fields: the preamble, else the file name, with lineage --------------------

ids = st.text("0123456789ABCDEF", min_size=4, max_size=12)


@given(service=st.none() | ids, account=st.none() | ids, name_id=ids, excel=st.booleans())
@settings(max_examples=60, deadline=None)
def test_the_meter_id_comes_from_service_else_account_else_file_name(
    service, account, name_id, excel
):
    lines = ["Name,SAMPLE"]
    if account is not None:
        lines.append(f'Account Number,"=""{account}"""' if excel else f"Account Number,{account}")
    if service is not None:
        lines.append(f"Service,{service}")
    lines += ["", "TYPE,DATE,START TIME,END TIME,USAGE (kWh),COST,NOTES"]
    lines.append("Electric usage,2024-01-01,00:00,00:59,1.5,$0.10,")
    table = read("\n".join(lines).encode(), f"landing/{name_id}.csv")
    got = table.rows.column("_field_meter_id").to_pylist()[0]
    origin = table.rows.column("_field_meter_id_from").to_pylist()[0]
    if service is not None:
        assert (got, origin.split(":")[1].strip()) == (service, "Service")
    elif account is not None:
        assert (got, origin.split(":")[1].strip()) == (account, "Account Number")
    else:
        assert (got, origin) == (name_id, "file name")


# --- end to end: Green Button files and a vendor layout with awkward keys -----------------

VENDOR_LAYOUT = """
  - name: awkward_vendor
    description: Reserved words as column names, a ranged stamp, tokens and clean-up.
    shape: long
    recognize: {header_includes: [order, when, select], header_within: 5}
    delimiter: ";"
    decimal_mark: ","
    timestamp:
      column: when
      pattern: "(?P<start>[0-9/]+ [0-9:]+) to (?P<end>[0-9/]+ [0-9:]+)"
      format: "%d/%m/%Y %H:%M"
      timezone: UTC
    meter_id: {column: order, clean: [excel_text]}
    value: {column: select, missing: ["?", "-"], clean: [thousands_separator, spaces]}
    unit: {fixed: Wh}
    source_quality: {column: from, map: {est: E, sub: S}}
    values: interval

  - name: direction_blocks
    description: One block per direction, each with a title line and its own header.
    shape: long
    recognize: {header_includes: [Date, Time, kWh], header_within: 5}
    blocks: {title: "^(?P<direction>Delivered|Received)[, ]*$"}
    timestamp: {columns: [Date, Time], format: "%Y-%m-%d %H:%M", timezone: UTC}
    file_fields: {meter_id: [{preamble: Account}]}
    meter_id: {file_field: meter_id}
    channel: {column: direction, kinds: {received: export}}
    value: {column: kWh}
    unit: {fixed: kWh}
    interval_minutes: {default: 30}
    values: interval

  - name: day_blocks_groups
    description: A block per day (the date in its title) and a column group per channel.
    shape: long
    recognize: {header_includes: [Time, Import, Export], header_within: 3}
    blocks: {title: "^Day: (?P<day>[0-9-]+)"}
    timestamp: {columns: [day, Time], format: "%Y-%m-%d %H:%M", timezone: UTC}
    file_fields: {meter_id: [{fixed: site-9}]}
    meter_id: {file_field: meter_id}
    column_groups: {columns: [value, unit, interval_minutes], first: 2, channels: {import: general}}
    values: interval

  - name: sce_net_metering
    description: >
      SCE's net-metering download: per day a block delivered and a block received, each with
      a title and its own header; 15-minute stamps as one field "start to end", Pacific time.
    shape: long
    recognize:
      header_includes: [Energy Delivered time period, Reading quality]
      header_within: 20
    blocks: {title: '^\\W*Data for period starting|^Energy\\s+(?P<direction>Delivered|Received)\\s'}
    timestamp:
      column: Energy Delivered time period
      pattern: "(?P<start>[0-9-]+ [0-9:]+) +to +(?P<end>[0-9-]+ [0-9:]+)"
      format: "%Y-%m-%d %H:%M:%S"
      timezone: America/Los_Angeles
    file_fields: {meter_id: [{file_name: "^(?P<value>[^.]+)"}]}
    meter_id: {file_field: meter_id}
    channel: {column: direction, kinds: {delivered: consumption, received: export}}
    value: {column: "Usage Delivered(Real energy in kilowatt-hours)(Real energy in kilowatt-hours)"}
    unit: {fixed: kWh}
    source_quality: {column: Reading quality, map: {estimat: E}}
    values: interval
"""
BLOCK_FILES = {
    "directions.csv": (
        "Account,A-77\nDelivered\nDate,Time,kWh\n2024-03-01,00:00,1.5\n2024-03-01,00:30,2.0\n"
        "\nReceived,,\nDate,Time,kWh\n2024-03-01,00:00,0.25\n2024-03-01,00:30,x\n"
    ),
    "days.csv": "".join(
        f"Day: 2024-03-0{day}\nTime,Import,Unit,Minutes,Export,Unit,Minutes\n"
        + "".join(
            f"00:{m:02d},{day + m / 100},kWh,15,"
            + (f"{250 * day},Wh,30\n" if m % 30 == 0 else ",,\n")
            for m in (0, 15, 30, 45)
        )
        for day in (1, 2)
    ),
}
VENDOR_FILE = (
    "Exported by a portal\n\n"
    "order;when;select;from\n"
    '="0042";1/2/2024 0:00 to 1/2/2024 0:15;1.250,5;\n'
    '="0042";1/2/2024 0:15\u00a0to 1/2/2024 0:30;?;\n'
    '="0042";1/2/2024 0:30 to 1/2/2024 0:45;-;\n'
    '="0042";1/2/2024 0:45 to 1/2/2024 1:00;12 5;estimated\n'
    '="0042";1/2/2024 1:00 to 1/2/2024 1:15;abc;\n'
)


SCE = FIXTURES / "sce_net_metering_csv" / "sce_net_metering_2days.csv"


def green_button_files(rng: random.Random, count: int) -> dict[str, tuple[str, float, int, int]]:
    """Generated downloads in every variant: name -> (text, electric kWh that reads, electric
    values, gas values)."""
    files = {}
    for n in range(count):
        variant = rng.choice(["units", "kwh", "import_export"])
        usage = {
            "units": "USAGE,UNITS",
            "kwh": "USAGE (kWh)",
            "import_export": "IMPORT (kWh),EXPORT (kWh)",
        }[variant]
        lines = ["Name,SAMPLE", 'Address,"1 MAIN ST, TOWN"']
        if rng.random() < 0.7:
            lines.append(f"Account Number,{rng.randrange(10**9)}")
        lines += ["", f"TYPE,DATE,START TIME,END TIME,{usage},COST,NOTES"]
        kwh, electric, gas = 0.0, 0, 0
        for hour in range(rng.randint(1, 30)):
            day, at = 1 + hour // 24, hour % 24
            date = rng.choice([f"2024-01-{day:02d}", f"1/{day}/2024"])
            start = rng.choice([f"{at:02d}:00", f"{at}:00"])
            end = f"{at:02d}:59"
            if rng.random() < 0.2:  # a gas row, in therms: never a reading
                cells = ["1.2", "therms"] if variant == "units" else ["1.2"]
                if variant == "import_export":
                    cells = ["1.2", "0"]
                lines.append(
                    ",".join(["Natural gas usage", date, "00:00", "23:59", *cells, "$1", ""])
                )
                gas += len(cells) - (variant == "units")
                continue
            values = [
                round(rng.uniform(0, 3), 2) for _ in range(2 if variant == "import_export" else 1)
            ]
            kwh += sum(values)
            electric += len(values)
            cells = [f"{v}" for v in values] + (["kWh"] if variant == "units" else [])
            lines.append(",".join(["Electric usage", date, start, end, *cells, "$0.10", ""]))
        files[f"gb_{n}.csv"] = ("\n".join(lines) + "\n", kwh, electric, gas)
    return files


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    project = project_copy(root, VENDOR_LAYOUT)
    home = root / "home"
    write_green_button_landing(home / "landing")
    result = run_in(project, home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return home, green_button_files(random.Random(20), 6)


def write_green_button_landing(landing):
    """Six generated Green Button downloads, the real PG&E one and the awkward vendor file."""
    landing.mkdir(parents=True, exist_ok=True)
    for name, (text, *_rest) in green_button_files(random.Random(20), 6).items():
        (landing / name).write_text(text)
    shutil.copy(FIXTURES / "green_button_pge" / "pge_electric_15min.csv", landing)
    (landing / "vendor.txt").write_text(VENDOR_FILE)
    for name, text in BLOCK_FILES.items():
        (landing / name).write_text(text)
    shutil.copy(SCE, landing)


@pytest.mark.slow
def test_every_green_button_value_is_accounted_for_and_kwh_is_the_files_sum(loaded):
    home, files = loaded
    with duck(home) as con:
        balance = {
            row[0].rsplit("/", 1)[-1]: row[1:]
            for row in con.execute(
                "select source_file, is_balanced, raw_values, published, not_selected "
                "from marts.file_reading_balance"
            ).fetchall()
        }
        kwh = dict(
            con.execute(
                "select split_part(source_file, '/', -1), sum(kwh) from marts.fct_readings "
                "where not is_estimated group by 1"
            ).fetchall()
        )
    for name, (_, total, electric, gas) in files.items():
        assert balance[name] == (True, electric + gas, electric, gas), name
        assert kwh.get(name, 0.0) == pytest.approx(total, abs=1e-9), name
    assert balance["pge_electric_15min.csv"] == (True, 288, 288, 0)
    assert kwh["pge_electric_15min.csv"] == pytest.approx(77.44)


@pytest.mark.slow
def test_the_real_pge_download_is_local_time_with_its_service_as_meter(loaded):
    home, _ = loaded
    with duck(home) as con:
        rows = con.execute(
            "select meter_id, min(reading_start_at), max(interval_minutes), count(*) "
            "from marts.fct_readings where source_file like '%pge_electric%' group by 1"
        ).fetchall()
        preamble = con.execute(
            "select key, value from raw.file_preamble where _source_file like '%pge%' "
            "order by _source_line"
        ).fetchall()
    # 2020-07-04 00:00 in Los Angeles (PDT) is 07:00 UTC; 15-minute intervals (00:00-00:14)
    assert [(r[0], str(r[1]), r[2], r[3]) for r in rows] == [
        ("SAMPLE", "2020-07-04 07:00:00", 15, 288)
    ]
    assert preamble[:4] == [
        ("Name", "SAMPLE"),
        ("Address", "SAMPLE"),
        ("Account Number", "SAMPLE"),
        ("Service", "SAMPLE"),
    ]


@pytest.mark.slow
def test_reserved_word_columns_ranged_stamps_tokens_and_clean_up(loaded):
    home, _ = loaded
    with duck(home) as con:
        published = con.execute(
            "select meter_id, reading_start_at, interval_minutes, kwh, source_quality_flag "
            "from marts.fct_readings where layout = 'awkward_vendor' and not is_estimated "
            "order by reading_start_at"
        ).fetchall()
        rejected = con.execute(
            "select source_line, reason from marts.quarantined_readings "
            "where layout = 'awkward_vendor' order by source_line"
        ).fetchall()
    assert [(m, str(t), i, round(k, 6), f) for m, t, i, k, f in published] == [
        ("0042", "2024-02-01 00:00:00", 15, 1.2505, "A"),
        ("0042", "2024-02-01 00:45:00", 15, 0.125, "E"),
    ]
    assert rejected == [(5, "missing_value"), (6, "missing_value"), (8, "unparseable_value")]


def green_button_text(rows: list[str]) -> str:
    return "Name,SAMPLE\nAccount Number,4711\n\nTYPE,DATE,START TIME,END TIME,USAGE,UNITS\n" + (
        "".join(f"{row}\n" for row in rows)
    )


@pytest.mark.slow
def test_a_file_of_gas_rows_only_is_counted_once_across_later_loads(home):
    """Its values have no day and no validated row: later loads must neither count them again
    nor lose them."""
    gas = [f"Natural gas usage,2024-01-0{d},00:00,23:59,{d}.5,therms" for d in range(1, 4)]
    deliveries = [
        ("electric_1.csv", ["Electric usage,2024-01-01,00:00,00:59,1.0,kWh"]),
        ("gas_only.csv", gas),
        ("electric_2.csv", ["Electric usage,2024-01-02,00:00,00:59,2.0,kWh"]),
        ("electric_3.csv", ["Electric usage,2024-01-01,01:00,01:59,3.0,kWh"]),
    ]
    for name, rows in deliveries:
        (home / "landing" / name).write_text(green_button_text(rows))
        result = run_cli(home, "run")
        assert result.returncode == 0, result.stdout + result.stderr
        balance = q(
            home,
            "select split_part(source_file, '/', -1), raw_values, published, not_selected, "
            "is_balanced from marts.file_reading_balance order by 1",
        )
        assert ("gas_only.csv", 3, 0, 3, True) in balance or name == "electric_1.csv"
        assert all(row[-1] for row in balance), balance
    assert q(home, "select sum(kwh) from marts.fct_readings") == [(6.0,)]


@pytest.mark.slow
def test_a_files_value_positions_stay_put_when_later_files_bring_new_columns(home):
    """Where a layout finds its value columns per file (Green Button's usage headers), a value's
    position is its column's place in its own file's header: a later file whose header adds
    columns to the shared raw table moves nothing, so what the first build wrote (validated
    rows, quarantine) still matches the staging a later build reads."""
    header = "TYPE,DATE,START TIME,END TIME,{},COST,NOTES\n"
    deliveries = [
        ("usage.csv", header.format("USAGE (kWh)")
         + "Electric usage,2024-01-01,00:00,00:59,1.5,$1,\n"
         + "Electric usage,2024-01-01,01:00,01:59,-4,$1,\n"),
        ("net.csv", header.format("IMPORT (kWh),EXPORT (kWh)")
         + "Electric usage,2024-01-01,00:00,00:59,0.5,0.25,$1,\n"),
    ]  # fmt: skip
    positions = {
        "validated": "select split_part(source_file, '/', -1), source_line, value_position "
        "from intermediate.int_readings_validated",
        "staged": "select split_part(source_file, '/', -1), source_line, value_position "
        "from staging.stg_long__readings",
        "quarantined": "select split_part(source_file, '/', -1), source_line, value_position "
        "from marts.quarantined_readings",
    }
    for name, text in deliveries:
        (home / "landing" / name).write_text(text)
        result = run_cli(home, "run")
        assert result.returncode == 0, result.stdout + result.stderr
        found = {k: sorted(q(home, sql)) for k, sql in positions.items()}
        assert found["staged"] == found["validated"], found
        assert ("usage.csv", 2, 5) in found["validated"]
        assert found["quarantined"] == [("usage.csv", 3, 5)]
    assert found["validated"] == [("net.csv", 2, 5), ("net.csv", 2, 6), ("usage.csv", 2, 5),
                                  ("usage.csv", 3, 5)]  # fmt: skip
    assert all(row[0] for row in q(home, "select is_balanced from marts.file_reading_balance"))


@pytest.mark.slow
def test_a_broken_edited_or_removed_entry_never_leaves_the_warehouse_unbuildable(tmp_path):
    """After a vendor entry's file is loaded, the entry is broken (init and run stop with the
    one-line error, exit 2), restored, edited to read another column, and removed: every build
    after each change passes, with and without a new file."""
    project = project_copy(tmp_path, VENDOR_LAYOUT)
    layouts = layouts_file(project)
    original = layouts.read_text()
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    (home / "landing" / "vendor.txt").write_text(VENDOR_FILE)

    def run(*args: str, code: int = 0) -> str:
        result = run_in(project, home, *args)
        assert result.returncode == code, result.stdout + result.stderr
        return result.stderr

    run("run")
    layouts.write_text(original.replace("unit: {fixed: Wh}\n", "unit: {fixed: Wh}\n    x: 1\n"))
    for command in ("init", "run"):
        error = run(command, code=2).strip()
        assert error == (
            "smartmeter: layout 'awkward_vendor': key 'x': not a layout key (a typo?)"
            "; fix layouts.yml (`smartmeter layouts check`)"
        )
    layouts.write_text(original)
    run("run")
    edited = original.replace("value: {column: select,", "value: {column: amount,")
    for text, new_file in ((edited, None), (original.split(VENDOR_LAYOUT)[0], "gb.csv")):
        layouts.write_text(text)
        run("run")
        if new_file:
            (home / "landing" / new_file).write_text(
                green_button_text(["Electric usage,2024-01-01,00:00,00:59,1.0,kWh"])
            )
        run("run")
    with duck(home) as con:
        balance = con.execute(
            "select split_part(source_file, '/', -1), is_balanced from marts.file_reading_balance"
        ).fetchall()
    assert ("gb.csv", True) in balance


@pytest.mark.slow
def test_blocks_set_their_fields_and_column_groups_their_channel_unit_and_interval(loaded):
    home, _ = loaded
    with duck(home) as con:
        published = con.execute(
            "select split_part(source_file, '/', -1), meter_id, channel, channel_kind, "
            "strftime(reading_start_at, '%d %H:%M'), interval_minutes, round(kwh, 6) "
            "from marts.fct_readings where layout in ('direction_blocks', 'day_blocks_groups') "
            "order by 1, 3, 5"
        ).fetchall()
        quarantined = con.execute(
            "select source_line, reason from marts.quarantined_readings "
            "where layout = 'direction_blocks'"
        ).fetchall()
        balance = con.execute(
            "select split_part(source_file, '/', -1), raw_rows, raw_values, published, "
            "quarantined, is_balanced from marts.file_reading_balance "
            "where layout in ('direction_blocks', 'day_blocks_groups') order by 1"
        ).fetchall()
        kept = con.execute(
            "select split_part(_source_file, '/', -1), _source_line, key from raw.file_preamble "
            "where split_part(_source_file, '/', -1) in ('directions.csv', 'days.csv') "
            "order by 1, 2"
        ).fetchall()
    days = [
        ("days.csv", "site-9", "export", "export", f"0{d} 00:{m:02d}", 30, 0.25 * d)
        for d in (1, 2)
        for m in (0, 30)
    ] + [
        ("days.csv", "site-9", "general", "consumption", f"0{d} 00:{m:02d}", 15, d + m / 100)
        for d in (1, 2)
        for m in (0, 15, 30, 45)
    ]
    directions = [
        ("directions.csv", "A-77", "Delivered", "consumption", "01 00:00", 30, 1.5),
        ("directions.csv", "A-77", "Delivered", "consumption", "01 00:30", 30, 2.0),
        ("directions.csv", "A-77", "Received", "export", "01 00:00", 30, 0.25),
    ]
    assert published == days + directions
    assert quarantined == [(10, "unparseable_value")]
    # days: 8 rows, 8 + 4 values; directions: 4 rows, 4 values
    assert balance == [("days.csv", 8, 12, 12, 0, True), ("directions.csv", 4, 4, 3, 1, True)]
    # titles and repeated headers are kept apart from the readings, with their lines
    assert kept == [
        ("days.csv", 1, "Day: 2024-03-01"),
        ("days.csv", 7, "Day: 2024-03-02"),
        ("days.csv", 8, "Time"),
        ("directions.csv", 1, "Account"),
        ("directions.csv", 2, "Delivered"),
        ("directions.csv", 7, "Received"),
        ("directions.csv", 8, "Date"),
    ]


BLOCKS_ENTRY = yaml.safe_load(VENDOR_LAYOUT)[1]
channels = st.sampled_from(["Delivered", "Received", "RECEIVED"])
block_rows = st.lists(st.tuples(st.integers(0, 23), st.integers(0, 999)), max_size=5)


@given(
    blocks=st.lists(st.tuples(channels, block_rows, st.booleans(), st.booleans()), max_size=5),
    preamble=st.booleans(),
)
@settings(max_examples=60, deadline=None)
def test_every_row_gets_its_blocks_fields_and_titles_and_headers_are_not_rows(blocks, preamble):
    """Blocks: a title (before the first header or inside the file) sets the field of every
    row until the next title; a repeated header, a blank line or a title is never a row."""
    layout = _parse_entry(BLOCKS_ENTRY, 0)
    lines = ["Account,A-1"] if preamble else []
    expected = []
    for index, (channel, rows, repeat_header, blank) in enumerate(blocks):
        lines.append(channel)
        if index == 0 or repeat_header:
            lines.append("Date,Time,kWh")
        for hour, value in rows:
            lines.append(f"2024-03-01,{hour:02d}:00,{value}")
            expected.append((len(lines), channel, str(value)))
        if blank:
            lines.append("")
    if not blocks:
        lines.append("Date,Time,kWh")
    text = "\n".join(lines) + "\n"
    with patch("dlt_pipelines.text_tables.load_layouts", return_value=(layout,)):
        table = read(text.encode())
    got = table.rows.select(["_source_line", "direction", "kwh"]).to_pylist()
    assert [tuple(row.values()) for row in got] == expected
    kept = set(table.preamble.column("_source_line").to_pylist())
    assert kept.isdisjoint(line for line, _, _ in expected)
    # every non-blank line but the first header: a row, or kept with the preamble
    assert len(kept) + len(expected) + 1 == sum(1 for line in lines if line.strip())


# --- the data home sets the local zone of a layout's files (layout_zones.yml) --------------

ZONES = """
green_button_csv:
  timezone: America/Chicago
  files:
    - {name: "^pge_", timezone: America/Los_Angeles}
"""


def hourly_download(service: str, day: str, hours: list[int]) -> str:
    rows = [f"Electric usage,{day},{h:02d}:00,{h:02d}:59,1.0,kWh" for h in hours]
    return f"Service,{service}\n\nTYPE,DATE,START TIME,END TIME,USAGE,UNITS\n" + (
        "".join(f"{row}\n" for row in rows)
    )


@pytest.mark.slow
def test_the_home_sets_the_zone_per_layout_and_file_name_across_dst_changes(home):
    (home / "layout_zones.yml").write_text(ZONES)
    landing = home / "landing"
    # 3 November 2024: 01:00 comes twice in Chicago (CDT, then CST); 10 March: 02:00 never
    fall = [0, 1, 1, *range(2, 24)]
    (landing / "chicago_fall.csv").write_text(hourly_download("CHI-1", "2024-11-03", fall))
    (landing / "chicago_spring.csv").write_text(hourly_download("CHI-2", "3/10/2024", [*range(24)]))
    (landing / "pge_nov.csv").write_text(hourly_download("LA-1", "2024-11-03", [0]))
    result = run_cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    readings = q(
        home,
        "select meter_id, min(reading_start_at), max(reading_start_at), count(*), "
        "count(distinct reading_start_at) from marts.fct_readings group by 1 order by 1",
    )
    assert [(m, str(a), str(b), n, d) for m, a, b, n, d in readings] == [
        ("CHI-1", "2024-11-03 05:00:00", "2024-11-04 05:00:00", 25, 25),
        ("CHI-2", "2024-03-10 06:00:00", "2024-03-11 04:00:00", 23, 23),
        ("LA-1", "2024-11-03 07:00:00", "2024-11-03 07:00:00", 1, 1),
    ]
    assert q(home, "select meter_id, reason from marts.quarantined_readings") == [
        ("CHI-2", "nonexistent_local_time")
    ]
    zones = q(
        home,
        "select split_part(_source_file, '/', -1), timezone, timezone_from from raw.file_zones "
        "order by 1",
    )
    assert zones == [
        ("chicago_fall.csv", "America/Chicago", "layout_zones.yml: timezone"),
        ("chicago_spring.csv", "America/Chicago", "layout_zones.yml: timezone"),
        ("pge_nov.csv", "America/Los_Angeles", "layout_zones.yml: files '^pge_'"),
    ]
    assert q(home, "select meter_id, timezone from marts.dim_meters order by 1") == [
        ("CHI-1", "America/Chicago"),
        ("CHI-2", "America/Chicago"),
        ("LA-1", "America/Los_Angeles"),
    ]


BAD_ZONES = [
    ("green_button_csv: {timezone: Mars/Base}", "key 'timezone': 'Mars/Base' is not a known"),
    ("nosuch: {timezone: UTC}", "layout 'nosuch': no such layout"),
    ("green_button_csv: {files: [{name: '(', timezone: UTC}]}", "key 'files': bad pattern"),
    ("green_button_csv: {zone: UTC}", "give `timezone` and/or `files`"),
]


@pytest.mark.parametrize(("text", "message"), BAD_ZONES)
def test_a_wrong_zone_setting_is_one_line_naming_the_layout_and_key(tmp_path, text, message):
    (tmp_path / "layout_zones.yml").write_text(text)
    with pytest.raises(LayoutConfigError) as caught:
        load_zone_settings(tmp_path)
    assert str(caught.value).startswith("layout_zones.yml: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_init_stops_on_a_wrong_zone_setting_with_exit_2(home):
    (home / "layout_zones.yml").write_text(BAD_ZONES[0][0])
    result = run_cli(home, "init")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("smartmeter: layout_zones.yml: layout ")


@pytest.mark.slow
def test_the_real_sce_net_metering_download_loads_by_one_entry(loaded):
    """Its delivered and received blocks are two channels, each with kWh equal to the file's
    own sum per block kind, in 15-minute intervals on the UTC line (PDT is UTC-7)."""
    home, _ = loaded
    sums = {"Delivered": 0.0, "Received": 0.0}
    direction = None
    for line in SCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("Energy "):
            direction = line.split()[1]
        elif direction and line.startswith('"20'):
            sums[direction] += float(line.split(",")[1].strip('"'))
    with duck(home) as con:
        rows = con.execute(
            "select meter_id, channel, channel_kind, count(*), round(sum(kwh), 6), "
            "min(reading_start_at), max(interval_minutes) from marts.fct_readings "
            "where layout = 'sce_net_metering' group by 1, 2, 3 order by 2"
        ).fetchall()
        balance = con.execute(
            "select raw_rows, raw_values, published, is_balanced from marts.file_reading_balance "
            "where layout = 'sce_net_metering'"
        ).fetchall()
    assert [(m, c, k, n, str(t), i) for m, c, k, n, _, t, i in rows] == [
        ("sce_net_metering_2days", "Delivered", "consumption", 192, "2022-08-01 07:00:00", 15),
        ("sce_net_metering_2days", "Received", "export", 192, "2022-08-01 07:00:00", 15),
    ]
    assert [r[4] for r in rows] == [
        pytest.approx(sums["Delivered"]),
        pytest.approx(sums["Received"]),
    ]
    assert balance == [(384, 384, 384, True)]


@given(st.text(min_size=1, max_size=200), st.text(min_size=1, max_size=5))
@settings(max_examples=200, deadline=None)
def test_a_raw_column_name_fits_every_store_and_long_headers_stay_apart(header, tail):
    """PostgreSQL keeps 63 bytes of a name (a longer one would be shortened by the loader
    behind the staging models' back): raw names are at most 56 ASCII characters, and two
    long headers that differ only at the end keep different names."""
    name = raw_column_name(header)
    assert len(name) <= 56 and name.isascii()
    assert re.fullmatch(r"[a-z_][a-z0-9_]*", name)
    long_header = "Usage Delivered(Real energy in kilowatt-hours)" * 2
    if raw_column_name(tail) != raw_column_name(tail + "x"):
        assert raw_column_name(long_header + tail) != raw_column_name(long_header + tail + "x")
