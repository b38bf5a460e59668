"""The `smartmeter` command line: parses flags, calls the step, prints what happened.

Exit codes: 0 all good; 1 needs attention (a file dead-lettered, the quality gate failed, a step
failed, the warehouse unreachable); 2 bad usage, a data home that does not exist (or was built
with another target) or is unusable (read-only, full disk); 3 another run holds the data home's
lock; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

from smartmeter import __version__
from smartmeter.home import Home, HomeError, LockedError
from smartmeter.warehouse import TARGETS, WarehouseUnavailable, connected

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
LOCATION_FLAGS = {
    "landing": "SMARTMETER_LANDING_URL",
    "archive": "SMARTMETER_ARCHIVE_URL",
    "parquet": "SMARTMETER_PARQUET_URL",
}


def _print_json(payload: object) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str))


def _progress_bar(args: argparse.Namespace):
    """A rich progress bar on a terminal (never with --json or when piped)."""
    if args.json or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    class Bar:
        def __init__(self) -> None:
            self.progress = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                transient=True,
            )
            self.tasks: dict[str, int] = {}

        def __enter__(self):
            self.progress.__enter__()
            return self.update

        def __exit__(self, *exc: object) -> None:
            self.progress.__exit__(*exc)

        def update(self, label: str, done: int, total: int) -> None:
            if label not in self.tasks:
                self.tasks[label] = self.progress.add_task(label, total=total)
            self.progress.update(self.tasks[label], completed=done, total=total)

    return Bar()


# -- commands --------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, home: Home) -> int:
    from dlt_pipelines import raw_load
    from smartmeter import targets
    from smartmeter.ingest import make_pipeline, prepare

    with home.lock(wait=True), connected(home, args.target) as warehouse:
        prepare(home, warehouse)
        # every declared raw table, also those of layouts added since the home was made
        loader_file_format = targets.get(args.target).loader_file_format
        raw_load.load(make_pipeline(home, warehouse), [], loader_file_format)
    if args.json:
        _print_json({"home": str(home.root), "target": args.target})
    else:
        print(f"data home ready at {home.root} (target {args.target})")
    return EXIT_OK


def cmd_ingest(args: argparse.Namespace, home: Home) -> int:
    from smartmeter.ingest import ingest
    from smartmeter.places import home_places

    with home.lock(wait=args.wait), connected(home, args.target) as warehouse:
        report = ingest(home, warehouse)
    if args.json:
        _print_json({"files": [o.__dict__ for o in report.outcomes], "ok": report.ok})
    else:
        for outcome in report.outcomes:
            print(outcome.line())
        if not report.outcomes:
            print(f"nothing to ingest in {home_places(home).landing}")
        else:
            print(
                f"ingest: {report.count('loaded')} loaded ({report.rows_loaded:,} rows), "
                f"{report.count('duplicate')} duplicate, "
                f"{report.count('dead_lettered')} dead-lettered"
            )
    return EXIT_OK if report.ok else EXIT_ATTENTION


def _report_run(args: argparse.Namespace, summary) -> int:
    from smartmeter.flow import summary_lines

    if args.json:
        _print_json(summary.as_dict())
    else:
        print("\n".join(summary_lines(summary)))
    if summary.status == "interrupted":
        return EXIT_INTERRUPTED
    return EXIT_OK if summary.ok else EXIT_ATTENTION


def cmd_run(args: argparse.Namespace, home: Home, trigger: str = "manual") -> int:
    from smartmeter.flow import run_pipeline
    from smartmeter.watch import StopOnSignal

    home.create()
    with StopOnSignal() as stop, home.lock(wait=args.wait), _progress_bar(args) as progress:
        summary = run_pipeline(
            home,
            args.target,
            trigger,
            stop.event.is_set,
            progress,
            force=args.force,
            on_notice=_notice,
        )
    return _report_run(args, summary)


def _notice(message: str) -> None:
    """What an operator should see while a run goes on (a store away and waited for)."""
    print(f"smartmeter: {message}", file=sys.stderr, flush=True)


def _dbt_command(command: str, *defaults: str):
    def handler(args: argparse.Namespace, home: Home) -> int:
        from smartmeter import targets
        from smartmeter.dbt_runner import run_dbt

        extra = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
        with home.lock(wait=args.wait):
            result = run_dbt(home, targets.get(args.target), command, *defaults, *extra)
        if result.ok and not result.results:  # dbt's own exit code is 0 for an empty selection
            print(result.output, file=sys.stderr, end="")
            return _fail(
                args,
                f"dbt {command} selected nothing",
                "check the --select/--exclude arguments (`dbt ls` lists the nodes)",
                EXIT_ATTENTION,
            )
        print(result.output if not args.json else json.dumps({"ok": result.ok}))
        return EXIT_OK if result.ok else EXIT_ATTENTION

    return handler


cmd_build = _dbt_command("build")
cmd_test = _dbt_command("test")


def cmd_export(args: argparse.Namespace, home: Home) -> int:
    from smartmeter.export import export_warehouse
    from smartmeter.places import home_places

    with home.lock(wait=args.wait):
        report = export_warehouse(home, args.target, args.partition_scheme)
    if args.json:
        _print_json(report.__dict__)
    else:
        print(
            f"export: {len(report.partitions)} partitions rewritten ({report.rows:,} rows), "
            f"{len(report.removed)} removed, in {report.seconds:.1f} s "
            f"-> {home_places(home).parquet}"
        )
    return EXIT_OK


def cmd_watch(args: argparse.Namespace, home: Home) -> int:
    from smartmeter.flow import summary_lines
    from smartmeter.watch import StopOnSignal, watch

    def on_run(summary) -> None:
        if args.json:
            print(json.dumps(summary.as_dict(), default=str), flush=True)
        else:
            print("\n".join(summary_lines(summary)), flush=True)

    from smartmeter.places import home_places

    landing = home_places(home).landing
    with StopOnSignal("stopping after the current run (Ctrl-C again to stop now)") as stop:
        if not args.json:
            where = f"{args.queue} for {landing}" if args.queue else str(landing)
            print(f"watching {where} (Ctrl-C to stop)", flush=True)
        if args.queue:
            from smartmeter.queue_watch import watch_queue

            runs = watch_queue(
                home, args.target, args.queue, on_run, stop.event, max_runs=args.max_runs
            )
        elif not landing.has_folder:
            from smartmeter.queue_watch import watch_listing

            runs = watch_listing(
                home, args.target, on_run, stop.event, args.poll_seconds, args.max_runs
            )
        else:
            runs = watch(
                home, args.target, on_run, stop.event, args.settle_seconds, max_runs=args.max_runs
            )
    if not args.json:
        print(f"stopped after {runs} run(s)")
    return EXIT_OK


def cmd_dlq(args: argparse.Namespace, home: Home) -> int:
    from smartmeter import dead_letters

    if args.dlq_command == "discard":
        return discard(args, home)
    if args.dlq_command == "list":
        letters = dead_letters.all_letters(home) if args.all else dead_letters.open_letters(home)
        if args.json:
            _print_json([letter.__dict__ for letter in letters])
            return EXIT_OK
        if not letters:
            print("the dead-letter queue is empty")
        for letter in letters:
            print(
                f"{letter.dead_letter_id}  {letter.status:<9} {letter.stage:<7} "
                f"{letter.reason:<22} {letter.original_name}  ({letter.attempts} attempt(s), "
                f"last {letter.last_attempt_at})\n    {letter.message}"
            )
        return EXIT_OK
    return replay(args, home)


def _open_letter(args: argparse.Namespace, home: Home):
    """The letter named on the command line, or an exit code saying why there is none."""
    from smartmeter import dead_letters

    letter = dead_letters.find(home, args.id)
    if letter is None:
        hint = "see `smartmeter dlq list`"
        return _fail(args, f"no dead letter {args.id!r}", hint, EXIT_USAGE)
    if letter.status != dead_letters.OPEN:
        if not args.json:
            print(f"{letter.dead_letter_id} was already {letter.status}; nothing to do")
        else:
            _print_json({"dead_letter_id": letter.dead_letter_id, "status": letter.status})
        return EXIT_OK
    return letter


def _close_file_alerts(home: Home, target: str, letters: list) -> None:
    """The letters' `file_dead_lettered` alerts are closed, and ops.dead_letters mirrors them
    (both wait for the next run when the warehouse is away)."""
    from smartmeter import alerts, dead_letters

    try:
        with connected(home, target) as warehouse:
            for letter in letters:
                subject = f"file {letter.original_name}"
                alerts.close(warehouse, kind="file_dead_lettered", subject=subject)
            dead_letters.sync_table(home, warehouse)
    except WarehouseUnavailable:
        pass


def discard(args: argparse.Namespace, home: Home) -> int:
    """Retire a letter that can never load, for good, with the operator's reason."""
    from smartmeter import dead_letters

    with home.lock(wait=args.wait):
        letter = _open_letter(args, home)
        if isinstance(letter, int):
            return letter
        dead_letters.discard(home, letter, args.reason)
        _close_file_alerts(home, args.target, [letter])
    if args.json:
        _print_json(letter.__dict__)
    else:
        print(f"{letter.dead_letter_id}: discarded ({args.reason}); kept in {letter.dlq_path}")
    return EXIT_OK


def replay(args: argparse.Namespace, home: Home) -> int:
    """Replay dead letters after their cause is fixed: each goes through exactly once."""
    from smartmeter import dead_letters

    if args.all:
        letters = dead_letters.open_letters(home, args.target)
    else:
        letter = _open_letter(args, home)
        if isinstance(letter, int):
            return letter
        letters = [letter]
    unchanged = [lt for lt in letters if not args.force and dead_letters.cause_unchanged(home, lt)]
    letters = [lt for lt in letters if lt not in unchanged]
    for letter in unchanged:
        if not args.json:
            print(
                f"{letter.dead_letter_id}: unchanged since it was parked (same file, layouts and "
                f"code; {letter.reason}): fix the file in dlq/ or layouts.yml, or "
                f"`smartmeter dlq discard {letter.dead_letter_id} --reason ...` (--force to try)"
            )
    if unchanged and not letters:
        if args.json:
            _print_json({"unchanged": [lt.dead_letter_id for lt in unchanged], "replayed": []})
        return EXIT_ATTENTION
    if not letters:
        print("no open dead letters to replay")
        return EXIT_OK
    home.create()
    with home.lock(wait=args.wait):
        for letter in letters:
            dead_letters.set_status(letter, dead_letters.REPLAYING)
        from smartmeter.flow import run_pipeline

        summary = run_pipeline(home, args.target, "replay")
        for letter in letters:
            if summary.ok:
                dead_letters.mark_replayed(home, letter)
            else:
                dead_letters.set_status(letter, dead_letters.OPEN)
        if summary.ok:
            _close_file_alerts(home, args.target, letters)
    names = ", ".join(letter.dead_letter_id for letter in letters)
    if not args.json:
        state = "replayed" if summary.ok else "still open (the run failed)"
        print(f"{names}: {state}")
    return _report_run(args, summary)


def cmd_alerts(args: argparse.Namespace, home: Home) -> int:
    from smartmeter import alerts

    with connected(home, args.target) as warehouse:
        if args.alerts_command == "ack":
            if not alerts.close(warehouse, alert_id=args.id):
                hint = "see `smartmeter alerts list`"
                return _fail(args, f"no open alert {args.id!r}", hint, EXIT_USAGE)
            if args.json:
                _print_json({"alert_id": args.id, "acknowledged": True})
            else:
                print(f"{args.id}: acknowledged (closed; it is raised again if it recurs)")
            return EXIT_OK
        listed = alerts.list_alerts(warehouse, include_resolved=args.all)
    if args.json:
        _print_json(listed)
    elif not listed:
        print("no open alerts")
    for alert in [] if args.json else listed:
        closed = f"  (closed {alert['resolved_at']})" if alert["resolved_at"] else ""
        print(
            f"{alert['alert_id']}  {alert['raised_at']}  {alert['severity']:<8} "
            f"{alert['kind']:<20} {alert['subject']}{closed}\n    {alert['message']}"
        )
    return EXIT_OK


def cmd_status(args: argparse.Namespace, home: Home) -> int:
    from smartmeter.status import collect_status, status_lines

    status = collect_status(home, args.target)
    if args.json:
        _print_json(status)
    else:
        print("\n".join(status_lines(status)))
    unreachable = str(status["warehouse"]).startswith("unreachable") or any(
        count == "unreachable" for count in status["folders"].values()
    )
    return EXIT_ATTENTION if unreachable else EXIT_OK


def cmd_report(args: argparse.Namespace, home: Home) -> int:
    from smartmeter.report import write_report

    path = write_report(home, args.target, Path(args.output) if args.output else None)
    if args.json:
        _print_json({"report": str(path)})
    else:
        print(f"report written to {path}")
    return EXIT_OK


def cmd_layouts(args: argparse.Namespace, home: Home) -> int:
    from smartmeter import layouts_cli

    return layouts_cli.run(args)


# -- parser ----------------------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, Home], int]


def _common(parser: argparse.ArgumentParser, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--home", default=default, help="data home ($SMARTMETER_HOME, ./data)")
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=default,
        help="duckdb (embedded, default), postgres (libpq PG* variables) or spark (a Spark "
        "session; profiles.yml)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="machine-readable JSON output (errors too: error, hint, exit_code)",
    )
    parser.add_argument(
        "--switch-target",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="use --target on a home built with another target (remembered from now on)",
    )
    for place, env in LOCATION_FLAGS.items():
        parser.add_argument(
            f"--{place}-url",
            default=default,
            metavar="URL",
            help=f"s3://bucket/prefix or a folder (${env}; default <home>/"
            f"{'raw' if place == 'archive' else place})",
        )


def _outage_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--outage-window",
        type=float,
        metavar="SECONDS",
        help="how long a step waits out an unreachable warehouse or object store before the "
        "run fails with the files still pending ($SMARTMETER_OUTAGE_WINDOW_SECONDS; default 300)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartmeter",
        description="Smart-meter data warehouse: raw landing, dbt VEE, Parquet archive.",
    )
    parser.add_argument("--version", action="version", version=f"smartmeter {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str, wait: bool = True):
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, top=False)
        if wait:
            p.add_argument(
                "--wait", action="store_true", help="wait for a running run instead of exiting 3"
            )
        p.set_defaults(handler=handler)
        return p

    add("init", cmd_init, "create the data home, the ops tables and empty raw tables", False)
    add("ingest", cmd_ingest, "archive and load every file waiting in landing/")
    run = add("run", cmd_run, "ingest, dbt build (the quality gate), Parquet export, alerts")
    _outage_window(run)
    run.add_argument(
        "--no-forecast",
        action="store_true",
        help="skip the learned forecast step (or SMARTMETER_FORECAST=off)",
    )
    run.add_argument(
        "--force", action="store_true", help="build and export even when nothing is new"
    )
    build = add("build", cmd_build, "dbt build alone (extra arguments go to dbt after --)")
    build.add_argument("dbt_args", nargs=argparse.REMAINDER, help="e.g. -- --select fct_readings")
    test = add("test", cmd_test, "dbt test on whole tables (a build tests what it wrote)")
    test.add_argument("dbt_args", nargs=argparse.REMAINDER, help="e.g. -- --select fct_readings")
    export = add("export", cmd_export, "write the queued partitions of the Parquet archive")
    export.add_argument("--partition-scheme", choices=("date/meter_id", "date", "month/meter_id"))
    watch = add("watch", cmd_watch, "run whenever complete files arrive in landing/", False)
    _outage_window(watch)
    watch.add_argument(
        "--settle-seconds",
        type=float,
        default=1.0,
        help="how long landing/ must stand still before a run (default 1)",
    )
    watch.add_argument(
        "--queue",
        metavar="SQS_URL",
        help="consume the landing bucket's notifications from this SQS queue",
    )
    watch.add_argument(
        "--max-runs",
        type=int,
        metavar="N",
        help="stop after N runs (with --queue: N batches of notifications)",
    )
    watch.add_argument(
        "--poll-seconds",
        type=float,
        default=10.0,
        help="a bucket landing without --queue is listed this often (default 10)",
    )

    def action(actions, name: str, help_text: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text)
        _common(p, top=False)
        return p

    dlq = add("dlq", cmd_dlq, "the dead-letter queue: list, replay, discard", False)
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    dlq_list = action(dlq_sub, "list", "list dead letters (open ones; --all for all)")
    dlq_list.add_argument("--all", action="store_true", help="also replayed and discarded ones")
    dlq_replay = action(dlq_sub, "replay", "replay one dead letter, or --all")
    dlq_replay.add_argument("id", nargs="?", help="the dead letter id (dl-...)")
    dlq_replay.add_argument("--all", action="store_true", help="every open dead letter")
    dlq_replay.add_argument(
        "--force", action="store_true", help="replay even when nothing changed since it was parked"
    )
    dlq_discard = action(dlq_sub, "discard", "retire a letter that can never load")
    dlq_discard.add_argument("id", help="the dead letter id (dl-...)")
    dlq_discard.add_argument("--reason", required=True, help="why (kept with the letter)")
    for p in (dlq_replay, dlq_discard):
        p.add_argument("--wait", action="store_true", help="wait for a running run")
    alerts = add("alerts", cmd_alerts, "open alerts: list, ack", False)
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    alerts_list = action(alerts_sub, "list", "open alerts (--all: closed ones too)")
    alerts_list.add_argument("--all", action="store_true", help="also closed alerts")
    action(alerts_sub, "ack", "acknowledge (close) an open alert").add_argument(
        "id", help="the alert id (al-...)"
    )
    add("status", cmd_status, "folders, recent runs, open alerts", False)
    report = add("report", cmd_report, "write the self-contained HTML report", False)
    report.add_argument("--output", help="where to write it (default <home>/reports/)")
    layouts = add("layouts", cmd_layouts, "check, explain, preview and draft layouts", False)
    from smartmeter.layouts_cli import register as register_layouts

    register_layouts(layouts, lambda p: _common(p, top=False))
    from smartmeter.sql_shell import add_arguments, cmd_sql

    add_arguments(add("sql", cmd_sql, "a read-only SQL shell on the warehouse (DuckDB)", False))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.wait = getattr(args, "wait", False)
    if args.command == "dlq" and args.dlq_command == "replay" and not (args.id or args.all):
        parser.error("dlq replay needs a dead letter id or --all")
    from smartmeter.settings import Settings
    from smartmeter.storage import ConfigurationError, parse_location

    # Every setting resolved once (flags over the environment over defaults), passed down
    # with the data home.
    flags = {f"{place}_url": getattr(args, f"{place}_url", None) for place in LOCATION_FLAGS}
    try:
        no_forecast = getattr(args, "no_forecast", False)
        settings = Settings.resolve(
            {
                **flags,
                "target": args.target,
                "forecast": False if no_forecast else None,
                "outage_window": getattr(args, "outage_window", None),
            }
        )
        for url in (settings.landing_url, settings.archive_url, settings.parquet_url):
            if url:
                parse_location(url)
    except (ConfigurationError, ValueError) as exc:
        parser.error(str(exc))
    if settings.target not in TARGETS:
        parser.error(f"SMARTMETER_TARGET={settings.target!r}: choose one of {', '.join(TARGETS)}")
    home = Home.resolve(args.home, settings)
    from smartmeter import faults

    faults.arm(settings.crash_at)
    from dlt_pipelines.file_zones import load_zone_settings
    from dlt_pipelines.layouts import load_layouts

    try:
        if args.command not in ("init", "layouts") and not home.root.is_dir():
            raise HomeError(
                f"no data home at {home.root}",
                f"create it with `smartmeter --home {home.root} init`",
            )
        home = _with_home_target(args, home)
        args.target = home.settings.target
        if args.command in ("init", "run", "ingest"):
            load_layouts()  # a broken layouts.yml stops here, before any file is taken in
            load_zone_settings(home.root)  # and so does a broken <home>/layout_zones.yml
        code = args.handler(args, home)
        if args.command in ("init", "run", "ingest") and code in (EXIT_OK, EXIT_ATTENTION):
            home.remember_target(args.target)
        return code
    except BrokenPipeError:  # `smartmeter status --json | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        hint = "run it again: nothing half-done is kept"
        return _fail(args, "interrupted", hint, EXIT_INTERRUPTED)
    except Exception as exc:
        failure = _failure(exc)
        if failure is None:
            raise
        return _fail(args, str(exc.args[0]) if exc.args else str(exc), *failure)


def _with_home_target(args: argparse.Namespace, home: Home) -> Home:
    """The home's remembered target unless one is given; a different one only on request."""
    remembered = home.remembered_target()
    given = home.settings.target
    if remembered is None or remembered == given:
        return home
    if not home.settings.target_given:
        return replace(home, settings=replace(home.settings, target=remembered))
    if getattr(args, "switch_target", False):
        return home
    raise HomeError(
        f"the data home {home.root} was built with --target {remembered}, not {given}",
        f"drop --target (and SMARTMETER_TARGET), or add --switch-target to use {given} from now on",
    )


# Exit code and hint of each error the command line reports on one line (no traceback).
def _failure(exc: Exception) -> tuple[str, int] | None:
    from dlt_pipelines.layouts import LayoutConfigError
    from smartmeter.report import ReportError
    from smartmeter.storage import ConfigurationError, StoreError

    if isinstance(exc, LockedError):
        return _hint(exc, "wait for it to finish, or pass --wait"), EXIT_LOCKED
    if isinstance(exc, HomeError):
        return _hint(exc, "see `smartmeter --help` for --home"), EXIT_USAGE
    if isinstance(exc, LayoutConfigError):
        return "fix layouts.yml (`smartmeter layouts check`)", EXIT_USAGE
    if isinstance(exc, ConfigurationError):
        return "check the --*-url flags and SMARTMETER_* variables", EXIT_USAGE
    if isinstance(exc, WarehouseUnavailable):
        return "check that the warehouse is up (PG* variables for postgres)", EXIT_ATTENTION
    if isinstance(exc, StoreError):
        return "check that the object store is reachable and the credentials", EXIT_ATTENTION
    if isinstance(exc, ReportError):
        return "run `smartmeter run` first", EXIT_ATTENTION
    return None


def _hint(exc: Exception, default: str) -> str:
    return str(exc.args[1]) if len(exc.args) > 1 else default


def _fail(args: argparse.Namespace, message: str, hint: str, code: int) -> int:
    """One error: a JSON object on stdout with --json, else one line on stderr."""
    if getattr(args, "json", False):
        _print_json({"error": message, "hint": hint, "exit_code": code})
    else:
        print(f"smartmeter: {message}; {hint}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
