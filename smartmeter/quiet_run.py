"""A run that finds nothing new skips the build and the export: an hourly schedule on a quiet
feed should cost a few queries, not a whole dbt build. "Nothing new" is checked against the
warehouse, so work a crash, a failed run or `smartmeter ingest` alone left behind is still built."""

from __future__ import annotations

from smartmeter import isolation
from smartmeter.home import Home
from smartmeter.warehouse import Warehouse


def pending_work(
    home: Home, warehouse: Warehouse, target: str, trigger: str, run_id: str, files_loaded: int
) -> str | None:
    """Why this run must build (None: nothing to do)."""
    if files_loaded:
        return f"{files_loaded} new file(s)"
    if trigger == "replay":
        return "a replay"
    if isolation.rebuild_marker(home, target).exists():
        return "a rebuild left by an interrupted isolation"
    if not warehouse.relation_exists("marts", "fct_readings"):
        return "no build yet"
    last = warehouse.query(
        "select status, finished_at from ops.pipeline_runs where run_id <> %s "
        "order by started_at desc limit 1",
        (run_id,),
    )
    if not last or last[0][0] != "ok":
        return "the last run did not finish ok"
    loaded_since = warehouse.scalar(
        "select count(*) from ops.file_manifest where status = 'loaded' and updated_at > %s",
        (last[0][1],),
    )
    if loaded_since:
        return f"{loaded_since} file(s) loaded since the last run"
    if warehouse.relation_exists("intermediate", "parquet_export_queue") and warehouse.scalar(
        "select count(*) from intermediate.parquet_export_queue"
    ):
        return "partitions waiting for the export"
    return None
