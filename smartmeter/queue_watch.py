"""`smartmeter watch` on a bucket landing: bucket notifications through SQS, or polling.

With `--queue URL` the watcher long-polls the SQS queue the bucket notifies
(`s3:ObjectCreated:*` on the landing prefix). Notifications that arrive together make one run.
While the run works, a background thread keeps the batch's messages invisible (extending their
visibility timeout). Afterwards each message is settled by what became of its object:
- loaded, or a duplicate (the sha256 manifest makes at-least-once delivery exactly once): the
  message is deleted;
- dead-lettered (the file is in dlq/ with its sidecar): the message is released at once, not
  deleted, so after `maxReceiveCount` (3) receives the queue's redrive policy moves it to the
  queue's dead-letter queue; a redelivery of such a message is settled without another run;
- still in landing (the run failed: the store or the warehouse away): the message is left to
  reappear after its visibility timeout, and the next run takes the file.
S3's test event and notifications for other buckets or prefixes are deleted unread.

Without `--queue`, the landing prefix is listed every `poll_seconds`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlparse

from smartmeter.flow import RunSummary, run_pipeline
from smartmeter.home import Home
from smartmeter.places import home_places
from smartmeter.storage import ConfigurationError, S3Location, S3Store, StoreError, aws
from smartmeter.storage.base import is_complete_name
from smartmeter.warehouse import connected

MAX_MESSAGES = 10  # SQS's most per receive
LONG_POLL_SECONDS = 20
BATCH_LIMIT = 100  # notifications gathered into one run at most
TERMINAL = ("loaded", "duplicate", "dead_lettered")
RECONNECT_SECONDS = 5

log = logging.getLogger("smartmeter.queue_watch")


@dataclass
class Notice:
    receipt: str
    message_id: str
    keys: list[str] = field(default_factory=list)


def object_keys(body: str, landing: S3Location) -> list[str]:
    """The landing keys an S3 notification announces ([] for a test event or anything else).
    A notification fanned out through SNS arrives wrapped in SNS's envelope."""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and "TopicArn" in doc and isinstance(doc.get("Message"), str):
            doc = json.loads(doc["Message"])
    except ValueError:
        return []
    if not isinstance(doc, dict) or doc.get("Event") == "s3:TestEvent":
        return []
    keys = []
    for record in doc.get("Records") or []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated"):
            continue
        s3 = record.get("s3") or {}
        bucket = (s3.get("bucket") or {}).get("name")
        key = unquote_plus((s3.get("object") or {}).get("key", ""))  # keys arrive URL-encoded
        if (
            bucket == landing.bucket
            and key.startswith(landing.list_prefix)
            and is_complete_name(key)
        ):
            keys.append(key)
    return keys


def _region(queue_url: str) -> str | None:
    host = urlparse(queue_url).hostname or ""
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else None


class VisibilityKeeper:
    """Keeps a batch's messages invisible while its run works."""

    def __init__(self, sqs, queue_url: str, notices: list[Notice], timeout: int):
        self.sqs, self.queue_url, self.notices = sqs, queue_url, notices
        self.timeout = max(timeout, 1)  # the queue's own visibility timeout, renewed each third
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._extend, name="sqs-visibility", daemon=True)

    def _extend(self) -> None:
        while not self.done.wait(self.timeout / 3):
            for start in range(0, len(self.notices), MAX_MESSAGES):
                entries = [
                    {"Id": str(i), "ReceiptHandle": n.receipt, "VisibilityTimeout": self.timeout}
                    for i, n in enumerate(self.notices[start : start + MAX_MESSAGES])
                ]
                try:
                    self.sqs.change_message_visibility_batch(
                        QueueUrl=self.queue_url, Entries=entries
                    )
                except aws.botocore_errors():
                    pass  # tried again at the next beat; at worst a message is redelivered

    def __enter__(self) -> VisibilityKeeper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


class QueueWatcher:
    def __init__(self, home: Home, target: str, queue_url: str, wait_seconds: int):
        landing = home_places(home).landing  # checks the archive setting too
        if not isinstance(landing, S3Store):  # notifications come from a bucket only
            raise ConfigurationError(
                "watch --queue needs the landing in a bucket: set SMARTMETER_LANDING_URL="
                "s3://bucket/prefix (and SMARTMETER_ARCHIVE_URL)"
            )
        self.home, self.target, self.queue_url = home, target, queue_url
        self.landing_store, self.landing = landing, landing.location
        self.wait_seconds = wait_seconds
        self.sqs = aws.client(
            "sqs", region=_region(queue_url), timeout=home.settings.s3_timeout_seconds
        )
        try:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]
        except aws.botocore_errors() as exc:
            raise aws.store_error(exc, f"open the queue {queue_url}") from exc
        self.visibility = int(attributes.get("VisibilityTimeout", 30))

    def _receive(self, wait: int) -> list[dict]:
        try:
            return self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=MAX_MESSAGES,
                WaitTimeSeconds=wait,
                AttributeNames=["ApproximateReceiveCount"],
            ).get("Messages", [])
        except aws.botocore_errors() as exc:
            raise aws.store_error(exc, f"receive from {self.queue_url}") from exc

    def next_batch(self, stop: threading.Event) -> list[Notice]:
        """Wait for notifications; return the relevant ones that arrived together."""
        while not stop.is_set():
            messages = self._receive(self.wait_seconds)
            while messages and len(messages) < BATCH_LIMIT:
                more = self._receive(0)
                if not more:
                    break
                messages += more
            notices, ignored = [], []
            for message in messages:
                notice = Notice(message["ReceiptHandle"], message["MessageId"])
                notice.keys = object_keys(message.get("Body", ""), self.landing)
                (notices if notice.keys else ignored).append(notice)
            self._delete(ignored)
            if notices:
                return notices
        return []

    def _delete(self, notices: list[Notice]) -> None:
        for start in range(0, len(notices), MAX_MESSAGES):
            entries = [
                {"Id": str(i), "ReceiptHandle": n.receipt}
                for i, n in enumerate(notices[start : start + MAX_MESSAGES])
            ]
            try:
                self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            except aws.botocore_errors() as exc:
                raise aws.store_error(exc, f"delete from {self.queue_url}") from exc

    def _release(self, notices: list[Notice]) -> None:
        for notice in notices:
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=notice.receipt, VisibilityTimeout=0
                )
            except aws.botocore_errors():
                pass  # it reappears after its visibility timeout instead

    def key_states(self, keys: set[str]) -> dict[str, str]:
        """What became of each object: loaded / duplicate / dead_lettered (its latest delivery),
        waiting (still in landing), or gone (never delivered here: nothing to do)."""
        states = dict.fromkeys(keys, "waiting")
        try:
            landing = self.landing_store
            in_landing = {landing.lineage_name(e.key) for e in landing.landed()}
            with connected(self.home, self.target) as warehouse:
                for key in keys - in_landing:
                    rows = warehouse.query(
                        "select status from ops.file_manifest where original_name = %s "
                        "order by received_at desc, updated_at desc limit 1",
                        (key,),
                    )
                    states[key] = rows[0][0] if rows else "gone"
        except Exception as exc:  # store or warehouse away: every file counts as waiting
            log.warning("could not tell what became of the notified files: %s", exc)
            return dict.fromkeys(keys, "waiting")
        return states

    def settle(self, notices: list[Notice], states: dict[str, str]) -> None:
        done, poisoned = [], []
        for notice in notices:
            found = [states.get(k, "waiting") for k in notice.keys]
            if "waiting" in found or "received" in found:
                continue  # left invisible: it reappears after its timeout, the file is retried
            (poisoned if "dead_lettered" in found else done).append(notice)
        self._delete(done)
        self._release(poisoned)

    def handle(
        self, notices: list[Notice], stop: threading.Event, progress=None
    ) -> RunSummary | None:
        """One batch: a run unless every file was already settled (a redelivery)."""
        keys = {k for n in notices for k in n.keys}
        with VisibilityKeeper(self.sqs, self.queue_url, notices, self.visibility):
            with self.home.lock(wait=True):
                states = self.key_states(keys)
                summary = None
                if any(state not in TERMINAL and state != "gone" for state in states.values()):
                    summary = run_pipeline(self.home, self.target, "queue", stop.is_set, progress)
                    states = self.key_states(keys)
            self.settle(notices, states)
        return summary


def watch_queue(
    home: Home,
    target: str,
    queue_url: str,
    on_run: Callable[[RunSummary], None],
    stop: threading.Event,
    max_runs: int | None = None,
    wait_seconds: int = LONG_POLL_SECONDS,
    progress=None,
) -> int:
    """Consume notifications until stopped (or `max_runs` batches); returns batches handled.
    A batch of redelivered notifications whose files were already settled counts as one."""
    home.create()
    watcher = QueueWatcher(home, target, queue_url, wait_seconds)
    handled = 0
    while not stop.is_set() and (max_runs is None or handled < max_runs):
        try:
            notices = watcher.next_batch(stop)
        except StoreError as exc:  # the queue is away: wait, then try again
            log.warning("%s", exc)
            stop.wait(RECONNECT_SECONDS)
            continue
        if not notices:
            continue
        try:
            summary = watcher.handle(notices, stop, progress)
        except StoreError as exc:  # the messages reappear and are settled
            log.warning("%s", exc)
            stop.wait(RECONNECT_SECONDS)
            continue
        handled += 1
        if summary is not None:
            on_run(summary)
            if summary.status == "interrupted":
                break
    return handled


def watch_listing(
    home: Home,
    target: str,
    on_run: Callable[[RunSummary], None],
    stop: threading.Event,
    poll_seconds: float = 10.0,
    max_runs: int | None = None,
    progress=None,
) -> int:
    """Poll a bucket landing: a run whenever complete objects are waiting."""
    home.create()
    landing = home_places(home).landing
    runs = 0
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        try:
            waiting = _waiting(landing)
        except StoreError as exc:  # the store is away: wait, then list again
            log.warning("%s", exc)
            stop.wait(poll_seconds)
            continue
        if not waiting:
            stop.wait(poll_seconds)
            continue
        with home.lock(wait=True):
            summary = run_pipeline(home, target, "watch", stop.is_set, progress)
        runs += 1
        on_run(summary)
        if summary.status == "interrupted":
            break
        if summary.status != "ok":
            stop.wait(poll_seconds)  # a failed run is tried again after a pause, not at once
        elif _waiting(landing) == waiting:
            stop.wait(poll_seconds)  # nothing could be taken in: do not spin
    return runs


def _waiting(landing) -> set[tuple[str, str]]:
    return {(e.key, e.version) for e in landing.landed()}
