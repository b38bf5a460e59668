"""`smartmeter status`: what is in each folder, the last runs, open alerts and dead letters."""

from __future__ import annotations

from typing import Any

from smartmeter import alerts, dead_letters
from smartmeter.home import Home
from smartmeter.places import home_places
from smartmeter.storage import ConfigurationError, StoreError
from smartmeter.warehouse import WarehouseUnavailable, connected


def _place_counts(home: Home) -> dict[str, int | str]:
    """Files waiting, archived and published ("unreachable" for a store that is away)."""
    places = home_places(home)
    counts: dict[str, int | str] = {}
    for name, count in {
        "landing": lambda: len(places.landing.landed()),
        "raw_archive_files": lambda: len(places.archive.list()),
        "parquet_files": lambda: sum(
            1 for e in places.readings.list() if e.key.endswith(".parquet")
        ),
    }.items():
        try:
            counts[name] = count()
        except StoreError:
            counts[name] = "unreachable"
    return counts


def collect_status(home: Home, target: str, last_runs: int = 5) -> dict[str, Any]:
    status: dict[str, Any] = {
        "home": str(home.root),
        "target": target,
        "folders": {
            "dlq_open": len(dead_letters.open_letters(home)),
            "outbox": len(alerts.outbox_alerts(home)),
        },
        "open_dead_letters": [
            {
                "id": lt.dead_letter_id,
                "stage": lt.stage,
                "reason": lt.reason,
                "file": lt.original_name,
            }
            for lt in dead_letters.open_letters(home)
        ],
        "warehouse": "unreachable",
        "runs": [],
        "open_alerts": [],
    }
    try:
        status["folders"].update(_place_counts(home))
    except ConfigurationError as exc:
        status["folders"]["configuration"] = str(exc)
    if not home.root.exists():
        status["warehouse"] = "no data home yet (smartmeter init)"
        return status
    try:
        with connected(home, target) as warehouse:
            if not warehouse.relation_exists("ops", "pipeline_runs"):
                status["warehouse"] = "empty (no run yet)"
                return status
            status["warehouse"] = "ok"
            status["runs"] = [
                dict(
                    zip(
                        ("run_id", "trigger", "started_at", "finished_at", "status"),
                        row,
                        strict=True,
                    )
                )
                for row in warehouse.query(
                    "select run_id, trigger, started_at, finished_at, status "
                    "from ops.pipeline_runs order by started_at desc limit %s",
                    (last_runs,),
                )
            ]
            if not home.is_locked():  # a `running` row without a run: it ended unfinished
                for run in status["runs"]:
                    if run["status"] == "running":
                        run["status"] = "interrupted"
            status["open_alerts"] = [
                dict(
                    zip(
                        ("raised_at", "severity", "kind", "subject", "delivered_at"),
                        row,
                        strict=True,
                    )
                )
                for row in warehouse.query(
                    "select raised_at, severity, kind, subject, delivered_at from ops.alerts "
                    "where resolved_at is null order by raised_at desc limit 20"
                )
            ]
            status["manifest"] = dict(
                warehouse.query("select status, count(*) from ops.file_manifest group by status")
            )
    except WarehouseUnavailable as exc:
        status["warehouse"] = f"unreachable: {exc}"
    return status


def status_lines(status: dict[str, Any]) -> list[str]:
    f = status["folders"]
    lines = [
        f"data home {status['home']} (target {status['target']}; warehouse {status['warehouse']})",
        f"  landing/ {f['landing']} file(s) waiting   raw/ {f['raw_archive_files']} archived   "
        f"dlq/ {f['dlq_open']} open   parquet/ {f['parquet_files']} file(s)   "
        f"outbox {f['outbox']}",
    ]
    if status.get("manifest"):
        lines.append(
            "  deliveries: " + ", ".join(f"{n} {s}" for s, n in sorted(status["manifest"].items()))
        )
    if status["runs"]:
        lines.append("  last runs:")
        lines += [
            f"    {r['run_id']}  {r['trigger']:<7} {r['status']:<11} started {r['started_at']}"
            for r in status["runs"]
        ]
    if status["open_alerts"]:
        lines.append("  open alerts:")
        lines += [
            f"    {a['raised_at']}  {a['severity']:<8} {a['kind']:<20} {a['subject']}"
            for a in status["open_alerts"]
        ]
    for letter in status["open_dead_letters"]:
        where = f"{letter['stage']}, {letter['reason']}"
        lines.append(f"  dead letter {letter['id']}: {letter['file']} ({where})")
    return lines
