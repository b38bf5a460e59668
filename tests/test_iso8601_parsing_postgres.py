"""ISO 8601 on PostgreSQL (read by position, no regular expression per row) gives DuckDB's
verdicts: the same wall clock and the same offset for every text, near misses included.

The two macros are compiled once per store (`dbt compile`), then each generated batch of texts
is one query on each store: hundreds of texts in seconds, not a dbt run per text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, cli_env, pg_connect
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.postgres

QUERY = (
    "select i, {{ iso8601_local('s') }} as wall_clock, "
    "{{ iso8601_offset_minutes('s') }} as offset_minutes from stamps"
)
# (text, wall clock, offset minutes) on both stores
EXPECTED = [
    ("2024-04-06T00:30:00+02:00", "2024-04-06 00:30:00", 120),
    ("2024-04-06T00:30:00Z", "2024-04-06 00:30:00", 0),
    (" 2024-04-06 00:30 ", "2024-04-06 00:30:00", None),
    ("2024-04-06T00:30:00.123456789-05:30", "2024-04-06 00:30:00.123456", -330),
    ("2024-04-06T00:30:00.1234567890", None, None),
    ("2024-04-06T00:30:00.", None, None),
    ("2024-04-06T00:30 +1400", "2024-04-06 00:30:00", 840),
    ("2024-04-06T00:30+14", "2024-04-06 00:30:00", 840),
    ("2024-04-06T00:30+14:30", None, None),
    ("2024-04-06T00:30:00-00:00", "2024-04-06 00:30:00", 0),
    ("2024-04-06T00:30:00+0545", "2024-04-06 00:30:00", 345),
    ("2024-04-06T00:30:00+13:60", None, None),
    ("2024-04-06t00:30", None, None),
    ("2024-04-06T00:30:00z", "2024-04-06 00:30:00", 0),
    ("2024-02-30T00:00:00+01:00", None, 60),
    ("2024-02-29T24:00", None, None),
    ("2024-4-6T0:30:00Z", "2024-04-06 00:30:00", 0),
    ("1969-12-31 23:59:59.0000005", "1969-12-31 23:59:59.000001", None),
]


def compiled(
    target: str, home: Path, env: dict[str, str], query: str = QUERY
) -> subprocess.Popen[str]:
    """`dbt compile` of a query on a target (its own target path: both run at once)."""
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dbt")),
            "compile",
            "--target",
            target,
            "--inline",
            query,
            "--target-path",
            str(home / "target"),
            "--quiet",
        ],
        cwd=REPO / "dbt_project",
        env=cli_env(SMARTMETER_HOME=str(home), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sql_of(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0 and output.lstrip().startswith("select"), output[-4000:]
    return output


def on_duckdb(sql: str, texts: list[str]) -> list[tuple]:
    con = duckdb.connect()
    con.execute(
        "create table stamps as select generate_subscripts($1, 1) as i, unnest($1) as s", [texts]
    )
    return con.execute(
        f"select i, cast(epoch_us(wall_clock) as bigint), offset_minutes from ({sql}) order by i"
    ).fetchall()


def on_postgres(con, sql: str, texts: list[str]) -> list[tuple]:
    con.execute("drop table if exists stamps")
    con.execute(
        "create temp table stamps as select cast(i as integer) as i, s "
        "from unnest(%s::text[]) with ordinality as u(s, i)",
        [texts],
    )
    return con.execute(
        "select i, cast(extract(epoch from wall_clock) * 1000000 as bigint), offset_minutes "
        f"from ({sql}) as parsed order by i"
    ).fetchall()


DIGITS = "0123456789"


def digits(least: int, most: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=least, max_size=most)


def part(good: list[str], bad: list[str], wild: st.SearchStrategy[str] | None = None):
    """One part of a stamp: mostly a good spelling, sometimes a bad or a wild one."""
    odd = st.sampled_from(bad) if wild is None else st.one_of(st.sampled_from(bad), wild)
    return st.integers(0, 14).flatmap(lambda n: odd if n == 0 else st.sampled_from(good))


YEARS = ["2024", "2023", "2000", "1900", "0000", "0004", "1677", "1678", "1969", "1970", "2262"]
ZONES = ["", "", "Z", "z", "+02:00", "-05:00", "+0530", "+14", "+1400", "+14:00", "-14:00"]
ZONES += ["-00:00", "+00", "+13:59", "-1200", "-09"]
BAD_ZONES = ["+14:30", "+1401", "+15", "+1", "+1:00", "+01:0", "+13:60", "ZZ", "+01:00Z", "Z+01"]
SPACES = ["", " ", "  ", "\t", "\n", "\r\n"]


@st.composite
def iso_ish(draw) -> str:
    """A timestamp spelled as ISO 8601 would be, a part now and then wrong."""
    fraction = st.builds(".{}".format, digits(1, 9))
    text = "".join(
        draw(strategy)
        for strategy in (
            part([""], SPACES),
            part(YEARS, ["24", "12024", "20 24"], digits(0, 5)),
            part(["-"], ["", "--", "/"]),
            part(["01", "02", "03", "04", "06", "09", "11", "12"], ["00", "13", "1", "001"]),
            part(["-"], ["", "--", "/"]),
            part(["01", "15", "28", "29", "30", "31"], ["00", "32", "1", "001"], digits(0, 3)),
            part(["T", " "], ["t", "  ", "x", "", "T "]),
            part(["00", "07", "12", "23"], ["24", "25", "7", "007"], digits(0, 3)),
            part([":00", ":30", ":59"], [":60", ":5", ":", "30", "::30"], digits(0, 3)),
            part(["", ":00", ":30", ":59"], [":60", ":5", ":", "::00"], digits(0, 3)),
            st.one_of(st.just(""), part([""], ["."], fraction), st.just(""), fraction),
            part(["", "", "", " "], ["  ", "\t", " \t"]),
            part(ZONES, BAD_ZONES),
            part([""], SPACES),
        )
    )
    if draw(st.integers(0, 9)) == 0:  # a fraction of 10 or more digits
        text = text.replace(".", "." + draw(digits(9, 10)), 1)
    # now and then a few edits anywhere: characters dropped, replaced or inserted
    for _ in range(draw(st.sampled_from([0, 0, 0, 0, 1, 2]))):
        at = draw(st.integers(0, len(text)))
        what = draw(st.sampled_from(["drop", "replace", "insert"]))
        char = draw(st.sampled_from("0123456789-:.TtZz+ \t٣"))
        if what == "insert":
            text = text[:at] + char + text[at:]
        elif at < len(text):
            text = text[:at] + (char if what == "replace" else "") + text[at + 1 :]
    return text


TEXTS = st.one_of(iso_ish(), iso_ish(), iso_ish(), st.text("0123456789-:.TZz+ ", max_size=30))


def test_postgres_reads_iso8601_as_duckdb_does(tmp_path, pg_env):
    duck_process = compiled("duckdb", tmp_path / "home", {})
    pg_process = compiled("postgres", tmp_path / "home-pg", pg_env)
    duck_sql, pg_sql = sql_of(duck_process), sql_of(pg_process)
    # one regular expression: strptime's, for text ISO 8601 does not read that ends in Z
    assert pg_sql.count("regexp_match") == 1, pg_sql

    with pg_connect(pg_env) as con:
        con.execute("set jit = off")
        texts = [text for text, _, _ in EXPECTED]
        duck = on_duckdb(duck_sql, texts)
        assert duck == on_postgres(con, pg_sql, texts)
        # the expected wall clocks, as microseconds since 1970 on DuckDB
        expected = duckdb.sql(
            "select cast(epoch_us(cast(w as timestamp)) as bigint) from (select unnest($1) as w)",
            params=[[wall for _, wall, _ in EXPECTED]],
        ).fetchall()
        for (text, _, offset), (_, wall, minutes), (want,) in zip(
            EXPECTED, duck, expected, strict=True
        ):
            assert (wall, minutes) == (want, offset), text

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(TEXTS, min_size=1, max_size=80))
        def same_verdicts(texts: list[str]) -> None:
            duck = on_duckdb(duck_sql, texts)
            pg = on_postgres(con, pg_sql, texts)
            pairs = zip(duck, pg, strict=True)
            differ = [(texts[d[0] - 1], d[1:], p[1:]) for d, p in pairs if d != p]
            assert not differ, differ

        same_verdicts()
