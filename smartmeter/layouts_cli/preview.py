"""What the pipeline would make of one file, without loading it anywhere that matters.

The real pipeline runs on a private, temporary DuckDB data home holding only that file: the
same `smartmeter ingest` and the dbt models up to the published readings and the file
balance, with the layouts a command was given. The user's data home, warehouse and
environment (landing, archive and Parquet locations) are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

import dlt_pipelines
from smartmeter.layouts_cli.declarations import Declarations

# Everything the file balance needs (fct_readings, quarantine, duplicates, superseded values,
# register gaps) is upstream of it; nothing downstream (health, marts, the Parquet archive).
BUILD_SELECTION = ("+file_reading_balance", "+int_readings_standardized")
# The user's own dbt project, if set, is the one to preview with; the rest of SMARTMETER_*
# would point the private home at the user's landing, archive or Parquet archive.
KEPT_SETTINGS = ("SMARTMETER_DBT_PROJECT",)

READINGS_SQL = """
with verdicts as (
    select
        v.meter_id, v.channel, v.reading_start_at, v.timestamp_text, v.value_text, v.value,
        v.unit_text, s.kw, s.kwh, v.source_line, v.value_position,
        case
            when f.source_line is not null then 'published'
            when coalesce(s.quarantine_reason, v.quarantine_reason) is not null
                then coalesce(s.quarantine_reason, v.quarantine_reason)
            when v.is_superseded then 'superseded'
            when v.is_duplicate_copy then 'duplicate_copy'
            else 'held back (register gap read)'
        end as verdict
    from intermediate.int_readings_validated as v
    left join intermediate.int_readings_standardized as s
        on s.file_sha256 = v.file_sha256 and s.source_line = v.source_line
        and s.value_position = v.value_position
    left join marts.fct_readings as f
        on f.file_sha256 = v.file_sha256 and f.source_line = v.source_line
        and f.meter_id = v.meter_id and f.channel = v.channel
        and f.reading_start_at = v.reading_start_at
)
select * from verdicts order by source_line, value_position limit ?
"""
# The file balance's columns that are not counts of what became of its values.
BALANCE_LABELS = ("file_sha256", "source_file", "layout", "rows_without_values", "rows_with_values")


class PreviewError(Exception):
    """The file could not be previewed (dead-lettered, or the build failed before readings)."""


@dataclass
class Preview:
    file: str
    layout: str | None = None
    readings: list[dict] = field(default_factory=list)
    balance: dict | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    build_ok: bool = True
    build_summary: str = ""

    def as_dict(self) -> dict:
        return self.__dict__

    def lines(self) -> list[str]:
        out = [f"{self.file}: read as '{self.layout}' (nothing was loaded into your warehouse)"]
        header = (
            f"{'line':>6}  {'meter':<16} {'channel':<10} {'reading_start_at (UTC)':<22} "
            f"{'value':>12} {'unit':<5} {'kW':>10}  verdict"
        )
        out.append(header)
        for r in self.readings:
            stamp = str(r["reading_start_at"] or f"? {r['timestamp_text']}")[:22]
            value = r["value"] if r["value"] is not None else r["value_text"]
            kw = "" if r["kw"] is None else f"{r['kw']:.4f}"
            out.append(
                f"{r['source_line']:>6}  {str(r['meter_id'])[:16]:<16} "
                f"{str(r['channel'])[:10]:<10} {stamp:<22} {str(value)[:12]:>12} "
                f"{str(r['unit_text'] or '')[:5]:<5} {kw:>10}  {r['verdict']}"
            )
        if self.balance:
            b = self.balance
            fates = ", ".join(
                f"{n} {k.replace('_', ' ')}"
                for k, n in b.items()
                if k not in ("raw_values", "raw_rows", "is_balanced")
            )
            out.append(
                f"file balance: {b['raw_values']} values in {b['raw_rows']} rows: {fates}"
                f" ({'balanced' if b['is_balanced'] else 'NOT balanced'})"
            )
        if self.reasons:
            out.append(
                "quarantined: " + ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
            )
        if not self.build_ok:
            out.append(f"the build did not pass: {self.build_summary}")
        return out


def _environment(package_root: Path | None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SMARTMETER_") or k in KEPT_SETTINGS
    }
    if package_root is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(package_root), os.environ.get("PYTHONPATH", "")) if p
        )
    return env


@contextmanager
def _layouts_package(declarations: Declarations, scratch: Path) -> Iterator[Path | None]:
    """The loader reads layouts.yml beside its code: for layouts other than the active file,
    a copy of the loader package with those layouts, put first on the private run's path."""
    if not declarations.given:
        yield None
        return
    root = scratch / "layouts_package"
    package = root / "dlt_pipelines"
    shutil.copytree(
        Path(dlt_pipelines.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    (package / "layouts.yml").write_text(declarations.as_yaml(), encoding="utf-8")
    yield root


def _cli(home: Path, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "smartmeter.cli", "--home", str(home), "--target", "duckdb", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


def preview_file(path: Path, declarations: Declarations, rows: int) -> Preview:
    with tempfile.TemporaryDirectory(prefix="smartmeter-preview-") as scratch_dir:
        scratch = Path(scratch_dir)
        home = scratch / "home"
        (home / "landing").mkdir(parents=True)
        shutil.copyfile(path, home / "landing" / path.name)
        with _layouts_package(declarations, scratch) as package_root:
            env = _environment(package_root)
            cwd = package_root or scratch
            ingest = _cli(home, cwd, env, "--json", "ingest")
            outcome = _ingest_outcome(ingest, path.name)
            build = _cli(
                home,
                cwd,
                env,
                "build",
                "--",
                "--select",
                *BUILD_SELECTION,
            )
        return _read_preview(home, path.name, outcome, rows, build)


def _ingest_outcome(ingest: subprocess.CompletedProcess, name: str) -> dict:
    import json

    try:
        files = json.loads(ingest.stdout)["files"]
    except (ValueError, KeyError):
        raise PreviewError(
            f"{name}: the private ingest failed: {(ingest.stderr or ingest.stdout).strip()[-500:]}"
        ) from None
    outcome = files[0] if files else {"status": "missing", "message": "not taken in"}
    if outcome["status"] != "loaded":
        raise PreviewError(f"{name}: {outcome['status'].replace('_', '-')}: {outcome['message']}")
    return outcome


def _read_preview(
    home: Path, name: str, outcome: dict, rows: int, build: subprocess.CompletedProcess
) -> Preview:
    preview = Preview(file=name, layout=outcome.get("layout"))
    preview.build_ok = build.returncode == 0
    preview.build_summary = build.stdout.strip().splitlines()[-1] if build.stdout.strip() else ""
    try:
        con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    except duckdb.Error as exc:
        raise PreviewError(f"{name}: the private warehouse cannot be read: {exc}") from exc
    with con:
        try:
            cursor = con.execute(READINGS_SQL, [rows])
        except duckdb.Error as exc:
            raise PreviewError(
                f"{name}: the build stopped before the readings: {preview.build_summary}"
            ) from exc
        names = [d[0] for d in cursor.description]
        preview.readings = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        try:
            cursor = con.execute("select * from marts.file_reading_balance")
            columns = [d[0] for d in cursor.description]
            found = cursor.fetchone()
            preview.balance = (
                {c: v for c, v in zip(columns, found, strict=True) if c not in BALANCE_LABELS}
                if found
                else None
            )
            preview.reasons = dict(
                con.execute(
                    "select reason, count(*) from marts.quarantined_readings group by 1"
                ).fetchall()
            )
        except duckdb.Error:
            preview.balance = None
    return preview
