"""The `smartmeter` command line. Parses flags, calls the step, prints what happened.

Exit codes: 0 all good; 1 something needs attention (a file dead-lettered, the quality gate
failed, an alert could not be raised); 2 bad usage or an unusable data home; 3 another run holds
the data home's lock; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from smartmeter import __version__
from smartmeter.home import Home, HomeError
from smartmeter.warehouse import TARGETS, WarehouseUnavailable, connected

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _common(parser: argparse.ArgumentParser, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--home",
        default=default,
        help="data home (default: $SMARTMETER_HOME or ./data)",
    )
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=default,
        help="warehouse: duckdb (embedded, default) or postgres (libpq PG* variables)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print machine-readable JSON instead of text",
    )


def cmd_init(args: argparse.Namespace, home: Home) -> int:
    from dlt_pipelines import raw_load
    from smartmeter.ingest import LOADER_FILE_FORMAT, make_pipeline, prepare

    with home.lock(wait=True), connected(home, args.target) as warehouse:
        prepare(home, warehouse)
        raw_load.load(make_pipeline(home, warehouse), [], LOADER_FILE_FORMAT[args.target])
    _say(args, f"data home ready at {home.root} (target {args.target})", {"home": str(home.root)})
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, home: Home) -> int:
    from smartmeter.ingest import ingest

    with home.lock(wait=args.wait), connected(home, args.target) as warehouse:
        report = ingest(home, warehouse)
    if args.json:
        print(json.dumps({"files": [o.__dict__ for o in report.outcomes], "ok": report.ok}))
    else:
        for outcome in report.outcomes:
            print(outcome.line())
        if not report.outcomes:
            print(f"nothing to ingest in {home.landing}")
        else:
            print(
                f"ingest: {report.count('loaded')} loaded ({report.rows_loaded:,} rows), "
                f"{report.count('duplicate')} duplicate, "
                f"{report.count('dead_lettered')} dead-lettered"
            )
    return EXIT_OK if report.ok else EXIT_ATTENTION


def _say(args: argparse.Namespace, text: str, payload: dict) -> None:
    print(json.dumps(payload) if args.json else text)


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace, Home], int], str]] = {
    "init": (cmd_init, "create the data home, the ops tables and empty raw tables"),
    "ingest": (cmd_ingest, "archive and load every file waiting in landing/"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartmeter",
        description="Smart-meter data warehouse: raw landing, dbt VEE, Parquet archive.",
    )
    parser.add_argument("--version", action="version", version=f"smartmeter {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, top=False)
        if name == "ingest":
            p.add_argument("--wait", action="store_true", help="wait for a running run's lock")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.target = args.target or os.environ.get("SMARTMETER_TARGET") or "duckdb"
    home = Home.resolve(args.home)
    handler = COMMANDS[args.command][0]
    try:
        return handler(args, home)
    except HomeError as exc:
        print(f"smartmeter: {exc}", file=sys.stderr)
        return EXIT_LOCKED if "another smartmeter run" in str(exc) else EXIT_USAGE
    except WarehouseUnavailable as exc:
        print(f"smartmeter: {exc}", file=sys.stderr)
        return EXIT_ATTENTION
    except KeyboardInterrupt:
        print("smartmeter: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
