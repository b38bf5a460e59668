"""`smartmeter layouts`: check names every broken entry and its key at once, which explains
recognition, suggest drafts an entry that loads a vendor's file with the file's own kWh, and
preview shows the pipeline's verdicts without touching the user's data home."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, cli_env, duck, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layout_projects import layouts_file, project_copy, run_in
from vendor_files import VendorSpec, vendor_specs

from dlt_pipelines.layouts import LAYOUTS_FILE, LayoutConfigError, _parse_entry, load_layouts
from dlt_pipelines.text_tables import UnreadableFile
from smartmeter.layouts_cli.declarations import KNOWN_KEYS, read_declarations
from smartmeter.layouts_cli.draft import (
    FUTURE_KEYS,
    PROBE_AT,
    PROBE_ENTRY,
    flow_yaml,
    language_has,
)
from smartmeter.layouts_cli.recognition import recognize_file
from smartmeter.layouts_cli.sample import NotTabular, parse_stamp, stamp_format
from smartmeter.layouts_cli.suggestion import suggest

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def builtin_entries() -> list[dict]:
    return yaml.safe_load(LAYOUTS_FILE.read_text())["layouts"]


def write_layouts(path: Path, entries: list) -> Path:
    path.write_text(yaml.safe_dump({"layouts": entries}, sort_keys=False))
    return path


# Ways to break an entry, each with the key the error must name.
BREAKS = {
    "timestamp.format": lambda e: e["timestamp"].pop("format"),
    "timestamp.timezone": lambda e: e["timestamp"].update(timezone="Mars/Olympus_Mons"),
    "shape": lambda e: e.update(shape="diagonal"),
    "encoding": lambda e: e.update(encoding="ebcdic"),
    "values": lambda e: e.update(values="sometimes"),
    "name": lambda e: e.update(name=f"Not Snake {e['name']}"),
    "delimiter": lambda e: e.update(delimiter=";;"),
    "timestamp.marks": lambda e: e["timestamp"].update(marks="middle"),
}


# -- check -----------------------------------------------------------------------------------


def test_the_builtin_layouts_check_clean():
    declarations = read_declarations()
    assert declarations.ok, declarations.errors
    assert [lay.name for lay in declarations.layouts] == [lay.name for lay in load_layouts()]


@FAST
@given(st.data())
def test_every_broken_entry_is_named_once_with_its_key(tmp_path_factory, data):
    entries = builtin_entries()
    broken = data.draw(
        st.dictionaries(
            st.sampled_from(range(len(entries))), st.sampled_from(sorted(BREAKS)), max_size=4
        )
    )
    for index, key in broken.items():
        BREAKS[key](entries[index])
    path = write_layouts(tmp_path_factory.mktemp("check") / "layouts.yml", entries)
    declarations = read_declarations(path)
    assert len(declarations.errors) == len(broken)
    for error, (index, key) in zip(declarations.errors, sorted(broken.items()), strict=True):
        assert error.key == key, error
        assert f"'{entries[index]['name']}'" in error.message or "entry" in error.message
    assert sorted(lay.name for lay in declarations.layouts) == sorted(
        e["name"] for i, e in enumerate(entries) if i not in broken
    )
    # The loader agrees: it refuses the file exactly when check finds a parser error.
    parser_keys = set(broken.values()) - {"timestamp.timezone"}
    load_layouts.cache_clear()
    if parser_keys:
        with pytest.raises(LayoutConfigError):
            load_layouts(path)
    else:
        load_layouts(path)


def test_duplicates_and_non_mappings_are_errors_too(tmp_path):
    entries = builtin_entries()
    entries.append(dict(entries[0]))
    entries.append("just a string")
    declarations = read_declarations(write_layouts(tmp_path / "layouts.yml", entries))
    assert [(e.entry, e.key) for e in declarations.errors] == [
        (f"entry {len(entries)}", None),
        ("canonical", "name"),
    ]


def test_a_draft_is_checked_with_the_active_layouts(tmp_path):
    draft = tmp_path / "draft.yml"
    draft.write_text(yaml.safe_dump([builtin_entries()[1]]))  # lcl_original again
    declarations = read_declarations(draft)
    assert [(e.entry, e.key) for e in declarations.errors] == [("lcl_original", "name")]
    assert len(declarations.entries) == len(builtin_entries()) + 1


# -- which -----------------------------------------------------------------------------------


@FAST
@given(st.data())
def test_a_near_miss_names_exactly_the_header_fields_missing(tmp_path_factory, data):
    layouts = [lay for lay in load_layouts() if lay.shape in ("long", "wide")]
    layout = data.draw(st.sampled_from(layouts))
    fields = list(layout.header_includes)
    dropped = data.draw(st.sets(st.sampled_from(fields), min_size=1, max_size=len(fields)))
    kept = [f for f in fields if f not in dropped] + ["extra_column"]
    kept = data.draw(st.permutations(kept))
    path = tmp_path_factory.mktemp("which") / "f.csv"
    path.write_text(layout.delimiter.join(kept) + "\n" + layout.delimiter.join("1" * len(kept)))
    result = recognize_file(path, list(load_layouts()))
    miss = next(m for m in result.misses if m.layout == layout.name)
    shown = miss.failures[-1]
    assert shown.startswith("header_includes: missing ")
    assert sorted(shown.removeprefix("header_includes: missing ").split(", ")) == sorted(
        repr(f) for f in dropped
    )


def test_which_names_the_recognizing_layout_and_the_nem12_miss():
    result = recognize_file(FIXTURES / "canonical_small.csv", list(load_layouts()))
    assert result.recognized == "canonical"
    nem12 = next(m for m in result.misses if m.layout == "nem12")
    assert nem12.failures == ("record_types: first field 'meter_id' is not one of 100, 200",)


def test_which_sees_a_header_pushed_down_by_a_preamble(tmp_path):
    path = tmp_path / "f.csv"
    body = (FIXTURES / "canonical_small.csv").read_text()
    path.write_text("Account Number,0123\nName,Someone\n\n" + body)
    result = recognize_file(path, list(load_layouts()))
    assert result.recognized is None
    assert result.later_header == (4, "canonical")


# -- suggest ---------------------------------------------------------------------------------


def _asks_for(draft, path: str) -> bool:
    """The draft declares the key: for real when the loader's parser knows it, else as a
    commented line naming it."""
    if path in draft.needs:
        return f"# {path}: " in draft.yaml_text("f.csv")
    top, _, sub = path.partition(".")
    return language_has(PROBE_AT.get(path, path)) and (
        sub in draft.entry.get(top, {}) if sub else top in draft.entry
    )


def _suggested(tmp_path: Path, spec: VendorSpec):
    path = tmp_path / spec.file_name
    path.write_bytes(spec.content())
    return path, suggest(path, list(load_layouts()))


def _reads_every_stamp(spec: VendorSpec, fmt: str) -> bool:
    for slot in range(spec.slots):
        when = spec.stamp(slot)
        text = f"{spec._date(when)} {when.strftime('%H:%M')}"
        if fmt == "iso8601":
            if datetime.fromisoformat(text) != when:
                return False
        elif datetime.strptime(text, fmt) != when:
            return False
    return True


@FAST
@given(vendor_specs())
def test_suggest_reads_what_the_file_holds(tmp_path_factory, spec):
    path, draft = _suggested(tmp_path_factory.mktemp("suggest"), spec)
    entry = draft.entry
    assert entry["delimiter"] == spec.delimiter
    assert entry["decimal_mark"] == spec.decimal_mark
    assert entry["interval_minutes"]["default"] == spec.interval_minutes
    assert entry["unit"] == {"fixed": spec.unit}
    assert entry["value"] == {"column": f"{spec.value_header} ({spec.unit})"}
    assert entry["shape"] == "long"
    assert _reads_every_stamp(spec, entry["timestamp"]["format"])
    if spec.split_date_time:
        assert _asks_for(draft, "timestamp.columns")
    else:
        assert entry["timestamp"]["column"] == "Interval Start"
    if spec.meter_header:
        assert entry["meter_id"] == {"column": spec.meter_header}
    else:
        assert _asks_for(draft, "file_fields.meter_id")
        assert _asks_for(draft, "meter_id.file_field")
    assert _asks_for(draft, "recognize.header_within") == bool(spec.preamble)
    # The printed draft is YAML: one entry, equal to the draft, whatever it needs.
    printed = yaml.safe_load(draft.yaml_text(path.name))
    assert printed == [entry]


@FAST
@given(vendor_specs(loadable_today=True))
def test_a_suggestion_for_a_file_of_todays_keys_checks_and_recognizes_it(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("draft")
    path, draft = _suggested(folder, spec)
    assert not draft.needs
    (folder / "draft.yml").write_text(draft.yaml_text(path.name))
    declarations = read_declarations(folder / "draft.yml")
    assert declarations.ok, declarations.errors
    assert recognize_file(path, declarations.layouts).recognized == draft.entry["name"]
    for layout in declarations.layouts[:-1]:
        assert _parse_entry(layout.declaration, 0).name == layout.name


FIELDS = st.one_of(
    st.sampled_from(["", "-", "?", "kWh", "W", "Meter", "Notes", "usage (kWh)", '="0012"']),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1)).map(
        lambda d: d.strftime("%d/%m/%Y %H:%M")
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=12),
)


@FAST
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    rows=st.lists(st.lists(FIELDS, min_size=1, max_size=6), min_size=1, max_size=25),
    bom=st.booleans(),
)
def test_suggest_on_any_text_drafts_yaml_of_todays_keys_or_says_why_not(
    tmp_path_factory, delimiter, rows, bom
):
    path = tmp_path_factory.mktemp("any") / "any.csv"
    text = "\n".join(delimiter.join(row) for row in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    try:
        draft = suggest(path, list(load_layouts()))
    except (NotTabular, UnreadableFile):
        return
    assert yaml.safe_load(draft.yaml_text(path.name)) == [draft.entry]
    known = {k.split(".")[0] for k in FUTURE_KEYS if language_has(PROBE_AT.get(k, k))}
    assert set(draft.entry) <= KNOWN_KEYS | known
    assert set(draft.needs) <= set(FUTURE_KEYS)


def test_a_green_button_style_export_gets_its_needs_named(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_bytes(
        b"\xef\xbb\xbfName,A. Customer,,,\nAddress,somewhere,,,\nAccount Number,0123456,,,\n"
        b"Service,Electric,,,\n\nTYPE,DATE,START TIME,END TIME,USAGE (kWh),COST,NOTES\n"
        + b"".join(
            f"{kind} usage,1/{d}/2024,{h}:00,{h}:59,0.{h + 1},$0.0{h % 9},\n".encode()
            for kind in ("Electric", "Gas")
            for d in (13, 14)
            for h in range(10, 24)
        )
    )
    draft = suggest(path, list(load_layouts()))
    text = draft.yaml_text(path.name)
    wanted = {
        "recognize.header_within": 16,
        "timestamp.columns": ["DATE", "START TIME"],
        "timestamp.end": {"columns": ["DATE", "END TIME"], "inclusive": True},
        "file_fields.meter_id": [{"preamble": "Account Number"}],
        "meter_id.file_field": "meter_id",
        "select": {"column": "TYPE", "values": ["Electric usage"]},
    }
    for path, value in wanted.items():
        assert _asks_for(draft, path), path
        top, _, sub = path.partition(".")
        if path in draft.needs:
            assert f"# {path}: {flow_yaml(value)}" in text
        else:
            assert (draft.entry[top][sub] if sub else draft.entry[top]) == value
    assert set(draft.needs) <= set(wanted)
    assert draft.entry["timestamp"]["format"] == "%m/%d/%Y %H:%M"
    assert draft.entry["interval_minutes"] == {"default": 60}
    assert draft.entry["unit"] == {"fixed": "kWh"}
    assert "byte-order mark" in text


def test_suggest_reads_the_real_files_as_their_layouts_do(real_data):
    """For each real tabular file, the draft names the columns, unit, interval and delimiter
    the built-in layout that reads it declares."""
    layouts = list(load_layouts())
    files = [
        real_data / "lcl-london-smart-meters/original-layout/MAC000002.csv",
        real_data / "lcl-london-smart-meters/kaggle-halfhourly-2013/MAC000002.csv",
        *sorted((real_data / "sgsc-smart-grid-smart-city").glob("*.csv")),
    ]
    for path in files:
        declared = next(
            lay.declaration
            for lay in layouts
            if lay.name == recognize_file(path, layouts).recognized
        )
        entry = suggest(path, layouts).entry
        for key in ("delimiter", "decimal_mark", "meter_id", "value", "unit", "values"):
            assert entry.get(key) == declared.get(key), (path.name, key)
        assert entry["timestamp"]["column"] == declared["timestamp"]["column"]
        assert entry["interval_minutes"]["default"] == declared["interval_minutes"]["default"]
        assert list(entry.get("registers") or {}) == list(declared.get("registers") or {})


def test_the_language_probe_asks_the_loaders_parser():
    """A key is emitted for real only when the parser objects to nonsense under it; the probe's
    own entry is one it accepts, and a name nobody declares is never taken for a key."""
    _parse_entry(PROBE_ENTRY, 0)
    assert not language_has("zz_no_such_key")
    assert not language_has("timestamp.zz_no_such_key")
    assert language_has("timestamp.marks") and language_has("register_rollover_kwh")


def test_the_interval_is_read_in_utc_across_a_dst_change(tmp_path):
    path = tmp_path / "dst.csv"
    stamps = ["01:30+01:00", "01:45+01:00", "03:00+02:00", "03:15+02:00", "03:30+02:00"]
    path.write_text(
        "Meter ID,Interval End,Energy (kWh)\n"
        + "".join(f"M1,2024-03-31T{s},0.{i + 1}\n" for i, s in enumerate(stamps))
    )
    entry = suggest(path, list(load_layouts())).entry
    assert entry["interval_minutes"] == {"default": 15}
    assert entry["timestamp"]["marks"] == "end" and entry["timestamp"]["format"] == "iso8601"


def test_stamp_formats_and_ambiguity():
    assert stamp_format(["2024-01-13T00:30:00Z"]).has_offset
    both = stamp_format(["01/02/2024 00:30", "03/04/2024 01:00"])
    assert both.format == "%d/%m/%Y %H:%M" and both.ambiguous_with == "%m/%d/%Y %H:%M"
    us = stamp_format(["1/13/2024 0:30"])
    assert us.format == "%m/%d/%Y %H:%M" and us.ambiguous_with is None
    assert parse_stamp("1/13/2024 0:30", us) == datetime(2024, 1, 13, 0, 30)
    assert stamp_format(["12345678", "6001234567"]) is None  # ids are not dates


# -- the command line ------------------------------------------------------------------------


def test_check_and_which_on_the_command_line(tmp_path, home):
    entries = builtin_entries()
    BREAKS["timestamp.format"](entries[0])
    BREAKS["encoding"](entries[3])
    bad = write_layouts(tmp_path / "layouts.yml", entries)
    result = run_cli(home, "layouts", "check", "--layouts", str(bad), timeout=120)
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "'canonical'" in lines[0] and "format" in lines[0]
    assert "'sgsc'" in lines[1] and "encoding" in lines[1]
    as_json = json.loads(
        run_cli(home, "layouts", "check", "--json", "--layouts", str(bad), timeout=120).stdout
    )
    assert [(e["entry"], e["key"]) for e in as_json["errors"]] == [
        ("canonical", "timestamp.format"),
        ("sgsc", "encoding"),
    ]
    ok = run_cli(home, "layouts", "check", timeout=120)
    assert ok.returncode == 0 and f"{len(builtin_entries())} layouts, no errors" in ok.stdout
    sample = tmp_path / "x.csv"
    sample.write_text("meter_id,timestamp,value\nA,2024-01-01T00:00Z,1\n")
    which = run_cli(home, "layouts", "which", str(sample), timeout=120)
    assert which.returncode == 1
    assert "  canonical: header_includes: missing 'unit'" in which.stdout.splitlines()
    which_json = json.loads(
        run_cli(home, "layouts", "which", "--json", str(sample), timeout=120).stdout
    )
    assert which_json["recognized"] is None
    assert which_json["near_misses"][0]["layout"] == "canonical"
    found = run_cli(home, "layouts", "which", str(FIXTURES / "canonical_small.csv"), timeout=120)
    assert found.returncode == 0 and "recognized as 'canonical'" in found.stdout
    # A file no layout reads is what the pipeline would dead-letter: preview says so.
    unknown = run_cli(home, "layouts", "preview", str(sample), timeout=300)
    assert unknown.returncode == 1
    assert "dead-lettered: no layout in layouts.yml recognizes this file" in unknown.stderr
    assert not home.joinpath("warehouse.duckdb").exists()


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_preview_judges_the_file_and_leaves_the_home_alone(tmp_path, home):
    (home / "landing" / "waiting.csv").write_text("meter_id,timestamp,value,unit\n")
    before = _tree_digest(home)
    sample = tmp_path / "sample.csv"
    rows = [
        "meter_id,timestamp,value,unit,interval_minutes",
        "M1,2024-01-01T00:00:00Z,0.5,kWh,30",
        "M1,2024-01-01T00:30:00Z,oops,kWh,30",
        "M1,2024-01-01T01:00:00Z,1000,W,30",
        "M1,2024-01-01T01:00:00Z,1000,W,30",
        ",2024-01-01T01:30:00Z,0.2,kWh,30",
    ]
    sample.write_text("\n".join(rows) + "\n")
    result = run_cli(home, "layouts", "preview", str(sample), "-n", "10", "--json", timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    preview = json.loads(result.stdout)
    assert preview["layout"] == "canonical"
    verdicts = [(r["source_line"], r["verdict"]) for r in preview["readings"]]
    assert verdicts == [
        (2, "published"),
        (3, "unparseable_value"),
        (4, "published"),
        (5, "duplicate_copy"),
        (6, "missing_meter_id"),
    ]
    assert preview["readings"][2]["kw"] == pytest.approx(1.0)
    balance = preview["balance"]
    assert (balance["raw_values"], balance["published"], balance["quarantined"]) == (5, 2, 2)
    assert balance["duplicate_copies"] == 1 and balance["is_balanced"]
    assert _tree_digest(home) == before
    text = run_cli(home, "layouts", "preview", str(sample), "-n", "1", timeout=600)
    assert text.returncode == 0, text.stderr
    # One reading shown (line 3's "oops" is not), the whole file in the balance.
    assert "published" in text.stdout and "oops" not in text.stdout
    assert "file balance: 5 values in 5 rows: 2 published, 2 quarantined" in text.stdout
    assert _tree_digest(home) == before


@pytest.mark.slow
def test_preview_reads_a_vendor_file_with_its_suggested_draft(tmp_path, home):
    """The workflow: suggest a draft, preview the file with it, before layouts.yml changes."""
    spec = LOADABLE[1]  # Wh, unpadded month-first dates, a BOM, voltage and cost columns
    sample = tmp_path / "vendor_b.csv"
    sample.write_bytes(spec.content())
    before = _tree_digest(home)
    drafted = run_cli(home, "layouts", "suggest", str(sample), timeout=120)
    assert drafted.returncode == 0, drafted.stderr
    draft = tmp_path / "draft.yml"
    draft.write_text(drafted.stdout)
    layouts_before = LAYOUTS_FILE.read_bytes()
    result = run_cli(
        home, "layouts", "preview", str(sample), "--layouts", str(draft), "--json", timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    preview = json.loads(result.stdout)
    assert preview["layout"] == yaml.safe_load(drafted.stdout)[0]["name"]
    assert {r["verdict"] for r in preview["readings"]} == {"published"}
    first = preview["readings"][0]
    assert first["kw"] == pytest.approx(spec.value(0, 0) / 1000 * 60 / spec.interval_minutes)
    assert preview["balance"]["published"] == spec.slots * len(spec.meters)
    assert LAYOUTS_FILE.read_bytes() == layouts_before
    assert _tree_digest(home) == before


# Vendor files today's keys can declare, one of each kind the suggestion must read right.
LOADABLE = [
    VendorSpec(
        ";",
        ",",
        "%d.%m.%Y",
        False,
        False,
        15,
        "kWh",
        "Zaehlpunkt ID",
        "Verbrauch",
        ["DE-1", "DE-2"],
        96,
        ["Reactive (kVARh)"],
        encoding="latin-1",
    ),
    VendorSpec(
        "|",
        ".",
        "%m/%d/%Y",
        True,
        False,
        30,
        "Wh",
        "Meter ID",
        "Delivered",
        ["6001234567"],
        48,
        ["Voltage (V)", "Cost"],
        bom=True,
    ),
    VendorSpec(
        "\t",
        ".",
        "%Y-%m-%d",
        False,
        False,
        60,
        "kW",
        "Device Serial",
        "Demand",
        ["SER-9"],
        24,
        ["Temperature", "Notes"],
    ),
    VendorSpec(
        ",", ".", "%d/%m/%Y", True, False, 5, "kWh", "Service Point", "Import", ["SP-1"], 60, []
    ),
]


# Vendor files only the extended language can declare: a preamble, a date and a time in two
# columns, the meter id in the preamble.
NEEDING_KEYS = [
    VendorSpec(
        ",",
        ".",
        "%m/%d/%Y",
        True,
        True,
        15,
        "kWh",
        None,
        "Usage",
        ["0012345678"],
        96,
        ["Cost"],
        preamble=["Name,A. Customer,,", "Account Number,0123456,,", ""],
    ),
    VendorSpec(
        ";", ",", "%d.%m.%Y", False, True, 30, "Wh", "Zaehlpunkt", "Verbrauch", ["DE-9"], 48, []
    ),
    VendorSpec(
        "\t",
        ".",
        "%Y-%m-%d",
        False,
        False,
        60,
        "kW",
        "Meter ID",
        "Demand",
        ["M-7"],
        24,
        ["Temperature"],
        preamble=["Report\tInterval data", "Generated\t2024-02-01", ""],
    ),
]


def _run_suggested(tmp_path: Path, specs: list[VendorSpec], stem: str) -> None:
    """Suggest an entry for each file, append them all to a copy of the project's layouts.yml,
    and load the files with `smartmeter run`: each layout's kWh is its file's own sum, every
    file balances with nothing quarantined."""
    project = project_copy(tmp_path)
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    layouts = layouts_file(project)
    expected = {}
    for i, spec in enumerate(specs):
        sample = tmp_path / f"vendor{i}" / f"{stem}_{'abcdefgh'[i]}.csv"
        sample.parent.mkdir()
        sample.write_bytes(spec.content())
        drafted = subprocess.run(
            [sys.executable, "-m", "smartmeter.cli", "layouts", "suggest", str(sample)],
            cwd=project,
            env=cli_env(PYTHONPATH=str(project)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert drafted.returncode == 0, drafted.stderr
        assert "Not loadable yet" not in drafted.stdout, drafted.stdout
        layouts.write_text(layouts.read_text() + "\n" + drafted.stdout)
        expected[yaml.safe_load(drafted.stdout)[0]["name"]] = spec.expected_kwh
        shutil.copy(sample, home / "landing" / sample.name)
    result = run_in(project, home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    with duck(home) as con:
        loaded = dict(
            con.execute(
                "select layout, sum(kwh) from marts.fct_readings where not is_estimated group by 1"
            ).fetchall()
        )
        balanced = con.execute(
            "select count(*) from marts.file_reading_balance where is_balanced and quarantined = 0"
        ).fetchone()[0]
    assert loaded.keys() == expected.keys()
    for name, kwh in expected.items():
        assert loaded[name] == pytest.approx(kwh, rel=1e-9), name
    assert balanced == len(specs)


@pytest.mark.slow
def test_suggested_entries_load_the_vendor_files_with_their_own_kwh(tmp_path):
    _run_suggested(tmp_path, LOADABLE, "vendor")


@pytest.mark.slow
def test_suggested_entries_with_the_extended_keys_load_with_their_own_kwh(tmp_path):
    needed = ("recognize.header_within", "timestamp.columns", "file_fields")
    if not all(language_has(k) for k in needed):
        pytest.skip("the loader's layout language has no preamble, split stamp or file keys")
    _run_suggested(tmp_path, NEEDING_KEYS, "extended")
