"""Fail when dbt SQL uses a DuckDB-only or PostgreSQL-only function outside a dispatched macro.

The same models run on DuckDB and PostgreSQL (and should port to a warehouse that spans
machines). Store-specific SQL is allowed only inside `duckdb__*` / `postgres__*` macros, which
`adapter.dispatch` picks per store. This scans models, tests, analyses and the bodies of all
other macros, with comments removed, for functions and operators one of the two lacks.

Usage: python scripts/check_portable_sql.py [PROJECT_DIR]   (exit 1 and one line per finding)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# name -> which store has it (and the other lacks it)
STORE_SPECIFIC = {
    # DuckDB only
    "try_cast": "DuckDB",
    "try_strptime": "DuckDB",
    "strptime": "DuckDB",
    "strftime": "DuckDB",
    "regexp_full_match": "DuckDB",
    "regexp_extract": "DuckDB",
    "regexp_matches": "DuckDB",
    "epoch": "DuckDB",
    "epoch_ms": "DuckDB",
    "make_timestamp": "DuckDB",
    "timezone": "DuckDB",
    "date_diff": "DuckDB",
    "datediff": "DuckDB",
    "median": "DuckDB",
    "quantile": "DuckDB",
    "quantile_cont": "DuckDB",
    "list_median": "DuckDB",
    "list_value": "DuckDB",
    "arg_max": "DuckDB",
    "arg_min": "DuckDB",
    "read_parquet": "DuckDB",
    "read_csv": "DuckDB",
    "unnest": "PostgreSQL and DuckDB (with different semantics)",
    # PostgreSQL only
    "regexp_match": "PostgreSQL",
    "to_char": "PostgreSQL",
    "percentile_cont": "PostgreSQL",
    "percentile_disc": "PostgreSQL",
    "generate_series": "PostgreSQL (DuckDB's differs)",
    "array_agg": "PostgreSQL (ordering differs)",
    "json_array_elements_text": "PostgreSQL",
    "jsonb_array_elements": "PostgreSQL",
}
OPERATORS = {
    r"::": "the :: cast (write cast(x as type))",
    r"\bat\s+time\s+zone\b": "AT TIME ZONE (use wall_clock_to_utc / utc_to_wall_clock)",
    r"\bilike\b": "ILIKE (use lower(x) like ...)",
    r"(?<![<>!=~])~(?![=])": "the ~ regex operator (use regex_full_match)",
    r"\bqualify\b": "QUALIFY (DuckDB only; filter in an outer query)",
    r"\bgroup\s+by\s+all\b": "GROUP BY ALL (DuckDB only)",
    r"(?<![a-z_])trim\s*\([^,()]*\)": (
        "one-argument trim() (DuckDB also strips Unicode spaces such as U+00A0, PostgreSQL "
        "only ' ': write trim(x, ' '))"
    ),
}
FUNCTION = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(", re.IGNORECASE)
MACRO_BLOCK = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(.*?{%-?\s*endmacro\s*-?%}", re.DOTALL)
JINJA_COMMENT = re.compile(r"{#.*?#}", re.DOTALL)
SQL_COMMENT = re.compile(r"--[^\n]*")
STRING = re.compile(r"'(?:[^']|'')*'")
JINJA = re.compile(r"{{.*?}}|{%(?!-?\s*(?:end)?macro\b).*?%}", re.DOTALL)
MACRO_TAG = re.compile(r"{%-?\s*(?:end)?macro\b.*?%}", re.DOTALL)


def _blank(match: re.Match[str]) -> str:
    """Replace a match by spaces, keeping its line breaks (line numbers stay right)."""
    return "\n" * match.group(0).count("\n") or " "


def _strip(text: str) -> str:
    """Remove what is not SQL (comments, Jinja other than macro tags) and string contents."""
    text = JINJA_COMMENT.sub(_blank, text)
    text = JINJA.sub(_blank, text)
    text = SQL_COMMENT.sub("", text)
    return STRING.sub("''", text)


def _portable_parts(path: Path, text: str) -> list[tuple[int, str]]:
    """(line offset, text) of the parts of a file that must be portable."""
    if "/macros/" not in path.as_posix():
        return [(0, text)]
    parts = []
    for match in MACRO_BLOCK.finditer(text):
        name = match.group(1)
        if name.startswith(("duckdb__", "postgres__")):
            continue
        body = MACRO_TAG.sub(_blank, match.group(0))
        parts.append((text[: match.start()].count("\n"), body))
    return parts


def findings(project: Path) -> list[str]:
    problems = []
    for folder in ("models", "tests", "analyses", "macros"):
        for path in sorted((project / folder).rglob("*.sql")):
            for offset, part in _portable_parts(path, _strip(path.read_text(encoding="utf-8"))):
                for number, sql in enumerate(part.splitlines(), start=offset + 1):
                    for match in FUNCTION.finditer(sql):
                        name = match.group(1).lower()
                        if name in STORE_SPECIFIC:
                            problems.append(
                                f"{path.relative_to(project)}:{number}: {name}() is "
                                f"{STORE_SPECIFIC[name]}-specific; call it through a dispatched "
                                "macro"
                            )
                    for pattern, what in OPERATORS.items():
                        if re.search(pattern, sql, re.IGNORECASE):
                            problems.append(f"{path.relative_to(project)}:{number}: {what}")
    return problems


def main() -> int:
    project = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "dbt_project"
    problems = findings(project)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} store-specific construct(s) outside dispatched macros")
        return 1
    print("portable: no store-specific SQL outside dispatched macros")
    return 0


if __name__ == "__main__":
    sys.exit(main())
