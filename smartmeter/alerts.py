"""Alerts: critical problems raised once, recorded in ops.alerts, sent to sinks.

Sinks: always a structured log line (JSON on stderr and in .state/logs/alerts.log); the SNS
topic $SMARTMETER_ALERT_SNS_TOPIC_ARN when set (smartmeter.sns_alerts); a JSON POST
to $SMARTMETER_ALERT_WEBHOOK when it is set (the payload's `text` field suits Slack, Mattermost
and Rocket.Chat incoming webhooks). An alert is raised once per dedupe key while it is open;
resolving the key (the problem went away) lets a later recurrence alert again. A webhook that
is down is retried at the next run and never fails the pipeline. When the warehouse itself is
unreachable, alerts wait in <home>/outbox/ and are recorded when it is back.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from smartmeter import sns_alerts
from smartmeter.home import Home
from smartmeter.warehouse import Warehouse

WEBHOOK_TIMEOUT_SECONDS = 5

log = logging.getLogger("smartmeter.alerts")


@dataclass
class Alert:
    kind: (
        str  # file_dead_lettered | dbt_test_failed | meter_faulty | meter_suspect | run_failed ...
    )
    severity: str  # critical | warning
    subject: str
    message: str
    dedupe_key: str
    alert_id: str = field(default_factory=lambda: "al-" + uuid.uuid4().hex[:12])
    raised_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    run_id: str | None = None

    def payload(self) -> dict[str, str | None]:
        body = asdict(self)
        body["text"] = f"[{self.severity.upper()}] {self.subject}: {self.message}"
        return body


def _log_line(home: Home, alert: Alert) -> None:
    line = json.dumps({"event": "alert", **alert.payload()}, sort_keys=True)
    print(line, file=sys.stderr)
    logs = home.state / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / "alerts.log").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError as exc:  # a full or read-only disk must not hide the alert itself
        log.warning("could not append to alerts.log: %s", exc)


def _announce(home: Home, alert: Alert) -> None:
    """A new alert: the log line at once, and SNS when a topic is configured."""
    _log_line(home, alert)
    sns_alerts.publish(
        alert.payload(), home.settings.alert_sns_topic_arn, home.settings.s3_timeout_seconds
    )


def _is_open(warehouse: Warehouse, dedupe_key: str) -> bool:
    return bool(
        warehouse.scalar(
            "select count(*) from ops.alerts where dedupe_key = %s and resolved_at is null",
            (dedupe_key,),
        )
    )


def _insert(warehouse: Warehouse, alert: Alert) -> None:
    warehouse.execute(
        "insert into ops.alerts (alert_id, dedupe_key, kind, severity, subject, message, "
        "raised_at, delivery_attempts, run_id) values (%s, %s, %s, %s, %s, %s, %s, 0, %s)",
        (
            alert.alert_id,
            alert.dedupe_key,
            alert.kind,
            alert.severity,
            alert.subject,
            alert.message,
            alert.raised_at,
            alert.run_id,
        ),
    )


def raise_alert(home: Home, warehouse: Warehouse | None, alert: Alert) -> bool:
    """Raise `alert` unless one with its dedupe key is open. Returns whether it was new."""
    if warehouse is not None:
        try:
            if _is_open(warehouse, alert.dedupe_key):
                return False
            _insert(warehouse, alert)
            _announce(home, alert)
            return True
        except Exception as exc:  # the warehouse failed mid-way: keep the alert in the outbox
            log.warning("alert kept in the outbox, the warehouse failed: %s", exc)
    _to_outbox(home, alert)
    _announce(home, alert)
    return True


def _to_outbox(home: Home, alert: Alert) -> None:
    home.outbox.mkdir(parents=True, exist_ok=True)
    path = home.outbox / f"{alert.alert_id}.json"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(asdict(alert), sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def flush_outbox(home: Home, warehouse: Warehouse) -> int:
    """Record alerts raised while the warehouse was away (once per open dedupe key)."""
    recorded = 0
    for path in sorted(home.outbox.glob("al-*.json")):
        alert = Alert(**json.loads(path.read_text(encoding="utf-8")))
        if not _is_open(warehouse, alert.dedupe_key):
            _insert(warehouse, alert)
            recorded += 1
        path.unlink()
    return recorded


def resolve_missing(warehouse: Warehouse, kind: str, still_open_keys: set[str]) -> None:
    """Close the open alerts of `kind` whose problem is gone (their key was not raised again)."""
    rows = warehouse.query(
        "select dedupe_key from ops.alerts where kind = %s and resolved_at is null", (kind,)
    )
    for (key,) in rows:
        if key not in still_open_keys:
            warehouse.execute(
                "update ops.alerts set resolved_at = %s where dedupe_key = %s "
                "and resolved_at is null",
                (datetime.now(UTC), key),
            )


def deliver_pending(warehouse: Warehouse, url: str | None) -> tuple[int, int]:
    """POST every undelivered alert to the webhook (--alert-webhook, SMARTMETER_ALERT_WEBHOOK).
    Returns (delivered, still pending); never raises: a sink that is down is tried again at the
    next run."""
    if not url:
        return 0, 0
    rows = warehouse.query(
        "select alert_id, kind, severity, subject, message, dedupe_key, raised_at, run_id "
        "from ops.alerts where delivered_at is null order by raised_at"
    )
    delivered = 0
    for alert_id, kind, severity, subject, message, key, raised_at, run_id in rows:
        alert = Alert(kind, severity, subject, message, key, alert_id, str(raised_at), run_id)
        try:
            _post(url, alert.payload())
        except (OSError, urllib.error.URLError) as exc:
            warehouse.execute(
                "update ops.alerts set delivery_attempts = delivery_attempts + 1, "
                "last_delivery_error = %s where alert_id = %s",
                (str(exc)[:500], alert_id),
            )
            continue
        warehouse.execute(
            "update ops.alerts set delivered_at = %s, delivery_attempts = delivery_attempts + 1, "
            "last_delivery_error = null where alert_id = %s",
            (datetime.now(UTC), alert_id),
        )
        delivered += 1
    return delivered, len(rows) - delivered


def _post(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "smartmeter-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        if response.status >= 300:
            raise OSError(f"webhook answered HTTP {response.status}")


def outbox_alerts(home: Home) -> list[Path]:
    return sorted(home.outbox.glob("al-*.json"))


ALERT_COLUMNS = ("alert_id", "raised_at", "severity", "kind", "subject", "message", "resolved_at")


def list_alerts(warehouse: Warehouse, include_resolved: bool = False) -> list[dict]:
    """Open alerts (or all), newest first."""
    where = "" if include_resolved else "where resolved_at is null "
    rows = warehouse.query(
        f"select {', '.join(ALERT_COLUMNS)} from ops.alerts {where}order by raised_at desc"
    )
    return [dict(zip(ALERT_COLUMNS, row, strict=True)) for row in rows]


def close(warehouse: Warehouse, *, alert_id: str | None = None, kind: str = "", subject: str = ""):
    """Close one open alert by id (an operator's ack), or every open one of a kind about a
    subject (its problem went away). Returns how many were closed; a recurrence alerts again."""
    if alert_id is not None:
        condition, params = "alert_id = %s", (alert_id,)
    else:
        condition, params = "kind = %s and subject = %s", (kind, subject)
    closed = warehouse.scalar(
        f"select count(*) from ops.alerts where {condition} and resolved_at is null", params
    )
    warehouse.execute(
        f"update ops.alerts set resolved_at = %s where {condition} and resolved_at is null",
        (datetime.now(UTC), *params),
    )
    return int(closed or 0)
