"""Fail when dbt SQL uses SQL that DuckDB, PostgreSQL or Spark lacks outside a dispatched macro.

The same models run on DuckDB, PostgreSQL 15 and Apache Spark (Spark SQL via dbt-spark).
Store-specific SQL is allowed only inside `duckdb__*` / `postgres__*` / `spark__*` macros, which
`adapter.dispatch` picks per store. This scans models, tests, analyses and the bodies of all
other macros, with comments removed, for functions, operators and types that one of the three
stores lacks or evaluates differently (silently different answers count as lacking). A
`default__x` macro runs only on the stores without their own `<store>__x`, so it is checked
against those stores only.

Usage: python scripts/check_portable_sql.py [PROJECT_DIR]   (exit 1 and one line per finding)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

STORES = ("duckdb", "postgres", "spark")
D, P, S = "DuckDB", "PostgreSQL", "Spark"
_NAMES = {D: "duckdb", P: "postgres", S: "spark"}

# function name -> (stores that lack it or answer differently, what to write instead)
STORE_SPECIFIC = {
    # DuckDB only (or DuckDB and one other)
    "try_cast": ((P,), "use try_to_number() / try_to_integer()"),
    "try_strptime": ((P, S), "use try_strptime()'s dispatched macro"),
    "strptime": ((P, S), "use try_strptime()"),
    "strftime": ((P, S), "add a dispatched macro"),
    "regexp_full_match": ((P, S), "use regex_full_match()"),
    "regexp_extract": ((P,), "use regex_group()"),
    "regexp_extract_all": ((P,), "Spark's also needs a group index; add a dispatched macro"),
    "regexp_matches": ((P, S), "PostgreSQL's returns a set; use regex_contains()"),
    "epoch": ((P, S), "use epoch_seconds()"),
    "epoch_ms": ((P, S), "use epoch_seconds()"),
    "make_timestamp": (
        (P, S),
        "DuckDB's one-argument form is DuckDB-only; use from_epoch_seconds()",
    ),
    "timezone": ((S,), "use wall_clock_to_utc() / utc_to_wall_clock()"),
    "date_diff": ((P, S), "use minutes_between()"),
    "datediff": ((D, P), "Spark's takes (end, start) in days; use minutes_between()"),
    "median": ((P,), "use median() / median_of()"),
    "quantile": ((P, S), "use median() / median_of()"),
    "quantile_cont": ((P, S), "use median() / median_of()"),
    "list_median": ((P, S), "use median_of()"),
    "list_value": ((P, S), "add a dispatched macro"),
    "arg_max": ((P, S), "use row_number() over (...) in a subquery"),
    "arg_min": ((P, S), "use row_number() over (...) in a subquery"),
    "max_by": ((P,), "use row_number() over (...) in a subquery"),
    "min_by": ((P,), "use row_number() over (...) in a subquery"),
    "read_parquet": ((P, S), "declare a dbt source"),
    "read_csv": ((P, S), "declare a dbt source"),
    "unnest": ((D, P, S), "semantics differ and Spark lacks it; use unpivot_join()"),
    "string_split": ((P, S), "add a dispatched macro"),
    "string_to_array": ((S,), "add a dispatched macro"),
    "list_contains": ((P, S), "use in (...)"),
    "starts_with": ((S,), "use left(x, n) = '...' or like '...%'"),
    "ends_with": ((P, S), "use right(x, n) = '...' or like '%...'"),
    "age": ((S,), "use minutes_between()"),
    "gen_random_uuid": ((S,), "add a dispatched macro"),
    "strpos": ((S,), "use position(a in b)"),
    "generate_series": ((S,), "DuckDB's includes/returns differently; add a dispatched macro"),
    "json_extract": ((P, S), "add a dispatched macro"),
    # PostgreSQL only (or PostgreSQL and one other)
    "regexp_match": ((D, S), "use regex_group()"),
    "regexp_like": ((D,), "use regex_contains()"),
    "regexp_count": ((D,), "add a dispatched macro"),
    "regexp_substr": ((D,), "use regex_group()"),
    "regexp_instr": ((D,), "add a dispatched macro"),
    "to_char": ((D, S), "add a dispatched macro"),
    "percentile_cont": ((D, P, S), "use median() / median_of()"),
    "percentile_disc": ((D, P, S), "use median() / median_of()"),
    "array_agg": ((D, P, S), "ordering differs per store"),
    "json_array_elements_text": ((D, S), "add a dispatched macro"),
    "jsonb_array_elements": ((D, S), "add a dispatched macro"),
    "make_interval": ((D,), "multiply an interval literal: n * interval '1 minute'"),
    "initcap": ((D,), "add a dispatched macro"),
    "btrim": ((D,), "use trim(both ' ' from x)"),
    "every": ((D,), "use bool_and()"),
    "format": ((D, S), "use ||"),
    # Spark only (or Spark and DuckDB); PostgreSQL 15 lacks all of these
    "rlike": ((D, P), "use regex_contains() / regex_full_match()"),
    "to_utc_timestamp": ((D, P), "use wall_clock_to_utc()"),
    "from_utc_timestamp": ((D, P), "use utc_to_wall_clock()"),
    "unix_micros": ((D, P), "use epoch_seconds()"),
    "unix_seconds": ((D, P), "use epoch_seconds()"),
    "unix_millis": ((D, P), "use epoch_seconds()"),
    "unix_timestamp": ((D, P), "use epoch_seconds()"),
    "to_unix_timestamp": ((D, P), "use epoch_seconds()"),
    "timestamp_micros": ((D, P), "use from_epoch_seconds()"),
    "timestamp_millis": ((D, P), "use from_epoch_seconds()"),
    "timestamp_seconds": ((D, P), "use from_epoch_seconds()"),
    "from_unixtime": ((D, P), "use from_epoch_seconds()"),
    "to_timestamp": ((D, P, S), "each store parses differently; use try_strptime()"),
    "to_date": ((D, P, S), "use cast(x as date) or try_strptime()"),
    "date_format": ((D, P), "add a dispatched macro"),
    "date_add": ((P,), "DuckDB's adds an interval, Spark's days; use x + interval '1 day'"),
    "date_sub": ((D, P), "use x - interval '1 day'"),
    "timestampdiff": ((D, P), "use minutes_between()"),
    "timestampadd": ((D, P), "use add_minutes()"),
    "add_months": ((D, P), "use x + interval '1 month'"),
    "months_between": ((D, P), "add a dispatched macro"),
    "trunc": ((S,), "Spark's truncates dates only; use floor()/ceil() or date_trunc()"),
    "weekday": ((D, P), "DuckDB counts from Sunday = 0, Spark Monday = 0; use iso_weekday()"),
    "dayofweek": ((D, P), "DuckDB counts from Sunday = 0, Spark 1; use iso_weekday()"),
    "dayofyear": ((P,), "use extract(doy from x)"),
    "dayofmonth": ((P,), "use extract(day from x)"),
    "year": ((P,), "use extract(year from x)"),
    "quarter": ((P,), "use extract(quarter from x)"),
    "month": ((P,), "use extract(month from x)"),
    "day": ((P,), "use extract(day from x)"),
    "hour": ((P,), "use extract(hour from x)"),
    "minute": ((P,), "use extract(minute from x)"),
    "second": ((P,), "use extract(second from x)"),
    "last_day": ((P,), "use date_trunc('month', x) + interval '1 month' - interval '1 day'"),
    "percentile": ((D, P), "use median() / median_of()"),
    "percentile_approx": ((D, P), "use median() / median_of()"),
    "approx_percentile": ((D, P), "use median() / median_of()"),
    "size": ((D, P), "add a dispatched macro"),
    "cardinality": ((D, S), "add a dispatched macro"),
    "array_length": ((S,), "add a dispatched macro"),
    "array": ((D, P), "Spark's array(...) constructor; add a dispatched macro"),
    "array_sort": ((P,), "add a dispatched macro"),
    "array_contains": ((D, P), "use in (...)"),
    "transform": ((D, P), "add a dispatched macro"),
    "element_at": ((D, P), "add a dispatched macro"),
    "sequence": ((D, P), "add a dispatched macro"),
    "stack": ((D, P), "use unpivot_join()"),
    "explode": ((D, P), "use unpivot_join()"),
    "posexplode": ((D, P), "use unpivot_join()"),
    "inline": ((D, P), "use unpivot_join()"),
    "collect_list": ((D, P), "add a dispatched macro"),
    "collect_set": ((D, P), "add a dispatched macro"),
    "get_json_object": ((D, P), "add a dispatched macro"),
    "named_struct": ((D, P), "add a dispatched macro"),
    "nvl": ((D, P), "use coalesce()"),
    "nvl2": ((D, P), "use case when ... end"),
    "ifnull": ((P,), "use coalesce()"),
    "if": ((P,), "use case when ... end"),
    "iff": ((P, S), "use case when ... end"),
    "any_value": ((P,), "PostgreSQL 15 lacks it; use min() or max()"),
    "first": ((P,), "use first_value() over (...) or min()"),
    "last": ((P,), "use last_value() over (...) or max()"),
    "count_if": ((P,), "use count(*) filter (where ...)"),
    "listagg": ((P,), "use string_agg(x, ',')"),
    "instr": ((P,), "use position(a in b)"),
    "locate": ((D, P), "use position(a in b)"),
    "len": ((P,), "use length()"),
    "split": ((P,), "Spark's separator is a regex; add a dispatched macro"),
    "hash": ((P,), "DuckDB and Spark hash differently; use md5()"),
    "sha256": ((S,), "use md5() or add a dispatched macro"),
    "sha2": ((D, P), "use md5() or add a dispatched macro"),
    "uuid": ((P,), "add a dispatched macro"),
    "typeof": ((P,), "type names differ per store"),
    "log": ((S,), "Spark's one-argument log() is the natural log; use ln() or log10()"),
    "rand": ((D, P), "use random()"),
    "div": ((D,), "use floor(a / b)"),
    "printf": ((D, P), "use ||"),
    "format_number": ((D, P), "use round() and cast"),
    "ltrim": ((S,), "Spark's two-argument form is ltrim(chars, x); use trim(leading ' ' from x)"),
    "rtrim": ((S,), "Spark's two-argument form is rtrim(chars, x); use trim(trailing ' ' from x)"),
}

# pattern -> (stores that lack it or answer differently, description and what to write instead)
OPERATORS = {
    r"::": ((), "the :: cast (write cast(x as type))"),
    r"\bat\s+time\s+zone\b": (
        (D, P, S),
        "AT TIME ZONE (use wall_clock_to_utc / utc_to_wall_clock)",
    ),
    r"\bilike\b": ((), "ILIKE (use lower(x) like ...)"),
    r"(?<![<>!=~])~(?![=])": ((D, P, S), "the ~ regex operator (use regex_full_match)"),
    r"\bqualify\b": ((P, S), "QUALIFY (DuckDB only; filter in an outer query)"),
    r"\bgroup\s+by\s+all\b": ((P,), "GROUP BY ALL (PostgreSQL lacks it; list the columns)"),
    r"(?<![a-z_])trim\s*\((?!\s*(?:both|leading|trailing)\b)[^,()]*\)": (
        (D, P),
        "one-argument trim() (DuckDB also strips Unicode spaces such as U+00A0, PostgreSQL and "
        "Spark only ' ': write trim(both ' ' from x))",
    ),
    r"(?<![a-z_])trim\s*\((?!\s*(?:both|leading|trailing)\b)[^()]*,": (
        (S,),
        "two-argument trim() (Spark reads trim(chars, x), DuckDB and PostgreSQL trim(x, chars): "
        "write trim(both ' ' from x))",
    ),
    r"\bdouble\s+precision\b": ((S,), "double precision (Spark lacks it; use type_double())"),
    r"\bas\s+double\b(?!\s+precision)": (
        (P,),
        "the type double (PostgreSQL lacks it; use type_double())",
    ),
    r"\bas\s+(?:float|float4|float8|real)\b": (
        (D, P, S),
        "float types (4 or 8 bytes depending on the store; use type_double())",
    ),
    r"\bvarchar\b(?!\s*\()": (
        (S,),
        "varchar without a length (Spark lacks it; use dbt.type_string())",
    ),
    r"\bas\s+(?:text|string)\s*\)": (
        (P, S),
        "text / string casts (Spark lacks text, PostgreSQL string; use dbt.type_string())",
    ),
    r"\bas\s+(?:int2|int4|int8|bool|tinyint|hugeint|ubigint|uinteger)\b": (
        (P, S),
        "a type alias one store lacks (use smallint, integer, bigint, boolean)",
    ),
    r"\b(?:decimal|numeric)\b(?!\s*\()": (
        (D, P, S),
        "decimal/numeric without precision (DuckDB 18,3, PostgreSQL unbounded, Spark 10,0: write "
        "decimal(p, s))",
    ),
    r"\btimestamptz\b|\btimestamp\s+with\s+time\s+zone\b": (
        (S,),
        "timestamptz / timestamp with time zone (Spark lacks it; keep UTC in plain timestamp)",
    ),
    r"\btimestamp\s+without\s+time\s+zone\b": (
        (S,),
        "timestamp without time zone (write timestamp)",
    ),
    r"\btimestamp_ntz\b|\btimestamp_ltz\b": (
        (D, P),
        "timestamp_ntz / _ltz (Spark only; write timestamp)",
    ),
    r"\bextract\s*\(\s*(?:isodow|isoyear|epoch|julian|millennium|century|decade|timezone\w*)\b": (
        (S,),
        "extract() of a field Spark lacks (use iso_weekday() / epoch_seconds())",
    ),
    r"\bextract\s*\(\s*(?:dow|dayofweek|weekday)\b": (
        (D, P, S),
        "extract(dow ...) (Sunday is 0 on DuckDB and PostgreSQL, 1 on Spark: use iso_weekday())",
    ),
    r"\blateral\s*\(\s*values\b": (
        (S,),
        "LATERAL (VALUES ...) (Spark cannot read outer columns there: use unpivot_join())",
    ),
    r"\blateral\s+view\b": ((D, P), "LATERAL VIEW (Spark only: use unpivot_join())"),
    r"\bignore\s+nulls\b|\brespect\s+nulls\b": (
        (D, P, S),
        "IGNORE NULLS (PostgreSQL 15 lacks it, DuckDB and Spark place it differently: use a "
        "running max/count over a window)",
    ),
    r"\bdistinct\s+on\b": ((S,), "DISTINCT ON (Spark lacks it: use row_number() over (...))"),
    r"\bsimilar\s+to\b": ((S,), "SIMILAR TO (Spark lacks it: use regex_full_match)"),
    r"\brlike\b|\bregexp\b": (
        (D, P),
        "the RLIKE / REGEXP operator (Spark only: use regex_contains)",
    ),
    r"\bglob\b": ((P, S), "GLOB (DuckDB only: use like)"),
    r"<=>": ((D, P), "the <=> operator (Spark only: use is not distinct from)"),
    r"==": ((P,), "the == operator (PostgreSQL lacks it: use =)"),
    r"//": ((P, S), "the // operator (DuckDB only: use floor(a / b))"),
    r"\bdiv\b(?!\s*\()": ((D, P), "the DIV operator (Spark only: use floor(a / b))"),
    r"->": ((D, P, S), "-> / ->> (JSON arrows or lambdas differ per store)"),
    r"\barray\s*\[": ((S,), "array[...] (Spark lacks it: add a dispatched macro)"),
    r"\bfetch\s+(?:first|next)\b": ((S,), "FETCH FIRST (Spark lacks it: use limit)"),
    r"(?<![a-z_])filter\s*\((?!\s*where\b)": ((D, P), "filter() as a function (Spark only)"),
    r"\bwithin\s+group\b(?=[^;]*\bstring_agg\b)|\bstring_agg\s*\([^()]*\border\s+by\b": (
        (S,),
        "string_agg(... order by ...) (Spark lacks it: order in a subquery)",
    ),
    r"\binsert\s+overwrite\b": ((D, P), "INSERT OVERWRITE (Spark only)"),
    r"\busing\s+(?:parquet|delta|csv|json|orc)\b": ((D, P), "USING <format> (Spark only)"),
}
FUNCTION = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(", re.IGNORECASE)
MACRO_BLOCK = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(.*?{%-?\s*endmacro\s*-?%}", re.DOTALL)
JINJA_COMMENT = re.compile(r"{#.*?#}", re.DOTALL)
SQL_COMMENT = re.compile(r"--[^\n]*")
STRING = re.compile(r"'(?:[^']|'')*'")
JINJA = re.compile(r"{{.*?}}|{%(?!-?\s*(?:end)?macro\b).*?%}", re.DOTALL)
MACRO_TAG = re.compile(r"{%-?\s*(?:end)?macro\b.*?%}", re.DOTALL)
# `nulls first` / `nulls last (` in an ORDER BY, and `day (` etc. after interval literals, are
# not function calls
NOT_A_CALL = re.compile(r"\b(?:nulls|interval\s*'')\s*$", re.IGNORECASE)


def _blank(match: re.Match[str]) -> str:
    """Replace a match by spaces, keeping its line breaks (line numbers stay right)."""
    return "\n" * match.group(0).count("\n") or " "


def _strip(text: str) -> str:
    """Remove what is not SQL (comments, Jinja other than macro tags) and string contents."""
    text = JINJA_COMMENT.sub(_blank, text)
    text = JINJA.sub(_blank, text)
    text = SQL_COMMENT.sub("", text)
    return STRING.sub("''", text)


def _stores_of(name: str, overridden: set[str]) -> frozenset[str]:
    """The stores a macro's SQL runs on: one for `<store>__x`, the rest for `default__x`."""
    prefix, _, base = name.partition("__")
    if prefix in STORES:
        return frozenset({prefix})
    if prefix == "default" and base:
        return frozenset(s for s in STORES if f"{s}__{base}" not in overridden)
    return frozenset(STORES)


def _portable_parts(
    path: Path, text: str, macros: set[str]
) -> list[tuple[int, str, frozenset[str]]]:
    """(line offset, text, stores it runs on) of the parts of a file that must be portable."""
    if "/macros/" not in path.as_posix():
        return [(0, text, frozenset(STORES))]
    parts = []
    for match in MACRO_BLOCK.finditer(text):
        name = match.group(1)
        if name.startswith(tuple(f"{store}__" for store in STORES)):
            continue
        body = MACRO_TAG.sub(_blank, match.group(0))
        parts.append((text[: match.start()].count("\n"), body, _stores_of(name, macros)))
    return parts


def _lacking(stores: tuple[str, ...]) -> frozenset[str]:
    """Project store names of a rule; a rule naming none applies everywhere (a style rule)."""
    return frozenset(_NAMES[s] for s in stores) or frozenset(STORES)


def _line_findings(sql: str, runs_on: frozenset[str]) -> list[str]:
    found = []
    for match in FUNCTION.finditer(sql):
        name = match.group(1).lower()
        if name not in STORE_SPECIFIC or NOT_A_CALL.search(sql[: match.start()]):
            continue
        stores, instead = STORE_SPECIFIC[name]
        if _lacking(stores) & runs_on:
            found.append(
                f"{name}() is missing or different on {', '.join(stores)}: {instead}, "
                "or call it through a dispatched macro"
            )
    for pattern, (stores, what) in OPERATORS.items():
        if _lacking(stores) & runs_on and re.search(pattern, sql, re.IGNORECASE):
            found.append(what)
    return found


def findings(project: Path) -> list[str]:
    sources = {
        path: _strip(path.read_text(encoding="utf-8"))
        for folder in ("models", "tests", "analyses", "macros")
        for path in sorted((project / folder).rglob("*.sql"))
    }
    macros = {
        match.group(1)
        for path, text in sources.items()
        if "/macros/" in path.as_posix()
        for match in MACRO_BLOCK.finditer(text)
    }
    problems = []
    for path, text in sources.items():
        for offset, part, runs_on in _portable_parts(path, text, macros):
            for number, sql in enumerate(part.splitlines(), start=offset + 1):
                for what in _line_findings(sql, runs_on):
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
