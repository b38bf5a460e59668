"""Reading a sample file the way a person would: its encoding, delimiter, where the header is
(after any preamble), and what each column holds (stamps, numbers, ids, units)."""

from __future__ import annotations

import codecs
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dlt_pipelines.layouts import split_line
from dlt_pipelines.text_tables import decode_content

# Rows read to judge a column, and lines to find the header in.
SAMPLE_ROWS = 5000
HEADER_SEARCH_LINES = 60
# Values that stand for "no value" in exports (never judged as text that is not a number).
MISSING_TOKENS = {"", "-", "--", "?", "na", "n/a", "nan", "null", "none", "missing"}

DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%d/%m/%y",
    "%m/%d/%y",
)
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f")
# ISO 8601 as the pipeline reads it (macros/cross_db/parsing.sql iso8601_pattern).
ISO8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)? *"
    r"(Z|z|[+-](0\d|1[0-3])(:?[0-5]\d)?|[+-]14(:?00)?)?"
)
ISO8601_OFFSET = re.compile(r"(Z|z|[+-]\d{2}(:?\d{2})?)$")


@dataclass(frozen=True)
class StampFormat:
    format: str  # strptime codes, or iso8601
    kind: str  # datetime, date or time
    has_offset: bool = False
    ambiguous_with: str | None = None  # another format that reads every value too


@dataclass
class Column:
    index: int
    header: str
    values: list[str]  # stripped, in file order (may be empty strings)
    number_share: float = 0.0  # of the values that are not missing tokens
    stamp: StampFormat | None = None
    missing_tokens: set[str] = field(default_factory=set)

    @property
    def present(self) -> list[str]:
        return [v for v in self.values if v.lower() not in MISSING_TOKENS]

    @property
    def is_numeric(self) -> bool:
        return bool(self.present) and self.number_share >= 0.9 and self.stamp is None


@dataclass
class Sample:
    name: str
    encoding: str
    has_bom: bool
    delimiter: str
    lines: list[str]  # every line, decoded
    header_line: int  # 1-based
    header: list[str]
    rows: list[list[str]]
    skipped_lines: int  # lines after the header that are not rows of its width
    repeated_headers: int  # the header again further down (blocks)
    decimal_mark: str = "."
    columns: list[Column] = field(default_factory=list)

    @property
    def preamble(self) -> list[str]:
        return [line for line in self.lines[: self.header_line - 1] if line.strip()]

    @property
    def first_line_is_header(self) -> bool:
        return not self.preamble


class NotTabular(ValueError):
    """The sample has no header followed by rows of its width."""


def decode(data: bytes) -> tuple[str, str, bool]:
    """Text, encoding (utf-8 or latin-1) and whether a UTF-8 BOM led the file."""
    has_bom = data.startswith(codecs.BOM_UTF8)
    content = decode_content(data)
    try:
        return content.decode("utf-8"), "utf-8", has_bom
    except UnicodeDecodeError:
        return content.decode("latin-1"), "latin-1", has_bom


def sniff_delimiter(lines: list[str]) -> str:
    """The first of tab, semicolon, pipe and comma that splits nearly every body line into the
    same number (>1) of fields; the body is the second half of the non-empty lines (a preamble
    is at the top). Comma comes last: decimal commas split a semicolon file evenly too."""
    body = [line for line in lines if line.strip()]
    body = body[len(body) // 2 :][-400:] or body
    best, best_share = ",", 0.0
    for delimiter in ("\t", ";", "|", ","):
        counts = Counter(len(split_line(line, delimiter)) for line in body)
        width, times = counts.most_common(1)[0]
        share = times / len(body)
        if width > 1 and share >= 0.9:
            return delimiter
        if width > 1 and share > best_share:
            best, best_share = delimiter, share
    return best


def is_number(text: str, decimal_mark: str = ".") -> bool:
    text = text.strip()
    if decimal_mark == ",":
        text = text.replace(",", ".")
    return bool(re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text))


def _is_stamp(text: str) -> bool:
    return stamp_format([text]) is not None


def _is_header(fields: list[str]) -> bool:
    """Names, not data: no stamp, and not led by a number (a wide file's meter ids may be
    numbers, but its first field names the timestamp)."""
    filled = [f for f in fields if f]
    if not filled or any(_is_stamp(f) for f in filled):
        return False
    return not (is_number(filled[0]) or is_number(filled[0], ","))


def find_header(lines: list[str], delimiter: str) -> int:
    """0-based index of the header: the nearest line above the first row of the body's width
    holding a date or time, of that width too, mostly filled and holding no data. Lines of a
    preamble padded with delimiters (`Account,0123,,,`) are mostly empty."""
    filled_lines = [line for line in lines if line.strip()]
    body = filled_lines[len(filled_lines) // 2 :]
    width = Counter(len(split_line(line, delimiter)) for line in body).most_common(1)[0][0]
    candidates = [i for i, line in enumerate(lines) if line.strip()][: HEADER_SEARCH_LINES + 1]
    for position, i in enumerate(candidates):
        fields = [f.strip() for f in split_line(lines[i], delimiter)]
        # the body's width: a preamble's `key;value;date` lines are not the first row
        if len(fields) != width or not any(_is_stamp(f) for f in fields if f):
            continue
        for j in reversed(candidates[:position]):
            above = [f.strip() for f in split_line(lines[j], delimiter)]
            filled = [f for f in above if f]
            if (
                len(above) == len(fields)
                and len(filled) >= max(1, (len(fields) + 1) // 2)
                and _is_header(above)
            ):
                return j
        break
    raise NotTabular(
        "no header line above a row of dates or times of its width was found in the first "
        f"{HEADER_SEARCH_LINES} lines"
    )


def _parses(values: list[str], fmt: str) -> bool:
    for value in values:
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            return False
        if "%Y" in fmt and not 1970 <= parsed.year <= 2100:
            return False
    return True


def stamp_format(values: list[str]) -> StampFormat | None:
    """The format every value is written in: ISO 8601 (with or without an offset), date and
    time, a date alone or a time alone; day-first before month-first when both read all."""
    values = [v for v in values if v.lower() not in MISSING_TOKENS]
    if not values:
        return None
    probe = values[:: max(1, len(values) // 300)]
    if all(ISO8601.fullmatch(v) for v in probe):
        offset = any(ISO8601_OFFSET.search(v) for v in probe if "T" in v or " " in v.strip())
        return StampFormat("iso8601", "datetime", has_offset=bool(offset))
    candidates = [
        *(
            (f"{d}{sep}{t}", "datetime")
            for d in DATE_FORMATS
            for sep in (" ", "T")
            for t in TIME_FORMATS
        ),
        *((d, "date") for d in DATE_FORMATS),
        *((t, "time") for t in TIME_FORMATS),
    ]
    fitting = [(fmt, kind) for fmt, kind in candidates if _parses(probe, fmt)]
    if not fitting:
        return None
    fmt, kind = fitting[0]
    swapped = fmt.replace("%d", "%§").replace("%m", "%d").replace("%§", "%m")
    other = swapped if swapped != fmt and (swapped, kind) in fitting else None
    return StampFormat(fmt, kind, ambiguous_with=other)


def parse_stamp(value: str, stamp: StampFormat) -> datetime | None:
    try:
        if stamp.format == "iso8601":
            return datetime.fromisoformat(value.strip().replace("z", "Z").replace(" ", "T", 1))
        return datetime.strptime(value.strip(), stamp.format)
    except ValueError:
        return None


def modal_step(stamps: list[datetime]) -> timedelta | None:
    """The most common positive step between consecutive distinct stamps."""
    ordered = sorted(set(stamps))
    steps = Counter(b - a for a, b in itertools.pairwise(ordered) if b > a)
    return steps.most_common(1)[0][0] if steps else None


def read_sample(data: bytes, name: str) -> Sample:
    text, encoding, has_bom = decode(data)
    lines = text.splitlines()
    if not text.strip():
        raise NotTabular("the file has no text")
    delimiter = sniff_delimiter(lines[: SAMPLE_ROWS * 2])
    header_index = find_header(lines, delimiter)
    header = [f.strip() for f in split_line(lines[header_index], delimiter)]
    rows, skipped, repeated = [], 0, 0
    for line in lines[header_index + 1 :]:
        if not line.strip():
            continue
        fields = split_line(line, delimiter)
        if [f.strip() for f in fields] == header:
            repeated += 1
        elif len(fields) == len(header) and any(f.strip() for f in fields):
            if len(rows) < SAMPLE_ROWS:
                rows.append([f.strip() for f in fields])
        else:
            skipped += 1
    if not rows:
        raise NotTabular("the header is followed by no rows of its width")
    sample = Sample(
        name=name,
        encoding=encoding,
        has_bom=has_bom,
        delimiter=delimiter,
        lines=lines,
        header_line=header_index + 1,
        header=header,
        rows=rows,
        skipped_lines=skipped,
        repeated_headers=repeated,
    )
    _judge_columns(sample)
    return sample


def _judge_columns(sample: Sample) -> None:
    every = [v for row in sample.rows for v in row]
    commas = sum(1 for v in every if re.fullmatch(r"[+-]?\d+,\d+", v))
    points = sum(1 for v in every if re.fullmatch(r"[+-]?\d+\.\d+", v))
    sample.decimal_mark = "," if commas > points else "."
    for index, header in enumerate(sample.header):
        values = [row[index] for row in sample.rows]
        column = Column(index=index, header=header, values=values)
        present = column.present
        column.missing_tokens = {v for v in values if v and v.lower() in MISSING_TOKENS}
        if present:
            numbers = sum(1 for v in present if is_number(v, sample.decimal_mark))
            column.number_share = numbers / len(present)
            column.stamp = stamp_format(present)
        sample.columns.append(column)
