"""When `dbt build` fails on data, find the file(s) responsible and set them aside.

A model that raises a runtime error (a conversion, an overflow, a value out of range), or an
error-severity test that fails, because of what one file holds would otherwise fail every build
from then on, and hold back every other file. Validation gives every value a verdict without
raising, so this is the last line of defence, for errors no rule foresaw (or a model or test an
analyst added).

How the culprits are found: the suspects are the files loaded since the last build every model
finished (the loads past the oldest incremental watermark when the build started). A probe
rebuilds the failing models and everything upstream of them from scratch (`dbt run
--full-refresh`; for a failing test, `dbt build --full-refresh` of the test and its upstream, so
the test runs too) with some suspects held back (ops.held_back_files, read by
int_readings_unioned and int_files_counted when var hold_back_files is set). If the probe with
every suspect held back fails too, the data is not the cause and nothing is set aside.
Otherwise a binary search finds each file whose values make the probe fail: about log2(n)
probes per culprit. Each culprit is dead-lettered with the database's message (stage `load`,
replayable with `smartmeter dlq replay` after a fix), its raw rows are removed, and the
warehouse is rebuilt from the raw tables (`dbt build --full-refresh`: the failed build may have
left models half way through the new loads, the probes with part of the files). Until that
rebuild succeeds a marker in the home's .state/ makes the next build a full one, so a run
killed during the search, or one whose failure was not the data's, loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from smartmeter import dead_letters, targets
from smartmeter.dbt_runner import DbtResult, run_dbt
from smartmeter.faults import crash_point
from smartmeter.home import Home
from smartmeter.ingest import Delivery, dead_letter_delivery, delete_raw_rows
from smartmeter.warehouse import Warehouse

HELD_BACK_TABLE = "ops.held_back_files"
# The probes' dbt target folder: their var would otherwise cost the home's usual parse (dbt
# parses afresh when vars change), twice per search.
PROBE_WORKSPACE = "target-probes"


@dataclass
class SuspectFile:
    sha256: str
    original_name: str
    delivery_id: str
    archive_path: str
    load_id: str


@dataclass
class Isolation:
    """What the search found: the culprits (each with the error its probe raised)."""

    culprits: list[tuple[SuspectFile, str]] = field(default_factory=list)
    probes: int = 0


def rebuild_marker(home: Home, target: str) -> Path:
    """Present while models may hold a probe's partial rebuild: the next build is a full one.
    It holds the load id the suspects were loaded after ('' for every file)."""
    return home.state / f"rebuild-from-raw.{target}"


def failed_models(result: DbtResult) -> list[dict]:
    """Model nodes that raised an error (not failing tests)."""
    return [
        r
        for r in result.results
        if r["unique_id"].startswith("model.") and r["status"] in ("error", "runtime error")
    ]


def failed_tests(result: DbtResult) -> list[dict]:
    """Test nodes that failed at error severity, or could not run."""
    return [
        r
        for r in result.results
        if r["unique_id"].startswith("test.") and r["status"] in ("fail", "error")
    ]


def failed_nodes(result: DbtResult) -> list[dict]:
    """What a search looks for: models that raised, and tests that failed at error severity."""
    return failed_models(result) + failed_tests(result)


def node_name(node: dict) -> str:
    """The selectable name of a node: `test.smartmeter.not_null_x_meter_id.ab12` ->
    `not_null_x_meter_id`."""
    return node["unique_id"].split(".")[2]


def oldest_watermark(warehouse: Warehouse) -> str | None:
    """The oldest load every incremental model has consumed ('' when none has run yet), or
    None when no build ever ran."""
    if not warehouse.relation_exists("intermediate", "incremental_watermarks"):
        return None
    return warehouse.scalar("select min(load_id) from intermediate.incremental_watermarks")


def suspect_files(warehouse: Warehouse, since_load_id: str | None) -> list[SuspectFile]:
    """Files loaded after `since_load_id` (every loaded file when None), oldest load first."""
    rows = warehouse.query(
        "select sha256, min(original_name), min(delivery_id), min(archive_path), min(load_id) "
        "from ops.file_manifest where status = 'loaded' and load_id > %s "
        "group by sha256 order by min(load_id), sha256",
        (since_load_id or "",),
    )
    return [SuspectFile(*row) for row in rows]


def hold_back(warehouse: Warehouse, files: list[SuspectFile]) -> None:
    warehouse.execute(f"create table if not exists {HELD_BACK_TABLE} (file_sha256 varchar)")
    warehouse.execute(f"delete from {HELD_BACK_TABLE}")
    for file in files:
        warehouse.execute(f"insert into {HELD_BACK_TABLE} values (%s)", (file.sha256,))
    targets.get(warehouse.target).hold_back(warehouse, [file.sha256 for file in files])


def _error_text(result: DbtResult) -> str:
    failed = failed_nodes(result)
    if not failed:
        return result.summary()
    return "; ".join(f"{node_name(r)}: {(r.get('message') or 'error').strip()}" for r in failed)[
        :2000
    ]


class Prober:
    """Runs the probes: the failing models (and tests) and their upstream, rebuilt with files
    held back. With a failing test the probe is a `build`, so the test runs after its models."""

    def __init__(
        self,
        home: Home,
        target: str,
        connect: Callable[[], Warehouse],
        models: list[str],
        tests: bool = False,
    ):
        self.home, self.target, self.connect = home, target, connect
        self.select = " ".join(f"+{name}" for name in models)
        self.command = "build" if tests else "run"
        self.failing = failed_nodes if tests else failed_models
        self.count = 0
        self.last_error = ""

    def passes(self, held: list[SuspectFile]) -> bool:
        warehouse = self.connect()
        try:
            hold_back(warehouse, held)
        finally:
            warehouse.close()
        self.count += 1
        result = run_dbt(
            self.home,
            targets.get(self.target),
            self.command,
            "--full-refresh",
            "--select",
            self.select,
            *(["--exclude-resource-type", "unit_test"] if self.command == "build" else []),
            "--vars",
            json.dumps({"hold_back_files": True}),
            workspace=PROBE_WORKSPACE,
        )
        crash_point(f"isolation:after_probe:{self.count}")
        if result.killed:
            raise RuntimeError(result.summary())
        if result.returncode != 0 and not self.failing(result):
            raise RuntimeError(f"a probe build failed without a model error: {result.summary()}")
        self.last_error = _error_text(result) if self.failing(result) else ""
        return not self.failing(result)


def find_culprits(suspects: list[SuspectFile], prober: Prober) -> Isolation | None:
    """The suspects whose values make the probe fail, or None when the build fails even with
    every suspect held back (the cause is not in these files)."""
    isolation = Isolation()

    def with_only(included: list[SuspectFile]) -> bool:
        keep = {f.sha256 for f in included}
        return prober.passes(held=[f for f in suspects if f.sha256 not in keep])

    def search(
        candidates: list[SuspectFile], cleared: list[SuspectFile], error: str
    ) -> list[SuspectFile]:
        """Known: `cleared` alone passes; `cleared + candidates` fails with `error`. Returns
        the files cleared so far (they pass together)."""
        if len(candidates) == 1:
            isolation.culprits.append((candidates[0], error))
            return cleared
        half = len(candidates) // 2
        first, second = candidates[:half], candidates[half:]
        if with_only(cleared + first):
            return search(second, cleared + first, error)
        cleared = search(first, cleared, prober.last_error)
        if with_only(cleared + second):
            return cleared + second
        return search(second, cleared, prober.last_error)

    if with_only(suspects):  # rebuilt from scratch, every file passes: nothing to set aside
        return isolation
    error = prober.last_error
    if not suspects or not prober.passes(held=suspects):
        return None
    search(suspects, [], error)
    isolation.probes = prober.count
    return isolation


def set_aside(
    home: Home,
    warehouse: Warehouse,
    culprits: list[tuple[SuspectFile, str]],
    run_id: str,
    tests: bool = False,
) -> None:
    """Dead-letter each culprit (archive untouched) and remove its raw rows. `tests`: the build
    failed on an error-severity test, not a model error."""
    reason, what = (
        ("dbt_test_failed", "an error-severity dbt test failed on this file's values")
        if tests
        else ("dbt_runtime_error", "dbt build failed on this file's values")
    )
    for file, error in culprits:
        delivery = Delivery(file.delivery_id, file.original_name, file.sha256, file.archive_path, 1)
        dead_letter_delivery(
            home,
            warehouse,
            delivery,
            stage="load",
            reason=reason,
            message=f"{what}: {error}",
            run_id=run_id,
        )
        delete_raw_rows(warehouse, [file.sha256])
    hold_back(warehouse, [])
    dead_letters.sync_table(home, warehouse)
