"""Landing, archive and Parquet on an S3-compatible store: moto's server mode on 127.0.0.1 (the
real S3, SQS and SNS HTTP APIs), boto3, and the CLI as a subprocess."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import boto3
import pytest
from conftest import (
    AWS_CREDENTIALS,
    FIXTURES,
    cli_env,
    count_data_lines,
    duck,
    moto_server,
    pg_connect,
    run_cli,
    sample_files,
)

pytestmark = pytest.mark.slow

CREDENTIALS = AWS_CREDENTIALS


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


class Aws:
    """boto3 clients on the moto server, and the environment the CLI runs with."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.bucket = f"meters-{uuid.uuid4().hex[:10]}"
        kwargs = {
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.s3 = boto3.client("s3", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        self.sns = boto3.client("sns", **kwargs)
        self.s3.create_bucket(Bucket=self.bucket)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "SMARTMETER_LANDING_URL": f"s3://{self.bucket}/landing",
            "SMARTMETER_ARCHIVE_URL": f"s3://{self.bucket}/raw",
            "SMARTMETER_PARQUET_URL": f"s3://{self.bucket}/parquet",
            "SMARTMETER_RETRY_BASE_SECONDS": "0.05",
            **extra,
        }

    def upload(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()


@pytest.fixture
def aws(endpoint: str) -> Aws:
    return Aws(endpoint)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return sample_files(tmp_path_factory.mktemp("sample"), "canonical,wide")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def raw_rows_by_source(home: Path) -> dict[str, int]:
    with duck(home) as con:
        tables = [r[0] for r in con.sql("select raw_table from raw.layouts").fetchall()]
        union = " union all ".join(f"select _source_file from raw.{t}" for t in tables)
        return dict(con.sql(f"select _source_file, count(*) from ({union}) group by 1").fetchall())


def manifest(home: Path) -> list[tuple]:
    with duck(home) as con:
        return con.sql(
            "select original_name, status, archive_path from ops.file_manifest "
            "order by original_name, status"
        ).fetchall()


def test_ingest_from_a_bucket_archives_loads_and_then_clears_landing(aws, sample, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    uploads = {f"landing/{p.name}": p.read_bytes() for p in sample}
    uploads["landing/2024/03/nested.csv"] = (FIXTURES / "canonical_small.csv").read_bytes()
    for key, data in uploads.items():
        aws.upload(key, data)
    aws.upload("landing/still-writing.csv.part", b"meter_id,timestamp\n")
    unfinished = aws.s3.create_multipart_upload(Bucket=aws.bucket, Key="landing/uploading.csv")
    aws.s3.upload_part(
        Bucket=aws.bucket,
        Key="landing/uploading.csv",
        UploadId=unfinished["UploadId"],
        PartNumber=1,
        Body=uploads["landing/2024/03/nested.csv"],
    )
    aws.upload("elsewhere/ignored.csv", uploads[next(iter(uploads))])

    result = run_cli(home, "ingest", env=aws.env())
    assert result.returncode == 0, result.stdout + result.stderr

    # the landing keeps only what is still being written; the archive has every file by hash
    assert aws.keys("landing/") == ["landing/still-writing.csv.part"]
    expected_archive = sorted(f"raw/{sha256(d)[:2]}/{sha256(d)}/{k}" for k, d in uploads.items())
    assert aws.keys("raw/") == expected_archive
    for key, data in uploads.items():
        assert aws.read(f"raw/{sha256(data)[:2]}/{sha256(data)}/{key}") == data
    # loaded untouched, with the object key as the source file
    counts = raw_rows_by_source(home)
    for key, data in uploads.items():
        local = tmp_path / "check.csv"
        local.write_bytes(data)
        assert counts[key] == count_data_lines(local, has_header=True), key
    assert {name for name, _, _ in manifest(home)} == set(uploads)
    assert all(path.startswith(f"s3://{aws.bucket}/raw/") for _, _, path in manifest(home))
    assert not (home / "raw").exists() or not any((home / "raw").iterdir())
    status = run_cli(home, "status", "--json", env=aws.env())
    folders = json.loads(status.stdout)["folders"]
    assert (folders["landing"], folders["raw_archive_files"]) == (0, len(uploads))

    # nothing new: nothing happens; the same object uploaded again is a duplicate delivery
    again = run_cli(home, "ingest", env=aws.env())
    assert again.returncode == 0, again.stderr
    first_key = next(iter(uploads))
    aws.upload(first_key, uploads[first_key])
    dup = run_cli(home, "ingest", env=aws.env())
    assert dup.returncode == 0, dup.stderr
    assert "DUPLICATE" in dup.stdout
    assert raw_rows_by_source(home) == counts
    statuses = [s for name, s, _ in manifest(home) if name == first_key]
    assert statuses == ["duplicate", "loaded"]
    assert aws.keys("landing/") == ["landing/still-writing.csv.part"]


def test_a_big_unreadable_object_is_archived_in_parts_and_goes_to_dlq(aws, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    aws.upload("landing/good.csv", (FIXTURES / "canonical_small.csv").read_bytes())
    binary = b"\x00\x01\x02" + os.urandom(20 << 20)  # above the 8 MB multipart threshold
    aws.upload("landing/sub/binary.csv", binary)
    result = run_cli(home, "ingest", env=aws.env())
    assert result.returncode == 1, result.stdout + result.stderr
    sidecars = list((home / "dlq").glob("dl-*.json"))
    assert len(sidecars) == 1
    letter = json.loads(sidecars[0].read_text())
    assert letter["original_name"] == "landing/sub/binary.csv"
    assert letter["reason"] == "binary_file"
    assert sha256(Path(letter["dlq_path"]).read_bytes()) == sha256(binary)
    archived = f"raw/{sha256(binary)[:2]}/{sha256(binary)}/landing/sub/binary.csv"
    assert sha256(aws.read(archived)) == sha256(binary)
    etag = aws.s3.head_object(Bucket=aws.bucket, Key=archived)["ETag"]
    assert "-" in etag  # a multipart copy, not one request holding the whole object
    assert aws.keys("landing/") == []
    assert raw_rows_by_source(home) == {"landing/good.csv": 4}


def test_local_landing_with_the_archive_in_a_bucket(aws, tmp_path):
    home = tmp_path / "home"
    (home / "landing").mkdir(parents=True)
    data = (FIXTURES / "canonical_small.csv").read_bytes()
    (home / "landing" / "meter.csv").write_bytes(data)
    env = aws.env(SMARTMETER_LANDING_URL="")
    result = run_cli(home, "ingest", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert aws.keys("raw/") == [f"raw/{sha256(data)[:2]}/{sha256(data)}/meter.csv"]
    assert not list((home / "landing").iterdir())
    assert raw_rows_by_source(home) == {"meter.csv": 4}


def test_bucket_landing_with_the_archive_in_a_local_folder(aws, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    data = (FIXTURES / "canonical_small.csv").read_bytes()
    aws.upload("landing/2024/meter%1.csv", data)
    env = aws.env(SMARTMETER_ARCHIVE_URL="")
    killed = run_cli(home, "ingest", env={**env, "SMARTMETER_CRASH_AT": "ingest:after_archive"})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    result = run_cli(home, "ingest", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    entry = home / "raw" / sha256(data)[:2] / sha256(data) / "landing%2F2024%2Fmeter%251.csv"
    assert entry.read_bytes() == data and entry.stat().st_mode & 0o222 == 0
    assert raw_rows_by_source(home) == {"landing/2024/meter%1.csv": 4}
    assert [(name, status) for name, status, _ in manifest(home)] == [
        ("landing/2024/meter%1.csv", "loaded")
    ]
    assert aws.keys("landing/") == []


def parquet_snapshot(aws: Aws, prefix: str = "parquet/readings/") -> dict[str, list[tuple]]:
    """Every Parquet object under the prefix with its rows (read back through pyarrow)."""
    import io

    import pyarrow.parquet as pq

    snapshot = {}
    for key in aws.keys(prefix):
        if key.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(aws.read(key)))
            rows = table.to_pylist()
            snapshot[key] = sorted((tuple(sorted(r.items())) for r in rows), key=repr)
    return snapshot


def published(home: Path) -> list[tuple]:
    with duck(home) as con:
        return con.sql(
            "select meter_id, channel, timezone('UTC', reading_start_at), kwh, quality_flag "
            "from marts.fct_readings order by all"
        ).fetchall()


def exported_rows(aws: Aws) -> list[tuple]:
    rows = []
    for key, records in parquet_snapshot(aws).items():
        assert "/reading_date=" in key
        for record in records:
            r = dict(record)
            rows.append(
                (r["meter_id"], r["channel"], r["reading_start_at"], r["kwh"], r["quality_flag"])
            )
    return sorted(rows, key=repr)


def notifying_queue(
    aws: Aws, prefix: str = "landing/", visibility_seconds: int = 120
) -> tuple[str, str]:
    """A queue (with a redrive DLQ after 3 receives) the bucket notifies of new objects."""
    name = uuid.uuid4().hex[:10]
    dlq = aws.sqs.create_queue(QueueName=f"dlq-{name}")["QueueUrl"]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
    queue = aws.sqs.create_queue(
        QueueName=f"q-{name}",
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(visibility_seconds),
        },
    )["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    aws.s3.put_bucket_notification_configuration(
        Bucket=aws.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
            ]
        },
    )
    return queue, dlq


def messages_left(aws: Aws, queue: str) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_watch_queue_runs_on_notifications_and_a_poisoned_file_reaches_the_queue_dlq(
    aws, sample, tmp_path
):
    home = tmp_path / "home"
    home.mkdir()
    queue, queue_dlq = notifying_queue(aws, visibility_seconds=3)
    for path in sample:
        aws.upload(f"landing/{path.name}", path.read_bytes())
    aws.upload(f"landing/{sample[0].name}", sample[0].read_bytes())  # a second notification
    aws.upload("landing/broken.csv", b"\x00\x01 binary, not a meter file")
    aws.upload("elsewhere/not-for-us.csv", b"meter_id\n")  # filtered out by the bucket
    other = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "other"}, "object": {}}}
    aws.sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"Records": [other]}))

    # a worker killed mid-run: its messages come back after their visibility timeout
    killed = run_cli(
        home,
        "watch",
        "--queue",
        queue,
        env=aws.env(SMARTMETER_CRASH_AT="ingest:before_landing_removal"),
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr

    result = run_cli(home, "watch", "--queue", queue, "--max-runs", "1", env=aws.env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(queue, duckdb): OK" in result.stdout  # the killed run dead-lettered broken.csv
    assert aws.keys("landing/") == []
    assert exported_rows(aws) == sorted(published(home), key=repr)
    assert len(manifest(home)) == len(sample) + 1
    letters = [json.loads(p.read_text()) for p in (home / "dlq").glob("dl-*.json")]
    assert [letter["original_name"] for letter in letters] == ["landing/broken.csv"]
    # deleted: the test event, the other bucket's, both copies of the loaded file's; the
    # poisoned file's notification is back in the queue (received twice)
    assert messages_left(aws, queue) == 1

    # its redelivery is settled without a run; after 3 receives it is in the queue's DLQ
    again = run_cli(home, "watch", "--queue", queue, "--max-runs", "1", env=aws.env())
    assert again.returncode == 0, again.stdout + again.stderr
    assert "(queue, duckdb)" not in again.stdout
    assert aws.sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages") is None
    moved = aws.sqs.receive_message(QueueUrl=queue_dlq, MaxNumberOfMessages=10)["Messages"]
    assert len(moved) == 1 and "landing%2Fbroken.csv" in moved[0]["Body"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alert_queue(aws: Aws) -> tuple[str, str]:
    """An SNS topic with an SQS queue subscribed (to read what was published)."""
    topic = aws.sns.create_topic(Name=f"alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue = aws.sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
    return topic, queue


def test_a_run_on_buckets_survives_the_store_away_a_failed_export_and_a_killed_one(
    aws, sample, tmp_path
):
    home = tmp_path / "home"
    home.mkdir()
    topic, inbox = alert_queue(aws)
    for path in sample:
        aws.upload(f"landing/{path.name}", path.read_bytes())

    # the store unreachable for longer than the outage window: a clean failure with one alert;
    # nothing lost, nothing dead-lettered
    down = aws.env(
        AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{closed_port()}",
        SMARTMETER_ALERT_SNS_TOPIC_ARN=topic,
        SMARTMETER_OUTAGE_WINDOW_SECONDS="1",
    )
    failed = run_cli(home, "run", env=down)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "FAILED" in failed.stdout and "stayed unreachable" in failed.stdout
    assert not list((home / "dlq").glob("dl-*.json"))
    assert '"kind": "run_failed"' in (home / ".state/logs/alerts.log").read_text()
    published_alerts = aws.sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)
    bodies = [json.loads(json.loads(m["Body"])["Message"]) for m in published_alerts["Messages"]]
    assert [b["kind"] for b in bodies] == ["run_failed"]
    assert aws.keys("landing/") == sorted(f"landing/{p.name}" for p in sample)
    assert aws.keys("raw/") == []

    # the next run loads and builds, but the store answers 503 to every Parquet request for
    # longer than the window: the export fails cleanly, its partitions stay queued
    proxy = FlakyStore(aws.endpoint)
    try:
        proxy.failures, proxy.only = 10_000, "/parquet"
        flaky = aws.env(
            AWS_ENDPOINT_URL_S3=proxy.url,
            SMARTMETER_ALERT_SNS_TOPIC_ARN=topic,
            SMARTMETER_OUTAGE_WINDOW_SECONDS="1",
        )
        second = run_cli(home, "run", env=flaky)
    finally:
        proxy.close()
    assert second.returncode == 1, second.stdout + second.stderr
    assert "export  failed" in second.stdout and "stayed unreachable" in second.stdout
    assert not list((home / "dlq").glob("dl-*.json"))
    assert aws.keys("landing/") == [] and aws.keys("parquet/") == []
    exported = run_cli(home, "export", env=aws.env())
    assert exported.returncode == 0, exported.stdout + exported.stderr
    before = parquet_snapshot(aws)
    assert before and all("/meter_id=" in key for key in before)
    assert exported_rows(aws) == sorted(published(home), key=repr)
    assert aws.keys("parquet/_staging/") == []
    assert aws.read("parquet/readings/_partition_scheme") == b"date/meter_id\n"

    # a scheme change rewrites everything; switching back, killed mid-swap, then rerun
    daily = run_cli(home, "export", "--partition-scheme", "date", env=aws.env())
    assert daily.returncode == 0, daily.stdout + daily.stderr
    assert all(k.count("/") == 3 for k in parquet_snapshot(aws))  # one file per day
    killed = run_cli(
        home,
        "export",
        "--partition-scheme",
        "date/meter_id",
        env=aws.env(SMARTMETER_CRASH_AT="export:mid_swap"),
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    rerun = run_cli(home, "export", "--partition-scheme", "date/meter_id", env=aws.env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert parquet_snapshot(aws) == before
    assert aws.keys("parquet/_staging/") == []


class FlakyStore:
    """A proxy in front of moto answering 503 SlowDown to the next `failures` requests."""

    def __init__(self, upstream: str):
        self.upstream = urlparse(upstream)
        self.failures = 0
        self.refused = 0
        self.delay = 0.0  # seconds before answering (a slow store)
        self.only: str | None = None  # fail only requests whose path holds this
        self.delayed = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.delay:
                    proxy.delayed += 1
                    time.sleep(proxy.delay)
                    return  # the client gave up long ago
                if proxy.failures > 0 and (proxy.only is None or proxy.only in self.path):
                    proxy.failures -= 1
                    proxy.refused += 1
                    error = (
                        b"<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>"
                    )
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port)
                conn.request(self.command, self.path, body=body, headers=dict(self.headers))
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_store_answering_5xx_or_too_slowly_is_retried_three_times_then_recovers(aws, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    data = (FIXTURES / "canonical_small.csv").read_bytes()
    aws.upload("landing/meter.csv", data)
    proxy = FlakyStore(aws.endpoint)
    try:
        env = aws.env(AWS_ENDPOINT_URL_S3=proxy.url)
        proxy.failures = 1000
        failed = run_cli(home, "ingest", env=env)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "after 3 attempts" in failed.stderr and "SlowDown" in failed.stderr
        assert proxy.refused == 3  # one listing, tried three times
        assert aws.keys("landing/") == ["landing/meter.csv"] and aws.keys("raw/") == []

        # a store too slow to answer within the timeout: tried again, then fails cleanly
        proxy.failures, proxy.refused, proxy.delay = 0, 0, 5.0
        slow = run_cli(home, "ingest", env={**env, "SMARTMETER_S3_TIMEOUT_SECONDS": "0.5"})
        assert slow.returncode == 1, slow.stdout + slow.stderr
        assert "timeout" in slow.stderr.lower() and proxy.delayed == 3
        proxy.delay = 0.0

        proxy.failures, proxy.refused = 2, 0  # two 503s, then the store answers again
        recovered = run_cli(home, "ingest", env=env)
        assert recovered.returncode == 0, recovered.stdout + recovered.stderr
        assert proxy.refused == 2
        assert raw_rows_by_source(home) == {"landing/meter.csv": 4}
        assert aws.keys("landing/") == []
    finally:
        proxy.close()


def test_a_store_answering_503_for_a_while_is_waited_out(aws, sample, tmp_path):
    """The object store answers 503 SlowDown to everything for a while: the run waits (within
    its outage window), then finishes ok with every file loaded and exported once, and nothing
    dead-lettered."""
    home = tmp_path / "home"
    home.mkdir()
    for path in sample:
        aws.upload(f"landing/{path.name}", path.read_bytes())
    proxy = FlakyStore(aws.endpoint)
    try:
        # botocore tries each request 3 times: 12 refusals are 4 of the run's attempts in a
        # row, more than a plain transient failure gets
        proxy.failures = 12
        env = aws.env(AWS_ENDPOINT_URL_S3=proxy.url, SMARTMETER_OUTAGE_WINDOW_SECONDS="120")
        result = run_cli(home, "run", "--no-forecast", env=env)
    finally:
        proxy.close()
    assert result.returncode == 0, result.stdout + result.stderr
    assert proxy.refused == 12
    assert "the store is unreachable" in result.stderr
    assert not list((home / "dlq").glob("dl-*.json"))
    assert aws.keys("landing/") == []
    assert {name: status for name, status, _ in manifest(home)} == {
        f"landing/{p.name}": "loaded" for p in sample
    }
    assert exported_rows(aws) == sorted(published(home), key=repr)


def ingest_state(aws: Aws, home: Path) -> dict[str, object]:
    return {
        "archive": aws.keys("raw/"),
        "landing": aws.keys("landing/"),
        "raw": raw_rows_by_source(home),
        "manifest": sorted((name, status) for name, status, _ in manifest(home)),
    }


def fresh_bucket(endpoint: str, sample: list[Path]) -> Aws:
    aws = Aws(endpoint)
    for path in sample:
        aws.upload(f"landing/{path.name}", path.read_bytes())
    return aws


def test_ingest_killed_at_each_point_in_turn_ends_like_an_uninterrupted_one(
    endpoint, sample, tmp_path
):
    aws, home = fresh_bucket(endpoint, sample), tmp_path / "home"
    home.mkdir()
    for point in ("ingest:after_archive", "ingest:after_dlt_load", "ingest:before_landing_removal"):
        killed = run_cli(home, "ingest", env=aws.env(SMARTMETER_CRASH_AT=point))
        assert killed.returncode == -9, point + killed.stdout + killed.stderr
    rerun = run_cli(home, "ingest", env=aws.env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    # what an uninterrupted ingest leaves: every file archived once, loaded once, landing empty
    data = {f"landing/{p.name}": p.read_bytes() for p in sample}
    assert ingest_state(aws, home) == {
        "archive": sorted(f"raw/{sha256(d)[:2]}/{sha256(d)}/{k}" for k, d in data.items()),
        "landing": [],
        "raw": {f"landing/{p.name}": count_data_lines(p, has_header=True) for p in sample},
        "manifest": sorted((k, "loaded") for k in data),
    }


@pytest.mark.postgres
def test_watch_polls_a_bucket_landing_into_postgres_and_exports_to_the_bucket(
    aws, sample, tmp_path, pg_env
):
    home = tmp_path / "home"
    home.mkdir()
    for path in sample:
        aws.upload(f"landing/{path.name}", path.read_bytes())
    result = run_cli(
        home,
        "watch",
        "--target",
        "postgres",
        "--max-runs",
        "1",
        "--poll-seconds",
        "0.2",
        env=aws.env(**pg_env),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(watch, postgres): OK" in result.stdout
    assert aws.keys("landing/") == []
    with pg_connect(pg_env) as con:
        sources = {r[0] for r in con.execute("select _source_file from raw.canonical")}
        readings = con.execute(
            "select meter_id, channel, (reading_start_at at time zone 'UTC') "
            "from marts.fct_readings"
        ).fetchall()
    assert sources == {f"landing/{p.name}" for p in sample if p.name.startswith("canonical")}
    exported = sorted((m, c, t) for m, c, t, _, _ in exported_rows(aws))
    assert exported == sorted(readings)
    assert aws.keys("raw/") and all(k.count("/") == 4 for k in aws.keys("raw/"))


def test_landing_removal_never_takes_a_newer_upload_under_the_same_key(aws, monkeypatch):
    from smartmeter.ingest import remove_from_landing
    from smartmeter.storage import S3Location, S3Store
    from smartmeter.storage import aws as clients

    for name, value in aws.env().items():
        monkeypatch.setenv(name, value)
    clients.reset()
    try:
        landing = S3Store(S3Location(aws.bucket, "landing"))
        aws.upload("landing/a.csv", b"meter_id,timestamp,value,unit\nM1,2024-01-01T00:00,1,kWh\n")
        [taken] = landing.landed()
        aws.upload("landing/a.csv", b"meter_id,timestamp,value,unit\nM1,2024-01-01T00:00,2,kWh\n")
        remove_from_landing(landing, [taken])
        assert aws.read("landing/a.csv").endswith(b",2,kWh\n")  # the newer upload stays
        [newer] = landing.landed()
        remove_from_landing(landing, [newer])
        assert aws.keys("landing/") == []
    finally:
        clients.reset()


SPARK_PUBLISH = """
import sys
from pathlib import Path
from smartmeter import faults
from smartmeter.settings import Settings
from smartmeter.targets.spark import staged_partitions
from smartmeter.storage import open_store

faults.arm(Settings.resolve().crash_at)  # as the command line does
staging, bucket = Path(sys.argv[1]), sys.argv[2]
archive = open_store(f"s3://{bucket}/parquet/readings", scratch=staging.parent)
for name, staged in staged_partitions(staging):
    archive.publish(staged, name)
"""


def test_a_spark_publish_to_a_bucket_killed_midway_is_finished_by_the_next(aws, tmp_path):
    """Partitions Spark staged (its p_date=/p_meter= folders, part-* files, checksums) reach the
    bucket under the archive's names; a publish killed after its first upload leaves the rest
    staged, and the next one finishes it: every file once, nothing staged left."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staging = tmp_path / "spark-archive-staging"
    expected = {}
    for day in ("2024-03-18", "2024-03-19"):
        for meter in ("M1", "M2"):
            leaf = staging / f"p_date={day}" / f"p_meter={meter}"
            leaf.mkdir(parents=True)
            part = leaf / f"part-00000-{uuid.uuid4()}.c000.snappy.parquet"
            pq.write_table(pa.table({"meter_id": [meter], "day": [day]}), part)
            (leaf / f".{part.name}.crc").write_bytes(b"checksum")
            expected[f"reading_date={day}/meter_id={meter}/data_0.parquet"] = part.read_bytes()
        (staging / f"p_date={day}" / "_SUCCESS").write_bytes(b"")
    (staging / "_written").mkdir()
    env = cli_env(**CREDENTIALS, AWS_ENDPOINT_URL=aws.endpoint)
    command = [sys.executable, "-c", SPARK_PUBLISH, str(staging), aws.bucket]

    killed = subprocess.run(command, env={**env, "SMARTMETER_CRASH_AT": "export:mid_swap"})
    assert killed.returncode == -9
    assert len(aws.keys("parquet/readings/")) == 1

    finished = subprocess.run(command, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    keys = aws.keys("parquet/readings/")
    assert [k.removeprefix("parquet/readings/") for k in keys] == sorted(expected)
    for key in keys:
        assert aws.read(key) == expected[key.removeprefix("parquet/readings/")]
    assert (
        not [p for p in staging.iterdir() if p.name != "_written"]
        and not (staging / "_written").exists()
    )
