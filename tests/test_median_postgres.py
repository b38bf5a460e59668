"""`median_of` on PostgreSQL (order statistics in the row for up to four values, no sorting
subquery) gives DuckDB's list_median to the last bit, and percentile_cont's median to its
rounding, for any mix of values and NULLs: ties, negatives, zeros, tiny and huge magnitudes.

The macro is compiled once per store (`dbt compile --inline`); each generated batch is one
query on each store."""

from __future__ import annotations

import math

import duckdb
import pytest
from conftest import pg_connect
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_iso8601_parsing_postgres import compiled, sql_of

pytestmark = pytest.mark.postgres

COLUMNS = ["a", "b", "c", "d"]
COUNTS = range(1, len(COLUMNS) + 1)
QUERY = (
    "select i, "
    + ", ".join(f"{{{{ median_of({COLUMNS[:n]!r}) }}}} as median_{n}" for n in COUNTS)
    + " from quads"
)
# percentile_cont over the same values (lo + (hi - lo) * 0.5: the last bit may differ)
PERCENTILE_CONT = (
    "select i, "
    + ", ".join(
        "(select percentile_cont(0.5) within group (order by v) "
        f"from unnest(array[{', '.join(COLUMNS[:n])}]::float8[]) as t (v)) as median_{n}"
        for n in COUNTS
    )
    + " from quads"
)
CASES = [  # (values, the median of all four)
    ((None, None, None, None), None),
    ((3.0, None, None, None), 3.0),
    ((None, 1.0, None, 4.0), 2.5),
    ((5.0, None, 1.0, 3.0), 3.0),
    ((4.0, 1.0, 3.0, 2.0), 2.5),
    ((2.0, 2.0, 1.0, 2.0), 2.0),
    ((0.1, 0.2, 0.3, 0.4), 0.2 / 2 + 0.3 / 2),
    ((None, None, 1.0, 0.2), 0.6),
    ((1e308, 1.7e308, None, None), 1.35e308),
]
VALUE = st.one_of(
    st.none(),
    st.sampled_from([0.0, 1.0, 0.1, 0.2, 0.3, -2.5, 1e-300, 1e300]),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)


def on_postgres(con, sql: str, quads: list[tuple]) -> list[tuple]:
    con.execute("drop table if exists quads")
    con.execute("create temp table quads (i int, a float8, b float8, c float8, d float8)")
    with con.cursor().copy("copy quads from stdin") as copy:
        for i, quad in enumerate(quads):
            copy.write_row((i, *quad))
    return con.execute(sql + " order by i").fetchall()


def on_duckdb(sql: str, quads: list[tuple]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("create table quads (i int, a double, b double, c double, d double)")
    con.executemany(
        "insert into quads values (?, ?, ?, ?, ?)", [(i, *q) for i, q in enumerate(quads)]
    )
    return con.execute(sql + " order by i").fetchall()


def test_median_of_is_percentile_conts_and_duckdbs(tmp_path, pg_env):
    processes = {t: compiled(t, tmp_path / t, pg_env, QUERY) for t in ("postgres", "duckdb")}
    sql = {target: sql_of(process) for target, process in processes.items()}
    assert "percentile_cont" not in sql["postgres"] and "unnest" not in sql["postgres"]

    with pg_connect(pg_env) as con:
        rows = on_postgres(con, sql["postgres"], [values for values, _ in CASES])
        assert [row[-1] for row in rows] == [median for _, median in CASES]

        @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(st.tuples(VALUE, VALUE, VALUE, VALUE), min_size=1, max_size=100))
        def same_medians(quads: list[tuple]) -> None:
            # == is to the last bit (and NULL only where NULL)
            expected = on_duckdb(sql["duckdb"], quads)
            assert on_postgres(con, sql["postgres"], quads) == expected
            reference = on_postgres(con, PERCENTILE_CONT, quads)
            for got, want in zip(expected, reference, strict=True):
                assert [g is None for g in got] == [w is None for w in want]
                # (percentile_cont's hi - lo overflows past 1.8e308; DuckDB's does not)
                assert all(
                    g == pytest.approx(w, rel=1e-15)
                    for g, w in zip(got, want, strict=True)
                    if w is not None and math.isfinite(w)
                ), quads

        same_medians()
