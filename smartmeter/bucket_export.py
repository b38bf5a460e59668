"""The Parquet archive in an S3-compatible bucket (SMARTMETER_PARQUET_URL=s3://bucket/prefix).

Same layout, scheme marker and queue as the folder export (smartmeter.export), under
`<prefix>/readings/`. DuckDB writes through its httpfs extension, loaded from the
`duckdb-extension-httpfs` wheel (never downloaded), with an in-memory secret built from the
standard AWS chain. A bucket has no rename, so a partition is swapped in three moves:
1. DuckDB writes it under `<prefix>/_staging/<partition>/` (outside `readings/`: readers of
   `readings/**/*.parquet` never see it);
2. each file is copied server-side over its final key: an object is replaced whole, so a reader
   sees every file of the day either as it was or as it is now, never half-written;
3. files the new partition no longer has are deleted, then the staging objects.
Its dates leave the queue only after that, so a run killed at any point writes the same
partitions again: the same keys with the same rows.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import duckdb

from smartmeter import object_store
from smartmeter.export import (
    SCHEME_MARKER,
    SCHEMES,
    ExportError,
    ExportReport,
    RemoteTable,
    _columns_sql,
    _date_list,
    plan_partitions,
    present_partitions,
)
from smartmeter.faults import crash_point
from smartmeter.object_store import ObjectStoreError, S3Location


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def configure_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    """Load httpfs from its wheel and give DuckDB the AWS chain's credentials and endpoint."""
    import duckdb_extension_httpfs as wheel

    extension = next(Path(wheel.__file__).parent.glob("extensions/*/httpfs.*"))
    con.execute(f"load {_quote(str(extension))}")
    aws = object_store.session()
    credentials = aws.get_credentials()
    if credentials is None:
        raise object_store.ConfigurationError(
            "no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, or a role)"
        )
    frozen = credentials.get_frozen_credentials()
    options = {
        "key_id": frozen.access_key,
        "secret": frozen.secret_key,
        "region": aws.region_name or "us-east-1",
    }
    if frozen.token:
        options["session_token"] = frozen.token
    custom_endpoint = object_store.endpoint("s3")
    settings = ""
    if custom_endpoint:
        parsed = urlparse(custom_endpoint)
        options["endpoint"] = parsed.netloc
        options["url_style"] = "path"
        settings = f", use_ssl {'true' if parsed.scheme == 'https' else 'false'}"
    body = ", ".join(f"{k} {_quote(v)}" for k, v in options.items())
    # A temporary secret: it lives in this connection's memory only, never in a file.
    con.execute(f"create or replace temporary secret smartmeter_s3 (type s3, {body}{settings})")
    # Like every other request to the store: 3 attempts in all with backoff, the same timeout.
    con.execute(f"set http_retries = {object_store.ATTEMPTS - 1}")
    con.execute(f"set http_timeout = {max(1, round(object_store.timeout_seconds()))}")


def _keys_under(location: S3Location) -> list[str]:
    return [o.key for o in object_store.list_objects(location)]


def _copy_partition(
    con: duckdb.DuckDBPyConnection, source: str, scheme: str, days: list[date], target: S3Location
) -> int:
    select = (
        f"select {_columns_sql()} from {source} where reading_date in ({_date_list(days)}) "
        "order by meter_id, channel, reading_start_at"
    )
    if scheme == "date":
        destination, options = target.url(target.key("data_0.parquet")), "format parquet"
    else:
        destination = target.url()
        options = "format parquet, partition_by (meter_id), write_partition_columns true"
    try:
        return con.execute(f"copy ({select}) to {_quote(destination)} ({options})").fetchone()[0]
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.CatalogException | duckdb.BinderException):
            raise
        raise ObjectStoreError(f"could not write {destination}: {exc}") from exc


def _swap(staging: S3Location, final: S3Location, has_rows: bool) -> None:
    staged = _keys_under(staging)
    new = [k[len(staging.list_prefix) :] for k in staged] if has_rows else []

    def copy(relative: str) -> None:
        object_store.copy(staging.bucket, staging.key(relative), final.bucket, final.key(relative))

    replace_objects(final, new, copy)
    object_store.delete_keys(staging.bucket, staged)


def replace_objects(final: S3Location, new: list[str], put: Callable[[str], None]) -> None:
    """Replace a partition's objects: `put` writes each new key (relative to `final`) over the
    old object, then the keys the partition no longer has are deleted."""
    old = [k[len(final.list_prefix) :] for k in _keys_under(final)]
    for relative in new:
        put(relative)
        crash_point("export:mid_swap")
    stale = sorted(set(old) - set(new))
    object_store.delete_keys(final.bucket, [final.key(r) for r in stale])


def _partitions_present(root: S3Location) -> dict[str, list[str]]:
    folders: dict[str, list[str]] = defaultdict(list)
    for key in _keys_under(root):
        relative = key[len(root.list_prefix) :]
        if "/" in relative:
            folders[relative.split("/", 1)[0]].append(key)
    return folders


def scheme_matches(root: S3Location, scheme: str) -> bool:
    marker = root.key(SCHEME_MARKER)
    if object_store.head(root.bucket, marker) is None:
        return False
    return object_store.read_bytes(root.bucket, marker).decode().strip() == scheme


def clear_archive(root: S3Location) -> bool:
    """Delete every partition (not the scheme marker); whether the archive held anything."""
    keys = _keys_under(root)
    object_store.delete_keys(root.bucket, [k for k in keys if k != root.key(SCHEME_MARKER)])
    return bool(keys)


def mark_scheme(root: S3Location, scheme: str) -> None:
    object_store.put_bytes(root.bucket, root.key(SCHEME_MARKER), (scheme + "\n").encode())


def _follow_scheme(
    con: duckdb.DuckDBPyConnection, root: S3Location, scheme: str, source: str, queue: str
) -> None:
    """A new partition scheme rewrites the whole archive: clear it and queue every date."""
    if scheme_matches(root, scheme):
        return
    if clear_archive(root):
        con.execute(
            f"insert into {queue} (reading_date, queued_at) "
            f"select distinct reading_date, current_timestamp from {source}"
        )
    mark_scheme(root, scheme)


def prune(
    con: duckdb.DuckDBPyConnection,
    root: S3Location,
    scheme: str,
    source: str,
    remote: RemoteTable | None,
) -> list:
    present = present_partitions(con, scheme, source, remote)
    removed = []
    for folder, keys in sorted(_partitions_present(root).items()):
        if folder not in present:
            object_store.delete_keys(root.bucket, keys)
            removed.append(folder)
    return removed


def export_queued_to_bucket(
    con: duckdb.DuckDBPyConnection,
    location: S3Location,
    scheme: str,
    source: str,
    queue: str,
    remote: RemoteTable | None,
) -> ExportReport:
    if scheme not in SCHEMES:
        raise ExportError(f"unknown partition scheme {scheme!r}; choose one of {SCHEMES}")
    started = time.perf_counter()
    configure_httpfs(con)
    root, staging_root = location.child("readings"), location.child("_staging")
    object_store.delete_keys(staging_root.bucket, _keys_under(staging_root))  # a killed run's
    _follow_scheme(con, root, scheme, source, queue)
    units, partition_days, rows_source = plan_partitions(con, scheme, source, queue, remote)
    report = ExportReport()
    for name in sorted(units):
        staging = staging_root.child(name)
        rows = _copy_partition(con, rows_source, scheme, partition_days[name], staging)
        _swap(staging, root.child(name), has_rows=rows > 0)
        con.execute(f"delete from {queue} where reading_date in ({_date_list(units[name])})")
        crash_point("export:after_partition")
        report.partitions.append(name)
        report.rows += rows
    report.removed = prune(con, root, scheme, source, remote)
    report.seconds = time.perf_counter() - started
    return report
