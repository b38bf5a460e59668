"""`smartmeter layouts`: check layouts.yml, say which layout reads a file and why the others
do not, preview what the pipeline would make of a file, and draft an entry from a sample.

Exit codes: 0 fine; 1 no layout recognizes the file, or a preview found the file unloadable;
2 layouts.yml has errors, or a file cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from dlt_pipelines.layouts import LayoutConfigError
from dlt_pipelines.text_tables import UnreadableFile

EXIT_OK, EXIT_NONE, EXIT_BAD = 0, 1, 2


def register(parser: argparse.ArgumentParser, common: Callable[[argparse.ArgumentParser], None]):
    """The subcommands of `smartmeter layouts`, each with the common flags (`common`)."""
    sub = parser.add_subparsers(dest="layouts_command", required=True, metavar="ACTION")

    def add(name: str, help_text: str, takes_file: bool) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        common(p)
        if takes_file:
            p.add_argument("file", type=Path, help="a sample of the vendor's files")
        p.add_argument(
            "--layouts",
            type=Path,
            metavar="FILE",
            help="a layouts.yml to use instead of the active one, or a draft (a list of "
            "entries, as `suggest` prints) to check with it",
        )
        return p

    add("check", "validate layouts.yml: every error at once, one line each", False)
    add("which", "the layout that recognizes FILE, or why each one does not", True)
    preview = add(
        "preview",
        "the first readings of FILE with their verdicts, as the pipeline would judge them "
        "(run on a private temporary DuckDB home: nothing is loaded into yours)",
        True,
    )
    preview.add_argument("-n", type=int, default=20, metavar="N", help="readings shown (20)")
    add("suggest", "a draft layouts.yml entry for FILE, printed as YAML to review", True)


def run(args: argparse.Namespace) -> int:
    from smartmeter.layouts_cli.declarations import read_declarations

    try:
        declarations = read_declarations(args.layouts)
    except LayoutConfigError as exc:
        return _fail(args, str(exc), EXIT_BAD)
    if args.layouts_command == "check":
        return _check(args, declarations)
    if not args.file.is_file():
        return _fail(args, f"{args.file}: no such file", EXIT_BAD)
    try:
        return {"which": _which, "preview": _preview, "suggest": _suggest}[args.layouts_command](
            args, declarations
        )
    except UnreadableFile as exc:
        return _fail(args, f"{args.file.name}: {exc}", EXIT_BAD)


def _fail(args: argparse.Namespace, message: str, code: int) -> int:
    if args.json:
        print(json.dumps({"ok": False, "error": message}, indent=2))
    else:
        print(f"smartmeter: {message}", file=sys.stderr)
    return code


def _check(args: argparse.Namespace, declarations) -> int:
    if args.json:
        print(
            json.dumps(
                {
                    "layouts_file": declarations.source,
                    "ok": declarations.ok,
                    "layouts": [lay.name for lay in declarations.layouts],
                    "errors": [e.as_dict() for e in declarations.errors],
                },
                indent=2,
            )
        )
    elif declarations.ok:
        names = ", ".join(lay.name for lay in declarations.layouts)
        print(f"{declarations.source}: {len(declarations.layouts)} layouts, no errors ({names})")
    else:
        for error in declarations.errors:
            print(error.line())
        print(
            f"{declarations.source}: {len(declarations.errors)} error(s) in "
            f"{len(declarations.entries)} entries",
            file=sys.stderr,
        )
    return EXIT_OK if declarations.ok else EXIT_BAD


def _which(args: argparse.Namespace, declarations) -> int:
    from smartmeter.layouts_cli.recognition import recognize_file

    result = recognize_file(args.file, declarations.layouts)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print("\n".join(result.lines()))
        for error in declarations.errors:
            print(f"  (not considered) {error.line()}")
    return EXIT_OK if result.recognized else EXIT_NONE


def _preview(args: argparse.Namespace, declarations) -> int:
    from smartmeter.layouts_cli.preview import PreviewError, preview_file

    if not declarations.ok:
        for error in declarations.errors:
            print(error.line(), file=sys.stderr)
        return _fail(args, "fix layouts.yml first (`smartmeter layouts check`)", EXIT_BAD)
    try:
        preview = preview_file(args.file.resolve(), declarations, max(args.n, 0))
    except PreviewError as exc:
        return _fail(args, str(exc), EXIT_NONE)
    if args.json:
        print(json.dumps(preview.as_dict(), indent=2, default=str))
    else:
        print("\n".join(preview.lines()))
    return EXIT_OK


def _suggest(args: argparse.Namespace, declarations) -> int:
    from smartmeter.layouts_cli.recognition import recognize_file
    from smartmeter.layouts_cli.sample import NotTabular
    from smartmeter.layouts_cli.suggestion import suggest

    recognized = recognize_file(args.file, declarations.layouts).recognized
    record_file = next(
        (lay for lay in declarations.layouts if lay.name == recognized and not lay.has_header),
        None,
    )
    if record_file:  # NEM12 and its kind: records, not a header and rows
        message = (
            f"{args.file.name} is a record file layout '{record_file.name}' reads "
            f"({record_file.shape}); suggest drafts layouts of a header and rows"
        )
        print(json.dumps({"ok": True, "recognized": recognized}) if args.json else f"# {message}")
        return EXIT_OK
    try:
        draft = suggest(args.file, declarations.layouts)
    except NotTabular as exc:
        return _fail(args, f"{args.file.name}: {exc}", EXIT_BAD)
    text = draft.yaml_text(args.file.name)
    if args.json:
        print(json.dumps({"ok": True, "entry": draft.entry, "needs": draft.needs, "yaml": text}))
    else:
        print(text, end="")
    return EXIT_OK
