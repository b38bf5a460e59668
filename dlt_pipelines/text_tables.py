"""Turn one delivered file into an Arrow table of untouched text fields plus lineage.

Every field stays exactly as written (`0012` stays `0012`, ` 0.219 ` keeps its spaces, `Null`
stays `Null`); only CSV quoting is undone. Rows carry the 1-based line number they came from.
Tabular layouts are parsed by pyarrow's multi-threaded CSV reader; NEM12 record files, whose
records differ in width, by the csv module (one record per meter-day, never the hot path).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from dlt_pipelines import espi_xml
from dlt_pipelines.file_zones import ZoneRule, zone_of_file
from dlt_pipelines.layouts import (
    Layout,
    LayoutConfigError,
    file_field_column,
    leading_lines,
    load_layouts,
    normalize_header,
    raw_column_name,
    recognize_lines,
    split_line,
)

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 64 * 1024
HEADER_SCHEMA = pa.schema(
    [
        ("position", pa.int32()),
        ("raw_column", pa.string()),
        ("header", pa.string()),
        ("_source_line", pa.int64()),
        # What a wide file's header field is (layouts.yml `columns`): timestamp, meter, quality
        # (the source's own quality flags) or ignored; for a meter, its id and channel.
        ("role", pa.string()),
        ("meter_id", pa.string()),
        ("channel", pa.string()),
    ]
)
# The lines before a header (a customer download's Name/Account/Service lines): kept apart from
# the readings, one row per non-empty line, split into key (first field) and value (the rest).
PREAMBLE_SCHEMA = pa.schema(
    [
        ("_source_line", pa.int64()),
        ("key", pa.string()),
        ("value", pa.string()),
        ("line_text", pa.string()),
    ]
)


# The zone a file's wall clock is read in when its data home sets one (file_zones.py).
ZONE_SCHEMA = pa.schema(
    [("layout", pa.string()), ("timezone", pa.string()), ("timezone_from", pa.string())]
)


class UnreadableFile(Exception):
    """A file that can never load as it is (a permanent failure: dead-letter it).

    `reason` is a short stable code for grouping; the message says what to fix."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class TextTable:
    layout: Layout
    rows: pa.Table  # text fields + _source_line, _source_file, _file_sha256
    headers: pa.Table  # one row per header field (empty for record layouts)
    preamble: pa.Table = field(default_factory=PREAMBLE_SCHEMA.empty_table)  # before the header
    zone: pa.Table = field(default_factory=ZONE_SCHEMA.empty_table)  # the home's zone, if any

    @property
    def data_rows(self) -> int:
        return self.rows.num_rows


def decode_content(data: bytes) -> bytes:
    """Undo gzip and Unicode byte-order marks; reject binary data."""
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile(
                "corrupt_gzip", f"gzip data is corrupt or truncated: {exc}"
            ) from exc
    if not data or data.isspace():
        raise UnreadableFile("empty_file", "the file is empty (no text at all)")
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise UnreadableFile("bad_encoding", f"UTF-16 text is malformed: {exc}") from exc
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data[:SNIFF_BYTES]:
        raise UnreadableFile(
            "binary_file", "the file holds binary data (NUL bytes), not delimited text"
        )
    return data


def constant(value: str, length: int, block: int = 1 << 16) -> pa.ChunkedArray:
    """One string repeated `length` times, cheaply: every chunk shares one block's buffers."""
    chunk = pa.repeat(pa.scalar(value, pa.string()), min(length, block))
    full, rest = divmod(length, block)
    chunks = [chunk] * full + ([chunk.slice(0, rest)] if rest else [])
    return pa.chunked_array(chunks, type=pa.string())


def read_text_table(
    data: bytes,
    source_file: str,
    sha256: str,
    zone_rules: dict[str, ZoneRule] | None = None,
    xml_max_bytes: int = espi_xml.MAX_XML_BYTES,
) -> TextTable:
    """Recognize the layout of `data` (the bytes as delivered) and read it as text;
    `zone_rules`: the data home's own zones (file_zones.py); `xml_max_bytes`: the largest
    Green Button XML document read."""
    content = decode_content(data)
    if espi_xml.looks_like_xml(content):
        return _read_xml(content, source_file, sha256, xml_max_bytes)
    layouts = load_layouts()
    lines = leading_lines(content[:SNIFF_BYTES].decode("utf-8", errors="replace"), layouts)
    if not any(line.strip() for line in lines):
        raise UnreadableFile("empty_file", "the file has no non-empty line")
    found = recognize_lines(lines, layouts)
    if found is None:
        first_line = next(line for line in lines if line.strip())
        shown = first_line if len(first_line) <= 120 else first_line[:117] + "..."
        raise UnreadableFile(
            "unknown_layout",
            f"no layout in layouts.yml recognizes this file; its first line is {shown!r}",
        )
    layout, header_index = found
    if layout.encoding != "utf-8":
        content = content.decode(layout.encoding).encode("utf-8")
    body_start = _end_of_line(content, header_index)
    starts, ends = line_spans(content[:body_start])
    text_of = [
        content[starts[i] : ends[i]].decode("utf-8", errors="replace")
        for i in range(header_index + 1)
    ]
    preamble_lines = list(enumerate(text_of[:header_index]))
    if layout.block_title is not None:
        rows, headers, block_lines = _read_blocks(content, header_index, preamble_lines, layout)
    elif layout.has_header:
        rows, headers = _read_tabular(
            content, header_index, text_of[header_index], body_start, layout
        )
        block_lines = []
    else:
        rows, headers = _read_records(content, layout), HEADER_SCHEMA.empty_table()
        block_lines = []
    preamble = _preamble_table(preamble_lines + block_lines, layout)
    for name, (value, origin) in file_fields(layout, preamble_lines, source_file).items():
        column = file_field_column(name)
        rows = rows.append_column(column, _constant_or_null(value, rows.num_rows))
        rows = rows.append_column(f"{column}_from", _constant_or_null(origin, rows.num_rows))
    found_zone = zone_of_file(zone_rules or {}, layout.name, source_file)
    zone = pa.Table.from_pylist(
        [dict(zip(ZONE_SCHEMA.names, (layout.name, *found_zone), strict=True))]
        if found_zone
        else [],
        schema=ZONE_SCHEMA,
    )
    for column, text in (("_source_file", source_file), ("_file_sha256", sha256)):
        rows = rows.append_column(column, constant(text, rows.num_rows))
        headers = headers.append_column(column, constant(text, headers.num_rows))
        preamble = preamble.append_column(column, constant(text, preamble.num_rows))
        zone = zone.append_column(column, constant(text, zone.num_rows))
    return TextTable(layout=layout, rows=rows, headers=headers, preamble=preamble, zone=zone)


def _read_xml(content: bytes, source_file: str, sha256: str, max_bytes: int) -> TextTable:
    """XML is Green Button (ESPI) or nothing: the layout of shape espi reads it."""
    layout = next((lay for lay in load_layouts() if lay.shape == "espi"), None)
    try:
        if layout is None:
            raise espi_xml.XmlRefused("unknown_layout", "no layout of shape espi in layouts.yml")
        rows = espi_xml.read_espi_rows(content, max_bytes)
    except espi_xml.XmlRefused as exc:
        raise UnreadableFile(exc.reason, str(exc)) from exc
    tables = [rows, HEADER_SCHEMA.empty_table(), PREAMBLE_SCHEMA.empty_table()]
    tables.append(ZONE_SCHEMA.empty_table())
    for column, text in (("_source_file", source_file), ("_file_sha256", sha256)):
        tables = [t.append_column(column, constant(text, t.num_rows)) for t in tables]
    rows, headers, preamble, zone = tables
    return TextTable(layout=layout, rows=rows, headers=headers, preamble=preamble, zone=zone)


def _constant_or_null(value: str | None, length: int) -> pa.ChunkedArray:
    if value is None:
        return pa.chunked_array([pa.nulls(length, pa.string())], type=pa.string())
    return constant(value, length)


def _end_of_line(content: bytes, index: int) -> int:
    """Where the line after the 0-based line `index` starts (or the end of the content)."""
    pos = 0
    for _ in range(index + 1):
        end = content.find(b"\n", pos)
        if end < 0:
            return len(content)
        pos = end + 1
    return pos


def _preamble_table(lines: list[tuple[int, str]], layout: Layout) -> pa.Table:
    rows = [(i, split_line(text, layout.delimiter), text) for i, text in lines if text.strip()]
    return pa.table(
        {
            "_source_line": pa.array([i + 1 for i, _, _ in rows], pa.int64()),
            "key": pa.array([_clean_field(f[0]) if f else "" for _, f, _ in rows], pa.string()),
            "value": pa.array(
                [layout.delimiter.join(f[1:]).strip(layout.delimiter + " ") for _, f, _ in rows],
                pa.string(),
            ),
            "line_text": pa.array([text for _, _, text in rows], pa.string()),
        },
        schema=PREAMBLE_SCHEMA,
    )


def _clean_field(text: str) -> str:
    """A preamble key or file-level value as compared and kept: trimmed (also of non-breaking
    spaces), an Excel text formula ="0123" unwrapped."""
    text = text.replace("\u00a0", " ").strip()
    if text.startswith('="') and text.endswith('"') and len(text) >= 3:
        text = text[2:-1]
    return text


def file_fields(
    layout: Layout, preamble: list[tuple[int, str]], source_file: str
) -> dict[str, tuple[str | None, str | None]]:
    """Each declared file-level field (`file_fields`): its value and where it came from (a
    preamble line, the file name or the declaration), trying the sources in order; (None, None)
    when no source has it (a meter id then fails validation as missing)."""
    keyed: list[tuple[int, str, str]] = []
    for index, text in preamble:
        fields = split_line(text, layout.delimiter)
        if len(fields) >= 2:
            keyed.append((index, _clean_field(fields[0]).rstrip(":").strip(), fields[1]))
    base = source_file.replace("\\", "/").rsplit("/", 1)[-1]
    found: dict[str, tuple[str | None, str | None]] = {}
    for name, sources in (layout.declaration.get("file_fields") or {}).items():
        found[name] = (None, None)
        for source in sources:
            value = _file_field_from(source, keyed, base)
            if value is not None:
                found[name] = value
                break
    return found


def _file_field_from(
    source: dict[str, str], keyed: list[tuple[int, str, str]], file_name: str
) -> tuple[str, str] | None:
    ((kind, spec),) = source.items()
    if kind == "fixed":
        return str(spec), "fixed"
    if kind == "preamble":
        wanted = _clean_field(str(spec)).rstrip(":").strip().casefold()
        for index, key, text in keyed:
            if key.casefold() == wanted and _clean_field(text):
                return _clean_field(text), f"preamble line {index + 1}: {key}"
        return None
    match = re.search(spec, file_name)
    if not match:
        return None
    value = match.groupdict().get("value") or next((g for g in match.groups() if g), None)
    return (value.strip(), "file name") if value and value.strip() else None


def _bad_utf8(content: bytes) -> UnreadableFile:
    try:
        codecs.decode(content, "utf-8")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        return UnreadableFile(
            "bad_encoding",
            f"not UTF-8 text: byte 0x{content[exc.start]:02x} on line {line}; re-export as UTF-8 "
            "or declare the layout's encoding in layouts.yml",
        )
    return UnreadableFile("bad_encoding", "not UTF-8 text")


def _column_names(layout: Layout, header: list[str]) -> list[str]:
    if layout.shape == "wide":  # the names are meter ids: data, not schema
        return [f"field_{i:04d}" for i in range(1, len(header) + 1)]
    names: list[str] = []
    for field_text in header:
        base = raw_column_name(field_text)
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def _read_blocks(
    content: bytes, header_index: int, preamble: list[tuple[int, str]], layout: Layout
) -> tuple[pa.Table, pa.Table, list[tuple[int, str]]]:
    """A file of blocks (`blocks.title`): a title line opens a block and sets its fields (named
    groups: a channel, a date) on every row until the next title; a copy of the header inside
    the file is skipped. Titles and repeated headers are kept with the preamble, not read as
    rows. A title before the first header, or the header itself, opens the first block; a
    title may be a block's own header, whose fields are read by position as the first's."""
    try:
        lines = content.decode("utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise _bad_utf8(content) from exc
    lines = [line.removesuffix("\r") for line in lines]
    header = split_line(lines[header_index], layout.delimiter)
    names = _column_names(layout, header)
    title = layout.block_title
    fields = list(title.groupindex)
    clash = [f for f in fields if raw_column_name(f) in names]
    if clash:
        raise UnreadableFile(
            "unexpected_header",
            f"layout '{layout.name}': the block field {clash[0]!r} is also a header field",
        )
    block: dict[str, str | None] = dict.fromkeys(fields)

    def opens_block(text: str) -> bool:
        """A title sets the fields its match took part in; the others keep their value."""
        found = title.search(text)
        if found:
            block.update({f: v for f, v in found.groupdict().items() if v is not None})
        return found is not None

    for _, text in [*preamble, (header_index, lines[header_index])]:
        opens_block(text)  # a title before the header, or the header itself
    wanted = [normalize_header(h) for h in header]
    columns: list[list[str | None]] = [[] for _ in names + fields]
    numbers: list[int] = []
    kept: list[tuple[int, str]] = []
    for index in range(header_index + 1, len(lines)):
        text = lines[index]
        if not text.strip():
            continue
        cells = split_line(text, layout.delimiter)
        # a title (which may be a block's own header: "Energy Received time period,...") or a
        # copy of the header is kept with the preamble, never read as a row
        if opens_block(text) or [normalize_header(c) for c in cells] == wanted:
            kept.append((index, text))
            continue
        if len(cells) != len(names):
            raise UnreadableFile(
                "ragged_rows",
                f"ragged row on line {index + 1}: {len(cells)} fields where the header has "
                f"{len(names)}: {text[:80]!r}",
            )
        for column, value in zip(columns, [*cells, *block.values()], strict=True):
            column.append(value)
        numbers.append(index + 1)
    table = pa.table(
        {
            **{
                name: pa.array(column, pa.string())
                for name, column in zip(
                    names + [raw_column_name(f) for f in fields], columns, strict=True
                )
            },
            "_source_line": pa.array(numbers, pa.int64()),
        }
    )
    return table, _header_table(header, names, header_index, layout), kept


def _header_table(
    header: list[str], names: list[str], header_index: int, layout: Layout
) -> pa.Table:
    """One row per header field: its raw column and, in a wide file, its role."""
    if layout.shape == "wide":
        try:
            roles = layout.wide_header_roles(header)
        except LayoutConfigError as exc:
            raise UnreadableFile("unexpected_header", str(exc)) from exc
    else:
        roles = [(None, None, None)] * len(header)
    return pa.table(
        {
            "position": pa.array(range(1, len(header) + 1), pa.int32()),
            "raw_column": pa.array(names, pa.string()),
            "header": pa.array(header, pa.string()),
            "_source_line": pa.array([header_index + 1] * len(header), pa.int64()),
            "role": pa.array([r[0] for r in roles], pa.string()),
            "meter_id": pa.array([r[1] for r in roles], pa.string()),
            "channel": pa.array([r[2] for r in roles], pa.string()),
        },
        schema=HEADER_SCHEMA,
    )


def _read_tabular(
    content: bytes, header_index: int, header_line: str, body_start: int, layout: Layout
) -> tuple[pa.Table, pa.Table]:
    if "\ufffd" in header_line:
        raise _bad_utf8(content)
    header = split_line(header_line, layout.delimiter)
    names = _column_names(layout, header)
    headers = _header_table(header, names, header_index, layout)
    ragged: list[pacsv.InvalidRow] = []

    def note_ragged(row: pacsv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"

    if not content[body_start:].strip():  # header only: a file with no data rows
        empty = pa.schema([(n, pa.string()) for n in names]).empty_table()
        return empty.append_column("_source_line", pa.array([], pa.int64())), headers
    try:
        table = pacsv.read_csv(
            io.BytesIO(content[body_start:]),
            read_options=pacsv.ReadOptions(column_names=names, block_size=16 << 20),
            parse_options=pacsv.ParseOptions(
                delimiter=layout.delimiter,
                newlines_in_values=False,
                ignore_empty_lines=True,
                invalid_row_handler=note_ragged,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "UTF-8" in str(exc):
            raise _bad_utf8(content) from exc
        raise UnreadableFile(
            "unparseable_csv", f"not readable as {layout.name} CSV: {exc}"
        ) from exc
    if ragged:
        raise _ragged(content, ragged)
    line_numbers = _data_line_numbers(content, header_index, body_start, table.num_rows)
    if line_numbers is None:
        # A quoted value holds a newline: fall back to a parser that tracks record lines.
        table, line_numbers = _read_tabular_slowly(content, header_index, names, layout)
    return table.append_column("_source_line", pa.array(line_numbers, pa.int64())), headers


def _ragged(content: bytes, rows: list[pacsv.InvalidRow]) -> UnreadableFile:
    first = rows[0]
    position = content.find(first.text.encode("utf-8"))
    line = content.count(b"\n", 0, position) + 1
    where = f" on line {line}" if position >= 0 else ""
    more = f" (and {len(rows) - 1} more such rows)" if len(rows) > 1 else ""
    return UnreadableFile(
        "ragged_rows",
        f"ragged row{where}: {first.actual_columns} fields where the header has "
        f"{first.expected_columns}: {first.text[:80]!r}{more}",
    )


def line_spans(content: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets (the end excludes the newline and any CR) of every line."""
    buf = np.frombuffer(content, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    if starts[-1] == len(buf):  # a final newline does not open another line
        starts, ends = starts[:-1], ends[:-1]
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    return starts, ends - has_cr


def _data_line_numbers(
    content: bytes, header_index: int, body_start: int, parsed_rows: int
) -> np.ndarray | None:
    """1-based line numbers of the parsed rows, or None when rows and lines do not pair up
    (a quoted value holding a newline)."""
    first = header_index + 2
    if body_start >= len(content):
        body_lines = 0
    else:
        body_lines = content.count(b"\n", body_start) + (not content.endswith(b"\n"))
    if body_lines == parsed_rows:  # the usual case: no blank lines, one row per line
        return np.arange(first, first + parsed_rows, dtype=np.int64)
    starts, ends = line_spans(content[body_start:])
    numbers = np.flatnonzero(ends > starts) + first
    return numbers if len(numbers) == parsed_rows else None


def _read_tabular_slowly(
    content: bytes, header_index: int, names: list[str], layout: Layout
) -> tuple[pa.Table, list[int]]:
    reader = csv.reader(
        io.StringIO(content.decode("utf-8"), newline=""), delimiter=layout.delimiter
    )
    columns: list[list[str]] = [[] for _ in names]
    lines: list[int] = []
    start_line = 1
    for i, record in enumerate(reader):
        if i > header_index and record:
            if len(record) != len(names):
                raise UnreadableFile(
                    "ragged_rows",
                    f"ragged row on line {start_line}: {len(record)} fields where the header "
                    f"has {len(names)}",
                )
            for column, value in zip(columns, record, strict=True):
                column.append(value)
            lines.append(start_line)
        start_line = reader.line_num + 1
    table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(names, columns, strict=True)})
    return table, lines


def _read_records(content: bytes, layout: Layout) -> pa.Table:
    """Record files (NEM12): positional fields field_001.. as wide as the widest record."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad_utf8(content) from exc
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=layout.delimiter)
    records: list[list[str]] = []
    lines: list[int] = []
    start_line = 1
    for record in reader:
        if record:
            records.append(record)
            lines.append(start_line)
        start_line = reader.line_num + 1
    width = max((len(r) for r in records), default=1)
    columns = {
        f"field_{i + 1:03d}": pa.array([r[i] if i < len(r) else None for r in records], pa.string())
        for i in range(width)
    }
    columns["_source_line"] = pa.array(lines, pa.int64())
    return pa.table(columns)
