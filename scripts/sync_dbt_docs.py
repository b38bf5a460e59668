"""Keep dbt's view of the raw layer in step with dlt_pipelines/layouts.yml.

Writes, from the declared layouts:
  - the layout tables of the `raw` source (between the markers in
    dbt_project/models/staging/_raw__sources.yml), with each layout's description, shape and name;
  - dbt_project/macros/staging/declared_layout_tables.sql, the raw tables of each shape, which
    the staging models read through source() so that dbt's lineage shows every layout table
    flowing into staging;
  - dbt_project/macros/_macros.yml, every macro described by the comment above it (or, failing
    one, by its file's opening comment).

`--check` writes nothing and exits 1 naming each file that is out of step (`make lint` runs it).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dlt_pipelines.layouts import LAYOUTS_FILE, load_layouts  # noqa: E402

PROJECT = REPO / "dbt_project"
SOURCES_FILE = PROJECT / "models" / "staging" / "_raw__sources.yml"
TABLES_MACRO = PROJECT / "macros" / "staging" / "declared_layout_tables.sql"
MACROS_DOC = PROJECT / "macros" / "_macros.yml"
BEGIN = "      # BEGIN layout tables: written by scripts/sync_dbt_docs.py from layouts.yml\n"
END = "      # END layout tables\n"
GENERATED = "Written by scripts/sync_dbt_docs.py from dlt_pipelines/layouts.yml: do not edit."


def _folded(text: str, indent: str) -> str:
    words = " ".join(text.split())
    lines, line = [], ""
    for word in words.split(" "):
        if line and len(indent) + len(line) + 1 + len(word) > 100:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "".join(f"{indent}{each}\n" for each in lines)


def layout_tables_block(layouts_file: Path = LAYOUTS_FILE) -> str:
    out = [BEGIN]
    for layout in load_layouts(layouts_file):
        out.append(f"      - name: {layout.raw_table}\n")
        out.append("        description: >\n")
        about = f"Layout `{layout.name}` ({layout.shape}): {layout.description}"
        out.append(_folded(about, " " * 10))
        out.append(f"        meta: {{layout: {layout.name}, shape: {layout.shape}}}\n")
    out.append(END)
    return "".join(out)


def sources_text(current: str, layouts_file: Path = LAYOUTS_FILE) -> str:
    if BEGIN not in current or END not in current:
        raise SystemExit(f"{SOURCES_FILE}: the layout-table markers are missing")
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + layout_tables_block(layouts_file) + tail


def tables_macro_text(layouts_file: Path = LAYOUTS_FILE) -> str:
    shapes: dict[str, list[str]] = {}
    for layout in load_layouts(layouts_file):
        shapes.setdefault(layout.shape, []).append(layout.raw_table)
    listing = ",\n".join(
        f"        '{shape}': [{', '.join(repr(t) for t in tables)}]"
        for shape, tables in sorted(shapes.items())
    )
    return (
        f"{{#- {GENERATED}\n"
        "    The raw table of every layout declared in the repository, by shape. -#}\n"
        "{% macro declared_layout_tables(shape) -%}\n"
        "    {{ return({\n"
        f"{listing}\n"
        "    }.get(shape, [])) }}\n"
        "{%- endmacro %}\n"
    )


_COMMENT = re.compile(r"\{#-?(.*?)-?#\}", re.S)
_MACRO = re.compile(r"\{%-?\s*(macro|test)\s+(\w+)\s*\(")


def _clean(comment: str) -> str:
    """One line; dbt renders descriptions as Jinja, so a comment that shows Jinja is kept raw."""
    text = " ".join(comment.split())
    return f"{{% raw %}}{text}{{% endraw %}}" if re.search(r"\{[{%#]", text) else text


def macro_descriptions() -> list[tuple[str, str, str]]:
    """(name, description, path) of every macro and generic test: the comment right above it,
    else the file's opening comment."""
    found = []
    paths = sorted((PROJECT / "macros").rglob("*.sql"))
    paths += sorted((PROJECT / "tests" / "generic").glob("*.sql"))
    for path in paths:
        text = path.read_text(encoding="utf-8")
        opening = _COMMENT.match(text.lstrip())
        file_doc = _clean(opening.group(1)) if opening else ""
        for match in _MACRO.finditer(text):
            before = text[: match.start()].rstrip()
            own = ""
            if before.endswith("#}"):
                start = before.rfind("{#")
                own = _clean(_COMMENT.match(before[start:]).group(1)) if start >= 0 else ""
            description = own or file_doc
            if not description:
                where = path.relative_to(REPO)
                raise SystemExit(f"{where}: {match.group(2)} has no comment to describe it")
            name = f"test_{match.group(2)}" if match.group(1) == "test" else match.group(2)
            found.append((name, description, str(path.relative_to(PROJECT))))
    return found


def macros_doc_text() -> str:
    macros = [
        {"name": name, "description": description} for name, description, _ in macro_descriptions()
    ]
    document = {"version": 2, "macros": macros}
    body = yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)
    origin = GENERATED.replace("dlt_pipelines/layouts.yml", "the comments in dbt_project/macros")
    return f"# {origin}\n{body}"


def wanted() -> dict[Path, Callable[[], str]]:
    """Each file and how to write it, in order: the macro listing is written before the macro
    descriptions read it."""
    return {
        SOURCES_FILE: lambda: sources_text(SOURCES_FILE.read_text(encoding="utf-8")),
        TABLES_MACRO: tables_macro_text,
        MACROS_DOC: macros_doc_text,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are out of step")
    args = parser.parse_args(argv)
    stale = []
    for path, write in wanted().items():
        text = write()
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        verb = "out of step with layouts.yml" if args.check else "written"
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        print(f"{shown}: {verb}", file=sys.stderr)
    if args.check and stale:
        print("run: python scripts/sync_dbt_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
