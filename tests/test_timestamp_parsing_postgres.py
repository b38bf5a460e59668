"""try_strptime on PostgreSQL (plain SQL, no function per row) never raises and reads text as
DuckDB's try_strptime does: impossible dates are NULL on both, and random text built from the
characters of timestamps gets the same verdict on both."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, cli_env

pytestmark = pytest.mark.postgres

# Each format with a text it reads, the seed of the random texts.
FORMATS = {
    "%Y-%m-%dT%H:%M:%SZ": "2024-02-29T23:59:59Z",
    "%Y-%m-%d %H:%M:%S": "2023-12-31 00:30:00",
    "%Y-%m-%d %H:%M:%S.%n": "2012-10-12 00:30:00.0000000",
    "%Y-%m-%dT%H:%M:%S.%fZ": "2024-04-30T12:00:00.250Z",
    "%Y-%m-%d %H:%M": "2024-03-31 01:30",
    "%d.%m.%Y %H:%M": "29.02.2024 23:59",
    "%d/%m/%y %H:%M": "30/06/24 07:30",
    "%Y%m%d": "20240131",
}
# (format, text, what both stores must give)
EXPECTED = [
    ("%Y-%m-%dT%H:%M:%SZ", "2024-02-29T10:30:00Z", "2024-02-29 10:30:00"),
    ("%Y-%m-%dT%H:%M:%SZ", " 2024-2-9T1:30:00Z ", "2024-02-09 01:30:00"),
    ("%Y-%m-%dT%H:%M:%SZ", "2023-02-29T10:30:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-02-30T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-04-31T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "1900-02-29T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2000-02-29T00:00:00Z", "2000-02-29 00:00:00"),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-13-01T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-00-10T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-01-00T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-01-01T25:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-01-01T23:60:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-01-01T23:59:59Z", "2024-01-01 23:59:59"),
    ("%Y-%m-%dT%H:%M:%SZ", "2024-0a-01T00:00:00Z", None),
    ("%Y-%m-%dT%H:%M:%SZ", "", None),
    ("%Y-%m-%dT%H:%M:%SZ", "9999-12-31T23:59:59Z", "9999-12-31 23:59:59"),
    ("%Y-%m-%d %H:%M:%S.%n", "2012-10-12 00:30:00.0000000", "2012-10-12 00:30:00"),
    ("%Y-%m-%d %H:%M:%S.%n", "2012-10-12 00:30:00.5", "2012-10-12 00:30:00.5"),
    ("%Y-%m-%d %H:%M:%S.%n", "2012-02-30 00:30:00.0000000", None),
    # %n is a nanosecond timestamp on DuckDB: 1677-09-22 to 2262-04-11 23:47:16.854775806; the
    # cast to microseconds truncates toward 1970 (so rounds up before it)
    ("%Y-%m-%d %H:%M:%S.%n", "2262-04-11 23:47:16.854775806", "2262-04-11 23:47:16.854775"),
    ("%Y-%m-%d %H:%M:%S.%n", "2262-04-11 23:47:16.854775807", None),
    ("%Y-%m-%d %H:%M:%S.%n", "2262-04-11 23:50:00.0", None),
    ("%Y-%m-%d %H:%M:%S.%n", "1677-09-21 23:59:59.5", None),
    ("%Y-%m-%d %H:%M:%S.%n", "1677-09-22 00:00:00.5", "1677-09-22 00:00:00.5"),
    ("%Y-%m-%d %H:%M:%S.%n", "1969-12-31 23:59:59.0000005", "1969-12-31 23:59:59.000001"),
    ("%Y-%m-%d %H:%M:%S.%n", "1969-12-31 23:59:59.9999995", "1970-01-01 00:00:00"),
    ("%Y-%m-%d %H:%M", "2024-3-31 1:30", "2024-03-31 01:30:00"),
    ("%d.%m.%Y %H:%M", "31.11.2024 00:00", None),
    ("%d.%m.%Y %H:%M", "1.1.2024 0:00", "2024-01-01 00:00:00"),
    ("%d/%m/%y %H:%M", "5/3/24 7:30", "2024-03-05 07:30:00"),
    ("%Y%m%d", "20240229", "2024-02-29 00:00:00"),
    ("%Y%m%d", "20230229", None),
]


def fuzz_texts(sample: str, count: int) -> list[str]:
    """A format's sample with a few random mutations (digits changed, characters dropped or
    inserted): near misses, impossible dates and other spellings. (Not whitespace: DuckDB lets
    a space in the format match any run of whitespace, PostgreSQL's reading does not.)"""
    rng = random.Random(sample)
    texts = []
    for _ in range(count):
        chars = list(sample)
        for _ in range(rng.randint(0, 3)):  # a few mutations: digit swaps, drops, inserts
            at = rng.randrange(len(chars) + 1)
            what = rng.random()
            if what < 0.6 and at < len(chars):
                chars[at] = rng.choice("0123456789")
            elif what < 0.8 and at < len(chars):
                del chars[at]
            else:
                chars.insert(at, rng.choice("0123456789-:.TZ"))
        texts.append("".join(chars))
    return texts


def parse_on(target: str, cases: list[tuple[str, str]], home: Path, env: dict[str, str]) -> list:
    """try_strptime of every (format, text) through `dbt show` on a target."""

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    selects = [
        f"select {i} as i, cast({{{{ try_strptime(\"{quoted(text)}\", '{fmt}') }}}} as varchar) "
        "as parsed"
        for i, (fmt, text) in enumerate(cases)
    ]
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "show",
            "--target",
            target,
            "--inline",
            " union all ".join(selects),
            "--limit",
            "-1",
            "--output",
            "json",
            "--log-format",
            "json",
        ],
        cwd=REPO / "dbt_project",
        env=cli_env(SMARTMETER_HOME=str(home), **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    for line in result.stdout.splitlines():
        try:
            preview = json.loads(line).get("data", {}).get("preview")
        except json.JSONDecodeError:
            continue
        if preview:
            rows = {row["i"]: row["parsed"] for row in json.loads(preview)}
            return [rows[i] for i in range(len(cases))]
    raise AssertionError(f"dbt show on {target} failed:\n{result.stdout[-4000:]}")


def test_postgres_parses_timestamps_as_duckdb_does(tmp_path, pg_env):
    fuzz = [(fmt, text) for fmt, sample in FORMATS.items() for text in fuzz_texts(sample, 60)]
    cases = [(fmt, text) for fmt, text, _ in EXPECTED] + fuzz
    os.makedirs(tmp_path / "home", exist_ok=True)
    on_duckdb = parse_on("duckdb", cases, tmp_path / "home", {})
    on_postgres = parse_on("postgres", cases, tmp_path / "home", pg_env)
    for (fmt, text, expected), duck, pg in zip(EXPECTED, on_duckdb, on_postgres, strict=False):
        assert (duck, pg) == (expected, expected), (fmt, text)
    differ = [
        (fmt, text, duck, pg)
        for (fmt, text), duck, pg in zip(cases, on_duckdb, on_postgres, strict=True)
        if duck != pg
    ]
    assert not differ, differ
    assert sum(value is not None for value in on_postgres[len(EXPECTED) :]) > len(fuzz) // 4
