"""Reading a delivered file as untouched text: values, line numbers, encodings, bad input."""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path

import pytest
from conftest import FIXTURES, REAL_DATA, count_data_lines

from dlt_pipelines.layouts import LayoutConfigError, load_layouts, raw_column_name, recognize
from dlt_pipelines.text_tables import UnreadableFile, read_text_table

SHA = "0" * 64


def read(data: bytes, name: str = "f.csv"):
    return read_text_table(data, name, SHA)


def column(table, name: str) -> list:
    return table.rows.column(name).to_pylist()


def test_fields_stay_exactly_as_written():
    table = read((FIXTURES / "canonical_small.csv").read_bytes())
    assert table.layout.name == "canonical"
    assert column(table, "meter_id") == ["0012", "0012", "0012", "MTR, quoted"]
    assert column(table, "value") == [" 0.219 ", "Null", "0.250", "1.5"]
    assert column(table, "unit") == ["kWh", "kWh", "KWH", " kw "]
    assert column(table, "_source_line") == [2, 3, 4, 5]
    assert set(column(table, "_file_sha256")) == {SHA}
    assert table.rows.schema.field("value").type == "string"


def test_empty_fields_are_empty_text_not_null():
    table = read((FIXTURES / "wide_small.csv").read_bytes())
    assert table.layout.name == "wide"
    assert column(table, "field_0003") == ["0.20", "0.21", "", "0.23"]
    assert table.headers.column("header").to_pylist() == ["local_time", "WIDE-A", "WIDE-B"]


def test_line_numbers_count_blank_lines_and_crlf():
    data = b"\r\nmeter_id,timestamp,value,unit\r\nA,t1,1,kW\r\n\r\nA,t2,2,kW\r\n\nA,t3,3,kW"
    table = read(data)
    assert column(table, "_source_line") == [3, 5, 7]
    assert column(table, "value") == ["1", "2", "3"]


def test_quoted_newline_keeps_record_start_line():
    data = b'meter_id,timestamp,value,unit\nA,t1,1,kW\n"B\nC",t2,2,kW\nD,t3,3,kW\n'
    table = read(data)
    assert column(table, "meter_id") == ["A", "B\nC", "D"]
    assert column(table, "_source_line") == [2, 3, 5]


def test_gzip_reads_like_the_plain_file():
    plain = (FIXTURES / "canonical_small.csv").read_bytes()
    assert (
        read(gzip.compress(plain))
        .rows.drop_columns(["_source_file"])
        .equals(read(plain).rows.drop_columns(["_source_file"]))
    )


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    ],
    ids=["utf8-bom", "utf16-bom"],
)
def test_byte_order_marks(encode):
    table = read(encode("meter_id,timestamp,value,unit\nZürich-1,t1,1,kW\n"))
    assert column(table, "meter_id") == ["Zürich-1"]


def test_header_only_file_has_no_rows_but_keeps_its_header():
    table = read(b"meter_id,timestamp,value,unit\n")
    assert table.data_rows == 0
    assert table.headers.num_rows == 4


def test_semicolon_layout_with_decimal_comma():
    table = read((FIXTURES / "semicolon_kw.csv").read_bytes())
    assert table.layout.name == "semicolon_kw"
    assert column(table, "leistung_kw") == ["1,25", "1,50"]


@pytest.mark.parametrize(
    ("data", "reason", "says"),
    [
        (b"", "empty_file", "empty"),
        (b"  \n\r\n", "empty_file", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary_file", "binary"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt_gzip", "gzip"),
        (b"foo,bar\n1,2\n", "unknown_layout", "'foo,bar'"),
        (b"meter_id,timestamp,value,unit\nA,t1,1,kW\nA,t2,2,kW,extra\n", "ragged_rows", "line 3"),
        (
            b"meter_id,timestamp,value,unit\nA,t1,1,kW\nZ\xfcrich,t2,2,kW\n",
            "bad_encoding",
            "line 3",
        ),
    ],
    ids=["empty", "whitespace", "binary", "corrupt-gzip", "unknown", "ragged", "latin1"],
)
def test_unreadable_files_say_why(data, reason, says):
    with pytest.raises(UnreadableFile) as caught:
        read(data)
    assert caught.value.reason == reason
    assert says in str(caught.value)


def test_raw_column_names_are_stable_and_sql_safe():
    assert raw_column_name("KWH/hh (per half hour)") == "kwh_hh_per_half_hour"
    assert raw_column_name(" energy(kWh/hh) ") == "energy_kwh_hh"
    assert raw_column_name("\ufeffLCLid") == "lclid"
    assert raw_column_name("30min") == "c_30min"


def test_layout_config_errors_are_clear(tmp_path: Path):
    bad = tmp_path / "layouts.yml"
    bad.write_text(
        "layouts:\n  - name: x\n    shape: round\n    recognize: {header_includes: [a]}\n"
    )
    with pytest.raises(LayoutConfigError, match="shape must be one of"):
        load_layouts(bad)
    bad.write_text(
        "layouts:\n  - name: x\n    shape: long\n    recognize: {header_includes: [a]}\n"
    )
    with pytest.raises(LayoutConfigError, match="missing required key 'timestamp'"):
        load_layouts(bad)


EXPECTED_LAYOUTS = {
    "lcl-london-smart-meters/original-layout": "lcl_original",
    "lcl-london-smart-meters/kaggle-halfhourly-2013": "lcl_kaggle",
    "sgsc-smart-grid-smart-city": "sgsc",
    "nem12-australian-household": "nem12",
}


@pytest.mark.parametrize("folder", sorted(EXPECTED_LAYOUTS))
def test_every_real_file_is_recognized_and_read_whole(folder, real_data):
    files = sorted((real_data / folder).glob("*.csv"))
    assert files
    for path in files:
        table = read(path.read_bytes(), path.name)
        assert table.layout.name == EXPECTED_LAYOUTS[folder], path
        assert table.data_rows == count_data_lines(path, table.layout.has_header), path


def test_lcl_quirks_survive_untouched(real_data):
    path = real_data / "lcl-london-smart-meters/original-layout/MAC000002.csv"
    rows = read(path.read_bytes()).rows
    by_line = dict(
        zip(
            rows.column("_source_line").to_pylist(),
            rows.column("kwh_hh_per_half_hour").to_pylist(),
            strict=True,
        )
    )
    assert by_line[2] == " 0 "
    assert by_line[3242] == "Null"


def test_nem12_records_keep_their_positions(real_data):
    rows = read((real_data / "nem12-australian-household/meter01.csv").read_bytes()).rows
    first = rows.slice(0, 1).to_pylist()[0]
    assert first["_source_line"] == 2  # line 1 is blank
    assert first["field_001"] == "200"
    assert first["field_008"] == "KWH"
    assert {r for r in rows.column("field_001").to_pylist()} == {"200", "300", "400"}


def test_recognition_is_by_content_not_name():
    assert recognize("LCLid,tstp,energy(kWh/hh)").name == "lcl_kaggle"
    assert recognize("lclid , TSTP,ENERGY(KWH/HH)").name == "lcl_kaggle"
    assert recognize("100,NEM12,200506081149,UNITEDDP,NEMMCO").name == "nem12"
    assert recognize("a,b,c") is None


def test_real_data_path_is_where_the_tests_expect_it():
    assert REAL_DATA.name == "real"
