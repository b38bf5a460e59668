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


def test_the_project_is_portable():
    result = run_check(REPO / "dbt_project")
    assert result.returncode == 0, result.stdout


def test_store_specific_sql_is_caught_outside_dispatched_macros(tmp_path: Path):
    (tmp_path / "models").mkdir()
    (tmp_path / "macros").mkdir()
    (tmp_path / "models" / "m.sql").write_text(
        "-- try_cast( in a comment is fine\n"
        "select x::int, try_cast(a as int), '{{ regexp_match }}' from t\n"
        "where b ~ 'x' and c at time zone 'UTC' is not null\n"
        "and trim({{ d }}) = '' and trim(e, ' ') = ''\n"
    )
    (tmp_path / "macros" / "helpers.sql").write_text(
        "{% macro duckdb__parse(x) %} try_strptime({{ x }}, '%Y') {% endmacro %}\n"
        "{% macro postgres__parse(x) %} regexp_match({{ x }}, 'y') {% endmacro %}\n"
        "{% macro shared(x) %} percentile_cont(0.5) within group (order by {{ x }})\n"
        "{% endmacro %}\n"
    )
    result = run_check(tmp_path)
    assert result.returncode == 1
    found = result.stdout.splitlines()
    assert any("m.sql:2: the :: cast" in line for line in found)
    assert any("m.sql:2: try_cast()" in line for line in found)
    assert any("m.sql:3: the ~ regex operator" in line for line in found)
    assert any("m.sql:3: AT TIME ZONE" in line for line in found)
    assert any("helpers.sql:3: percentile_cont()" in line for line in found)
    assert sum("m.sql:4: one-argument trim()" in line for line in found) == 1
    assert not any("try_strptime" in line or "regexp_match" in line for line in found)
    assert not any(":1:" in line for line in found)
