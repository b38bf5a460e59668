"""The CI check that keeps store-specific SQL inside dispatched macros."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO

CHECK = REPO / "scripts" / "check_portable_sql.py"


def run_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), str(project)], capture_output=True, text=True
    )


def findings(project: Path, files: dict[str, str]) -> list[str]:
    """Write `files` (path -> text) into a project folder, run the check, return what it found
    (it must fail: every caller writes something to find)."""
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    result = run_check(project)
    assert result.returncode == 1, result.stdout
    return result.stdout.splitlines()


def test_the_project_is_portable():
    result = run_check(REPO / "dbt_project")
    assert result.returncode == 0, result.stdout


def test_store_specific_sql_is_caught_outside_dispatched_macros(tmp_path: Path):
    files = {
        "models/m.sql": "-- try_cast( in a comment is fine\n"
        "select x::int, try_cast(a as int), '{{ regexp_match }}' from t\n"
        "where b ~ 'x' and c at time zone 'UTC' is not null\n"
        "and trim({{ d }}) = '' and trim(e, ' ') = ''\n",
        "macros/helpers.sql": (
            "{% macro duckdb__parse(x) %} try_strptime({{ x }}, '%Y') {% endmacro %}\n"
            "{% macro postgres__parse(x) %} regexp_match({{ x }}, 'y') {% endmacro %}\n"
            "{% macro shared(x) %} percentile_cont(0.5) within group (order by {{ x }})\n"
            "{% endmacro %}\n"
        ),
    }
    found = findings(tmp_path, files)
    assert any("m.sql:2: the :: cast" in line for line in found)
    assert any("m.sql:2: try_cast()" in line for line in found)
    assert any("m.sql:3: the ~ regex operator" in line for line in found)
    assert any("m.sql:3: AT TIME ZONE" in line for line in found)
    assert any("helpers.sql:3: percentile_cont()" in line for line in found)
    assert sum("m.sql:4: one-argument trim()" in line for line in found) == 1
    assert not any("try_strptime" in line or "regexp_match" in line for line in found)
    assert not any(":1:" in line for line in found)


def test_spark_differences_are_caught_and_portable_spellings_pass(tmp_path: Path):
    files = {
        "models/spark.sql": "select cast(a as double precision), cast(b as varchar), trim(c, ' ')\n"
        "from t where extract(isodow from d) = 1 and extract(epoch from e) > 0\n"
        "cross join lateral (values (t.a), (t.b)) as v(x)\n"
        "select rlike(a, 'x'), nvl(a, 0), to_utc_timestamp(a, 'UTC'), cast(a as timestamptz)\n"
        "select a from t lateral view explode(b) x as y\n"
        "select round(cast(a as numeric), 3), weekday(a), date_sub(a, 1)\n",
        "models/portable.sql": (
            "select trim(both ' ' from c), trim(leading ' ' from cast(c as varchar(10)))\n"
            "from t where count(*) filter (where x > 0) > 0 and coalesce(a, nullif(b, 0)) > 0\n"
            "order by greatest(a, b) nulls last, least(a, b) nulls first,\n"
            "round(cast(a as decimal(12, 3)), 2)\n"
            "select lower(a), upper(b), replace(c, 'a', 'b'), length(d), "
            "substr(e, 1, 2), left(f, 1)\n"
        ),
        "macros/dispatched.sql": (
            "{% macro spark__weekday(x) %} (weekday({{ x }}) + 1) {% endmacro %}\n"
            "{% macro spark__utc(x) %} to_utc_timestamp({{ x }}, 'UTC') {% endmacro %}\n"
            "{% macro default__weekday(x) %} cast(extract(isodow from {{ x }}) as integer)\n"
            "{% endmacro %}\n"
            "{% macro default__unpivot(x) %} cross join lateral (values ({{ x }})) as v(y)\n"
            "{% endmacro %}\n"
        ),
    }
    found = findings(tmp_path, files)
    expected = {
        1: ["double precision", "varchar without a length", "two-argument trim()"],
        2: ["extract() of a field Spark lacks"],
        3: ["LATERAL (VALUES"],
        4: ["rlike()", "nvl()", "to_utc_timestamp()", "timestamptz"],
        5: ["LATERAL VIEW", "explode()"],
        6: ["decimal/numeric without precision", "weekday()", "date_sub()"],
    }
    for line, whats in expected.items():
        for what in whats:
            assert any(f"spark.sql:{line}: {what}" in f for f in found), (line, what, found)
    assert sum("spark.sql:2: extract()" in f for f in found) == 1
    assert not any("one-argument trim()" in f for f in found)
    assert not any("portable.sql" in f for f in found)
    # spark__ bodies are exempt; default__weekday has a spark__ twin, so it runs only on DuckDB
    # and PostgreSQL; default__unpivot has none, so it also runs on Spark and is flagged.
    assert [f.split(": ", 1)[0] for f in found if "dispatched.sql" in f] == [
        "macros/dispatched.sql:5"
    ]
