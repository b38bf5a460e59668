"""`smartmeter sql`: a read-only SQL shell on a data home's DuckDB warehouse, so the README's
queries run with what the install provides (no separate `duckdb` command).

`-c "select ..."` runs statements and exits (1 on the first error); SQL on stdin runs as a
script; otherwise a prompt reads statements ending in `;` until `.quit` or end of input. The
connection is read-only: a run may be writing beside it (DuckDB allows one writer), and
nothing typed here can change the warehouse. A Spark home is read through its control
database's views of the lake; a PostgreSQL warehouse has psql.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

import duckdb

from smartmeter import targets
from smartmeter.home import Home
from smartmeter.targets.base import NoDuckDBFile

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
PROMPT, MORE = "sql> ", "...> "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--command",
        dest="sql",
        action="append",
        metavar="SQL",
        help="run this SQL and exit (repeatable); without it, SQL from stdin or a prompt",
    )


def database_path(home: Home, target: str) -> Path:
    try:
        path = targets.get(target).duckdb_file(home)
    except NoDuckDBFile as exc:
        raise ShellError(str(exc)) from None
    if not path.exists():
        raise ShellError(f"no warehouse at {path}: run `smartmeter --home {home.root} init` first")
    return path


class ShellError(Exception):
    """Why the shell cannot open: one line."""


def _show(connection: duckdb.DuckDBPyConnection, sql: str, as_json: bool, out: TextIO) -> None:
    """Each statement of the text in turn, its rows shown (a table, or a JSON list of objects)."""
    for statement in connection.extract_statements(sql):
        _show_one(connection.sql(statement.query), as_json, out)


def _show_one(relation: duckdb.DuckDBPyRelation | None, as_json: bool, out: TextIO) -> None:
    if relation is None:  # a statement without rows (SET, PRAGMA)
        return
    if as_json:
        columns = relation.columns
        rows = [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]
        out.write(json.dumps(rows, default=str) + "\n")
    else:
        relation.show(max_rows=10_000, max_width=10_000)


def _statements(lines: TextIO, interactive: bool, out: TextIO):
    """Statements ending in `;` (the last may lack it at end of input)."""
    pending: list[str] = []
    while True:
        if interactive:
            out.write(MORE if pending else PROMPT)
            out.flush()
        line = lines.readline()
        if not line:
            break
        if not pending and line.strip() in (".quit", ".exit"):
            return
        pending.append(line)
        if line.rstrip().endswith(";"):
            yield "".join(pending)
            pending = []
    if "".join(pending).strip():
        yield "".join(pending)


def cmd_sql(args: argparse.Namespace, home: Home) -> int:
    try:
        path = database_path(home, args.target)
    except ShellError as exc:
        print(f"smartmeter: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with duckdb.connect(str(path), read_only=True) as connection:
        if args.sql:
            for sql in args.sql:
                try:
                    _show(connection, sql, args.json, sys.stdout)
                except duckdb.Error as exc:
                    print(f"smartmeter: {exc}", file=sys.stderr)
                    return EXIT_ERROR
            return EXIT_OK
        interactive = sys.stdin.isatty()
        for sql in _statements(sys.stdin, interactive, sys.stdout):
            try:
                _show(connection, sql, args.json, sys.stdout)
            except duckdb.Error as exc:
                print(f"smartmeter: {exc}", file=sys.stderr)
                if not interactive:  # a script stops at its first error
                    return EXIT_ERROR
        return EXIT_OK
