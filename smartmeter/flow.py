"""One pipeline run: ingest -> dbt build (the quality gate) -> Parquet export -> alerts.

Each step is retried as smartmeter/retry_policy.py says: an outage of the warehouse or the
object store is waited out (backoff with jitter over the outage window) and never blamed on a
file: when the window is spent the run fails with one alert and the files stay pending for the
next run. Other transient failures (an I/O error, a killed dbt) get 3 attempts in all; a step
that still fails dead-letters its work: the landing files for ingest, the build or the export
batch for the later steps. A quality-gate failure (an error-severity test) is not transient: it
stops the export and raises alerts. Every critical problem raises an alert; the run is recorded
in ops.pipeline_runs. A first Ctrl-C stops the run after the current step, a second at once;
either way the run is recorded as interrupted and the next one completes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import pyarrow
from tenacity import RetryCallState, Retrying

from smartmeter import alerts, dead_letters, isolation, quiet_run, targets
from smartmeter.alerts import Alert
from smartmeter.dbt_runner import DbtResult, run_dbt
from smartmeter.export import ExportError, export_warehouse
from smartmeter.home import Home
from smartmeter.ingest import IngestReport, archive_key, ingest
from smartmeter.ops_tables import ensure_ops_tables
from smartmeter.places import home_places
from smartmeter.retry_policy import (
    ATTEMPTS,
    UNREACHABLE,
    StepFailed,
    StopRequested,
    is_outage,
    is_transient,
    retrying,
)
from smartmeter.storage import StoreError
from smartmeter.warehouse import Warehouse, connect


@dataclass
class StepResult:
    status: str = "skipped"  # ok | failed | dead_lettered | skipped
    seconds: float = 0.0
    attempts: int = 0
    detail: str = ""


@dataclass
class RunSummary:
    run_id: str
    trigger: str
    target: str
    started_at: str
    finished_at: str | None = None
    status: str = "running"  # ok | failed | interrupted
    steps: dict[str, StepResult] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    retry_later: bool = False  # the store stayed away: the files wait for the next run

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict:
        return {**asdict(self), "steps": {k: asdict(v) for k, v in self.steps.items()}}


Progress = Callable[[str, int, int], None]
T = TypeVar("T")


def release_memory() -> None:
    """Give the loader's freed memory back to the OS before dbt starts, so a run's peak memory
    is the larger of its steps, not their sum: Arrow's pool, then the C heap (glibc keeps freed
    pages of the loader's DuckDB and dlt buffers until asked)."""
    gc.collect()  # dlt's pipeline objects hold the loader's DuckDB instance in cycles
    pyarrow.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Run:
    """The state of one run; `execute` walks the steps in order."""

    def __init__(
        self,
        home: Home,
        target: str,
        trigger: str = "manual",
        should_stop: Callable[[], bool] = lambda: False,
        progress: Progress | None = None,
        force: bool = False,
        on_notice: Callable[[str], None] | None = None,
    ):
        self.force = force  # build even when nothing is new (run --force)
        self.on_notice = on_notice  # what an operator should see at once (a store away)
        self.home = home
        self.target = target
        self.should_stop = should_stop
        self.progress = progress
        self.summary = RunSummary(
            run_id=datetime.now(UTC).strftime("run-%Y%m%dT%H%M%S-") + uuid.uuid4().hex[:6],
            trigger=trigger,
            target=target,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self.started = time.perf_counter()
        self.files_set_aside: list[str] = []

    # -- plumbing --------------------------------------------------------------------------

    def _retrying(self) -> Retrying:
        settings = self.home.settings

        def note(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            if exc is not None and is_outage(exc):
                message = (
                    f"the store is unreachable (attempt {state.attempt_number}, waiting up to "
                    f"{settings.outage_window_seconds:g} s): {first_line}"
                )
            else:
                message = f"attempt {state.attempt_number} failed: {first_line}"
            self.summary.messages.append(message)
            if self.on_notice is not None:
                self.on_notice(message)

        return retrying(
            settings.retry_base_seconds, settings.outage_window_seconds, note, self.should_stop
        )

    def _step(self, name: str, work: Callable[[], str]) -> StepResult:
        """Run one step with retries; record how it went."""
        if self.should_stop():
            raise StopRequested(f"stopped before {name}")
        result = self.summary.steps.setdefault(name, StepResult())
        started = time.perf_counter()
        try:
            for attempt in self._retrying():
                with attempt:
                    result.attempts = attempt.retry_state.attempt_number
                    result.detail = work()
            result.status = "ok"
        except Exception as exc:
            result.status = "failed"
            result.detail = str(exc)
            raise
        finally:
            result.seconds = round(time.perf_counter() - started, 3)
        return result

    def _warehouse(self) -> Warehouse:
        warehouse = connect(self.home, self.target)
        try:
            ensure_ops_tables(warehouse)
        except Exception:
            warehouse.close()
            raise
        return warehouse

    def _alert(self, warehouse: Warehouse | None, alert: Alert) -> None:
        alert.run_id = self.summary.run_id
        if alerts.raise_alert(self.home, warehouse, alert):
            self.summary.counts["alerts_raised"] = self.summary.counts.get("alerts_raised", 0) + 1

    def _patiently(self, work: Callable[[Warehouse], T]) -> T:
        """A few queries between the steps, retried as a step is (an outage is waited out)."""
        for attempt in self._retrying():
            with attempt, self._connected() as warehouse:
                return work(warehouse)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def _try_warehouse(self) -> Warehouse | None:
        try:
            return self._warehouse()
        except Exception:
            return None

    # -- steps -----------------------------------------------------------------------------

    def ingest(self) -> IngestReport:
        report = IngestReport()

        def work() -> str:
            nonlocal report
            with self._connected() as warehouse:
                alerts.flush_outbox(self.home, warehouse)
                self._record_start(warehouse)
                report = ingest(
                    self.home,
                    warehouse,
                    self.summary.run_id,
                    on_progress=self._progress_fn("ingest"),
                )
                for outcome in report.outcomes:
                    if outcome.status == "dead_lettered":
                        self._alert(warehouse, _file_alert(outcome.name, outcome.message))
            return (
                f"{report.count('loaded')} loaded, {report.count('duplicate')} duplicate, "
                f"{report.count('dead_lettered')} dead-lettered, {report.rows_loaded:,} rows"
            )

        try:
            self._step("ingest", work)
        except Exception as exc:
            if not is_transient(exc) or is_outage(exc):
                raise  # the files stay in the landing and the manifest for the next run
            self._dead_letter_landing(exc)
            self.summary.steps["ingest"].status = "dead_lettered"
            raise
        finally:
            release_memory()
            self.summary.counts.update(
                files_loaded=report.count("loaded"),
                files_duplicate=report.count("duplicate"),
                files_dead_lettered=report.count("dead_lettered")
                + self.summary.counts.get("files_dead_lettered", 0),
                rows_in=report.rows_loaded,
            )
        return report

    def build(self) -> DbtResult:
        # An isolation interrupted (killed, or the data was not the cause) left models rebuilt
        # from part of the files: the next build rebuilds from the raw tables, and a search
        # looks at the files the interrupted one suspected.
        rebuild = isolation.rebuild_marker(self.home, self.target)
        if rebuild.exists():
            since = rebuild.read_text(encoding="utf-8") or None
        else:
            since = self._patiently(isolation.oldest_watermark)
        result: DbtResult | None = None

        def work() -> str:
            nonlocal result
            result = self._dbt_build(*(["--full-refresh"] if rebuild.exists() else []))
            if not isolation.failed_models(result) and not result.killed:
                rebuild.unlink(missing_ok=True)
            _raise_if_failed(result)
            return result.summary()

        try:
            self._step("build", work)
        except StepFailed as exc:
            failure = exc
            if not exc.transient and result is not None and isolation.failed_nodes(result):
                rebuilt = self._set_aside_bad_files(result, since)
                if rebuilt is not None:
                    result = rebuilt
                    try:
                        _raise_if_failed(result)
                        failure = None
                    except StepFailed as still:
                        failure = still
                    step = self.summary.steps["build"]
                    step.status = "failed" if failure else "ok"
                    step.detail = f"{result.summary()}; {step.detail}"
            if failure is not None:
                self._build_failed(failure, result)
                raise failure from None
        self._patiently(lambda warehouse: self._gate_alerts(warehouse, result))
        return result

    def _dbt_build(self, *extra: str) -> DbtResult:
        # Unit tests check model logic on fixed inputs: CI and `smartmeter test` run them,
        # a production build need not (dbt's advice; they sit on the critical path).
        return run_dbt(
            self.home,
            targets.get(self.target),
            "build",
            "--exclude-resource-type",
            "unit_test",
            *extra,
            on_line=self._dbt_progress_fn(),
        )

    def _build_failed(self, exc: StepFailed, result: DbtResult | None) -> None:
        warehouse = self._try_warehouse()
        try:
            if exc.outage:
                pass  # the raw rows are loaded: the next run builds them
            elif exc.transient:
                self._park_batch("dbt", exc)
                self.summary.steps["build"].status = "dead_lettered"
            elif result is not None:
                self._gate_alerts(warehouse, result)
        finally:
            if warehouse:
                warehouse.close()

    def _set_aside_bad_files(self, result: DbtResult, since: str | None) -> DbtResult | None:
        """A model raised an error or an error-severity test failed: find the new files whose
        values cause it (isolation.py), dead-letter them, and rebuild the rest. None when the
        data is not the cause."""
        step = self.summary.steps["build"]
        set_aside: list[str] = []
        rebuild = isolation.rebuild_marker(self.home, self.target)
        # (removed once every model is rebuilt from the raw tables)
        rebuild.write_text(since or "", encoding="utf-8")
        for _ in range(ATTEMPTS):  # a model skipped behind the first failure may fail next
            with self._connected() as warehouse:
                suspects = isolation.suspect_files(warehouse, since)
            nodes = [isolation.node_name(node) for node in isolation.failed_nodes(result)]
            tests = bool(isolation.failed_tests(result))
            found = isolation.find_culprits(
                suspects, isolation.Prober(self.home, self.target, self._warehouse, nodes, tests)
            )
            with self._connected() as warehouse:
                if found is None:
                    isolation.hold_back(warehouse, [])
                    return None
                isolation.set_aside(
                    self.home, warehouse, found.culprits, self.summary.run_id, tests
                )
                for file, error in found.culprits:
                    set_aside.append(file.original_name)
                    self._alert(warehouse, _file_alert(file.original_name, error))
            self.summary.counts["files_dead_lettered"] = self.summary.counts.get(
                "files_dead_lettered", 0
            ) + len(found.culprits)
            step.detail = (
                f"{len(set_aside)} file(s) set aside after {found.probes} probe builds: "
                + ", ".join(set_aside)
                if set_aside
                else "no file was the cause: rebuilt from the raw tables, which passes"
            )
            # The failed build and the probes left models part way: rebuild from the raw tables.
            result = self._dbt_build("--full-refresh")
            if result.killed:
                raise StepFailed(result.summary(), transient=True)
            if not isolation.failed_nodes(result):
                rebuild.unlink()
                self.files_set_aside = set_aside
                return result
        return None

    def export(self) -> None:
        def work() -> str:
            try:
                report = export_warehouse(self.home, self.target)
            except ExportError as exc:
                raise StepFailed(str(exc), transient=True, outage=is_outage(exc)) from exc
            self.summary.counts["partitions_written"] = len(report.partitions)
            return f"{len(report.partitions)} partitions, {report.rows:,} rows"

        try:
            self._step("export", work)
        except Exception as exc:
            if is_transient(exc) and not is_outage(exc):  # after an outage the queue waits
                self._park_batch("export", exc)
                self.summary.steps["export"].status = "dead_lettered"
            raise

    def forecast(self) -> None:
        """The learned day-ahead forecast (smartmeter/forecast.py) from the archive just
        written, then the marts that score it. Off with --no-forecast (settings.forecast)."""
        from smartmeter import forecast

        if not self.home.settings.forecast:
            return

        def work() -> str:
            settings = forecast.Settings.from_project(self.home)
            with self._connected() as warehouse:
                outcome = forecast.run_forecast(self.home, warehouse, settings)
            if outcome.rows:
                _raise_if_failed(self._dbt_build("--select", *forecast.SCORING_MODELS))
            return outcome.detail

        self._step("forecast", work)

    def send_alerts(self) -> None:
        def work() -> str:
            with self._connected() as warehouse:
                rows = warehouse.query(
                    "select alert_key, meter_id, status, severity, message from marts.meter_alerts"
                )
                keys = set()
                for key, meter_id, status, severity, message in rows:
                    keys.add(key)
                    kind = f"meter_{status}"
                    self._alert(warehouse, Alert(kind, severity, f"meter {meter_id}", message, key))
                for kind in ("meter_faulty", "meter_suspect"):
                    alerts.resolve_missing(warehouse, kind, keys)
                alerts.resolve_missing(warehouse, "run_failed", set())
                self.summary.counts["meters_flagged"] = len(rows)
                delivered, pending = alerts.deliver_pending(
                    warehouse, self.home.settings.alert_webhook
                )
            return f"{len(rows)} meter alerts; webhook: {delivered} delivered, {pending} pending"

        self._step("alerts", work)

    # -- failure handling ------------------------------------------------------------------

    def _dead_letter_landing(self, exc: BaseException) -> None:
        """Ingest kept failing (not an outage: those leave the files pending): park every landing
        file (archived first: nothing is lost).
        A landing that keeps failed deliveries (a bucket) is left for the next run."""
        places = home_places(self.home)
        landing = places.landing
        if not landing.parks_failed_deliveries:
            return
        for entry in landing.landed():
            name = landing.lineage_name(entry.key)
            try:
                key = archive_key(landing, places.archive, entry)
                sha256 = places.archive.write_once(landing, entry, key).sha256
            except (OSError, StoreError):
                sha256 = None
            letter = dead_letters.park(
                self.home,
                source=landing.local_path(entry.key),
                original_name=name,
                sha256=sha256,
                delivery_id=None,
                stage="ingest",
                error_class="transient",
                reason=type(exc).__name__,
                message=str(exc),
                attempts=ATTEMPTS,
                run_id=self.summary.run_id,
                target=self.target,
            )
            landing.delete_if_unchanged(entry.key, entry.version)
            self.summary.counts["files_dead_lettered"] = (
                self.summary.counts.get("files_dead_lettered", 0) + 1
            )
            self._alert(None, _file_alert(name, f"{letter.reason}: {exc}"))

    def _park_batch(self, stage: str, exc: BaseException) -> None:
        dead_letters.park(
            self.home,
            source=None,
            original_name=f"{stage} batch of {self.summary.run_id}",
            sha256=None,
            delivery_id=None,
            stage=stage,
            error_class="transient",
            reason=type(exc).__name__,
            message=str(exc)[:2000],
            attempts=ATTEMPTS,
            run_id=self.summary.run_id,
            target=self.target,
        )
        self._alert(
            self._try_warehouse(),
            Alert(
                f"{stage}_dead_lettered",
                "critical",
                f"{stage} step",
                f"failed {ATTEMPTS} times and was dead-lettered: {str(exc)[:500]}",
                f"{stage}_dead_lettered:{self.summary.run_id}",
            ),
        )

    def _gate_alerts(self, warehouse: Warehouse | None, result: DbtResult | None) -> None:
        """One alert per failing error-severity test; tests that pass again are resolved."""
        if result is None:
            return
        failing = set()
        for node in result.failures():
            unique_id = node["unique_id"]
            failing.add(f"dbt_test_failed:{unique_id}")
            self._alert(
                warehouse,
                Alert(
                    "dbt_test_failed",
                    "critical",
                    unique_id.split(".")[-2] if unique_id.count(".") > 2 else unique_id,
                    (node.get("message") or "failed")[:500],
                    f"dbt_test_failed:{unique_id}",
                ),
            )
        if warehouse is not None:
            alerts.resolve_missing(warehouse, "dbt_test_failed", failing)

    # -- bookkeeping -----------------------------------------------------------------------

    @contextmanager
    def _connected(self) -> Iterator[Warehouse]:
        warehouse = self._warehouse()
        try:
            yield warehouse
        finally:
            warehouse.close()

    def _record_start(self, warehouse: Warehouse) -> None:
        warehouse.execute("delete from ops.pipeline_runs where run_id = %s", (self.summary.run_id,))
        warehouse.execute(
            "insert into ops.pipeline_runs (run_id, trigger, target, started_at, status) "
            "values (%s, %s, %s, %s, 'running')",
            (self.summary.run_id, self.summary.trigger, self.target, self.summary.started_at),
        )

    def _record_finish(self) -> None:
        summary = self.summary
        record = {
            "run_id": summary.run_id,
            "trigger": summary.trigger,
            "target": self.target,
            "started_at": summary.started_at,
            "finished_at": summary.finished_at,
            "status": summary.status,
            "counts": json.dumps(
                {**summary.counts, "steps": {k: asdict(v) for k, v in summary.steps.items()}}
            ),
            "error": "; ".join(summary.messages[-3:])[:2000] or None,
        }
        warehouse = self._try_warehouse()
        if warehouse is None:  # keep it for the next run that reaches the warehouse
            self.home.outbox.mkdir(parents=True, exist_ok=True)
            path = self.home.outbox / f"{summary.run_id}.json"
            path.write_text(json.dumps(record), encoding="utf-8")
            return
        try:
            record_runs(warehouse, [record, *_outbox_runs(self.home)])
        finally:
            warehouse.close()

    def _mark_interrupted_step(self) -> None:
        """The step the second Ctrl-C cut short (it never got to record how it went)."""
        last = next(reversed(self.summary.steps.values()), None)
        if last is not None and last.status != "ok":
            last.status = "interrupted"

    def _must_build(self, report: IngestReport) -> bool:
        reason = self._patiently(
            lambda warehouse: quiet_run.pending_work(
                self.home, warehouse, self.target, self.summary.trigger,
                self.summary.run_id, report.count("loaded"),
            )
        )  # fmt: skip
        if reason is None and not self.force:
            self.summary.messages.append(
                "nothing new: build and export skipped (run --force to build anyway)"
            )
        return reason is not None or self.force

    def _counts_from_warehouse(self, report: IngestReport) -> None:
        self._patiently(lambda warehouse: self._count_readings(warehouse, report))

    def _count_readings(self, warehouse: Warehouse, report: IngestReport) -> None:
        shas = [o.sha256 for o in report.outcomes if o.status == "loaded"]
        totals = warehouse.query(
            "select count(*), sum(case when is_estimated then 1 else 0 end) from marts.fct_readings"
        )[0]
        quarantined = warehouse.scalar("select count(*) from marts.quarantined_readings")
        this_run = (0, 0, 0)
        if shas:
            marks = ", ".join(["%s"] * len(shas))
            this_run = warehouse.query(
                "select coalesce(sum(published), 0), coalesce(sum(quarantined), 0), "
                "coalesce(sum(raw_values), 0) "
                f"from marts.file_reading_balance where file_sha256 in ({marks})",
                shas,
            )[0]
        self.summary.counts.update(
            published_from_new_files=int(this_run[0]),
            quarantined_from_new_files=int(this_run[1]),
            readings_in=int(this_run[2]),
            published_total=int(totals[0] or 0),
            estimated_total=int(totals[1] or 0),
            quarantined_total=int(quarantined or 0),
        )

    def _progress_fn(self, label: str) -> Callable[[int, int], None] | None:
        if self.progress is None:
            return None
        progress = self.progress
        return lambda done, total: progress(label, done, total)

    def _dbt_progress_fn(self) -> Callable[[str], None] | None:
        if self.progress is None:
            return None
        pattern = re.compile(r"\b(\d+) of (\d+) (?:OK|PASS|FAIL|ERROR|WARN|SKIP)")
        progress = self.progress

        def on_line(line: str) -> None:
            match = pattern.search(line)
            if match:
                progress("dbt build", int(match.group(1)), int(match.group(2)))

        return on_line

    # -- the run ---------------------------------------------------------------------------

    def execute(self) -> RunSummary:
        summary = self.summary
        try:
            report = self.ingest()
            if self._must_build(report):
                self.build()
                self.export()
                self.forecast()
            self.send_alerts()
            self._counts_from_warehouse(report)
            summary.status = "ok" if report.ok and not self.files_set_aside else "failed"
            if not report.ok:
                summary.messages.append("some files were dead-lettered")
            if self.files_set_aside:
                summary.messages.append(
                    "dbt build failed on the values of "
                    + ", ".join(self.files_set_aside)
                    + ": dead-lettered, the rest published"
                )
        except StopRequested as exc:
            summary.status = "interrupted"
            summary.messages.append(str(exc))
        except KeyboardInterrupt:  # a second Ctrl-C: the current step was stopped at once
            summary.status = "interrupted"
            summary.messages.append(
                "stopped at once during " + next(reversed(summary.steps), "the start")
            )
            self._mark_interrupted_step()
        except Exception as exc:
            summary.status = "failed"
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if is_outage(exc):
                summary.retry_later = True
                first_line = (
                    f"the store stayed unreachable for the outage window "
                    f"({self.home.settings.outage_window_seconds:g} s): {first_line}; nothing "
                    "was dead-lettered, the next run takes the pending files"
                )
            summary.messages.append(first_line)
            self._alert(
                self._try_warehouse(),
                Alert(
                    "run_failed",
                    "critical",
                    f"pipeline run ({self.target})",
                    summary.messages[-1][:500],
                    f"run_failed:{self.target}",
                ),
            )
        finally:
            summary.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
            summary.counts["seconds"] = round(time.perf_counter() - self.started, 1)
            self._record_finish()
        return summary


def _file_alert(name: str, message: str) -> Alert:
    return Alert(
        "file_dead_lettered",
        "critical",
        f"file {name}",
        f"dead-lettered: {message}"[:500],
        f"file_dead_lettered:{name}:{uuid.uuid4().hex[:8]}",
    )


def _raise_if_failed(result: DbtResult) -> None:
    if result.killed:
        raise StepFailed(result.summary(), transient=True)
    if result.failures() or result.returncode != 0:
        transient = not result.results
        outage = bool(UNREACHABLE.search(result.output))
        raise StepFailed(_dbt_failure_text(result), transient=transient, outage=outage)


def _dbt_failure_text(result: DbtResult) -> str:
    if result.results:
        return result.summary()
    tail = [line for line in result.output.splitlines() if line.strip()][-3:]
    return "dbt failed: " + " | ".join(tail)


def _outbox_runs(home: Home) -> list[dict]:
    records = []
    for path in sorted(home.outbox.glob("run-*.json")):
        records.append(json.loads(path.read_text(encoding="utf-8")))
        path.unlink()
    return records


def record_runs(warehouse: Warehouse, records: list[dict]) -> None:
    for record in records:
        warehouse.execute("delete from ops.pipeline_runs where run_id = %s", (record["run_id"],))
        warehouse.execute(
            "insert into ops.pipeline_runs (run_id, trigger, target, started_at, finished_at, "
            "status, counts, error) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                record["run_id"],
                record["trigger"],
                record["target"],
                record["started_at"],
                record["finished_at"],
                record["status"],
                record["counts"],
                record["error"],
            ),
        )


def run_pipeline(
    home: Home,
    target: str,
    trigger: str = "manual",
    should_stop: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
    force: bool = False,
    on_notice: Callable[[str], None] | None = None,
) -> RunSummary:
    """One whole run under the data home's lock (the caller takes it)."""
    home.create()
    return Run(home, target, trigger, should_stop, progress, force, on_notice).execute()


def summary_lines(summary: RunSummary) -> list[str]:
    c = summary.counts
    lines = [
        f"run {summary.run_id} ({summary.trigger}, {summary.target}): {summary.status.upper()} "
        f"in {c.get('seconds', 0)} s",
        f"  files: {c.get('files_loaded', 0)} loaded, {c.get('files_duplicate', 0)} duplicate, "
        f"{c.get('files_dead_lettered', 0)} dead-lettered",
    ]
    if "published_total" in c:
        published, quarantined = c["published_from_new_files"], c["quarantined_from_new_files"]
        lines.append(
            f"  from new files: {c.get('files_loaded', 0)} files, {c.get('rows_in', 0):,} rows, "
            f"{c['readings_in']:,} readings (a wide row holds several): {published:,} "
            f"published, {quarantined:,} quarantined, "
            f"{c['readings_in'] - published - quarantined:,} duplicate, superseded or not selected"
        )
        lines.append(
            f"  warehouse: {c['published_total']:,} readings published "
            f"({c['estimated_total']:,} estimated), {c['quarantined_total']:,} quarantined; "
            f"{c.get('meters_flagged', 0)} meters flagged"
        )
    for name, step in summary.steps.items():
        tries = f", {step.attempts} attempts" if step.attempts > 1 else ""
        lines.append(f"  {name:<7} {step.status:<13} {step.seconds:>7.1f} s{tries}  {step.detail}")
    lines.extend(f"  ! {m}" for m in summary.messages[-5:])
    return lines
