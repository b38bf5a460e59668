"""Where landing, archive and Parquet live: a folder of the data home, or an S3-compatible bucket.

SMARTMETER_LANDING_URL, SMARTMETER_ARCHIVE_URL and SMARTMETER_PARQUET_URL (the CLI's
--landing-url, --archive-url and --parquet-url set them) each take `s3://bucket/prefix` or a
local path; unset means the data home's folder. Credentials, region and endpoint come from the
standard AWS chain only (AWS_ACCESS_KEY_ID..., ~/.aws, instance roles; AWS_ENDPOINT_URL or
AWS_ENDPOINT_URL_S3 for MinIO, Ceph, R2 ...): nothing secret is ever written by this project.

Every call to the store is retried by botocore (standard mode: 5xx, throttling, timeouts and
refused connections) up to 3 attempts in all with exponential backoff; what still fails raises
ObjectStoreError, which fails the run cleanly (nothing is removed before it is safely stored).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from smartmeter.home import TEMPORARY_SUFFIXES, Home

LANDING_ENV = "SMARTMETER_LANDING_URL"
ARCHIVE_ENV = "SMARTMETER_ARCHIVE_URL"
PARQUET_ENV = "SMARTMETER_PARQUET_URL"
TIMEOUT_ENV = "SMARTMETER_S3_TIMEOUT_SECONDS"
ATTEMPTS = 3
CHUNK = 8 << 20


class ObjectStoreError(Exception):
    """The object store could not be reached or refused a request, after every retry."""


class ConfigurationError(ValueError):
    """A location setting that cannot work (a bad URL, or an unsupported combination)."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # no leading or trailing slash; "" for the bucket's root

    def key(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in (self.prefix, *parts) if p.strip("/"))

    def child(self, *parts: str) -> S3Location:
        return S3Location(self.bucket, self.key(*parts))

    @property
    def list_prefix(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def url(self, key: str | None = None) -> str:
        return f"s3://{self.bucket}/{self.prefix if key is None else key}"

    def __str__(self) -> str:
        return self.url()


Location = S3Location | Path


def parse_location(value: str) -> Location:
    if value.startswith("s3://"):
        bucket, _, prefix = value[len("s3://") :].partition("/")
        if not bucket:
            raise ConfigurationError(f"{value!r} names no bucket (expected s3://bucket/prefix)")
        return S3Location(bucket, prefix.strip("/"))
    if "://" in value:
        raise ConfigurationError(f"{value!r}: only s3://bucket/prefix or a local path is supported")
    return Path(value).expanduser().resolve()


def _configured(env: str, default: Path) -> Location:
    value = os.environ.get(env, "").strip()
    return parse_location(value) if value else default


def landing_location(home: Home) -> Location:
    return _configured(LANDING_ENV, home.landing)


def archive_location(home: Home) -> Location:
    return _configured(ARCHIVE_ENV, home.archive)


def parquet_location(home: Home) -> Location:
    """Where the Parquet archive goes (the data home's parquet/ unless configured)."""
    return parquet_location_or(home.parquet)


def parquet_location_or(default: Path) -> Location:
    return _configured(PARQUET_ENV, default)


def objects_in_use(home: Home) -> bool:
    """Whether ingest works with a bucket (the landing, the archive, or both)."""
    landing, archive = landing_location(home), archive_location(home)
    if isinstance(landing, S3Location) and isinstance(archive, S3Location):
        same_bucket = landing.bucket == archive.bucket
        if same_bucket and (
            not landing.prefix or archive.list_prefix.startswith(landing.list_prefix)
        ):
            raise ConfigurationError(
                f"the archive ({archive}) must not lie under the landing prefix ({landing})"
            )
    return isinstance(landing, S3Location) or isinstance(archive, S3Location)


# -- the AWS clients -------------------------------------------------------------------------


def timeout_seconds() -> float:
    return float(os.environ.get(TIMEOUT_ENV, "30"))


def _config():
    from botocore.config import Config

    timeout = timeout_seconds()
    return Config(
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        connect_timeout=min(timeout, 10),
        read_timeout=timeout,
        # S3-compatible stores (MinIO, Ceph, moto) need path-style addressing on a custom
        # endpoint; AWS itself accepts it too.
        s3={"addressing_style": "path"} if endpoint("s3") else {},
    )


def endpoint(service: str) -> str | None:
    return os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(
        "AWS_ENDPOINT_URL"
    )


@cache
def session():
    import boto3

    return boto3.session.Session()


def client(service: str, region: str | None = None):
    """A boto3 client from the standard chain (botocore reads AWS_ENDPOINT_URL[_<SERVICE>])."""
    aws = session()
    return aws.client(
        service, region_name=region or aws.region_name or "us-east-1", config=_config()
    )


@cache
def s3():
    return client("s3")


def store_error(exc: Exception, what: str) -> ObjectStoreError:
    where = endpoint("s3") or "AWS"
    return ObjectStoreError(
        f"object store ({where}) failed to {what} after {ATTEMPTS} attempts: {exc}"
    )


def botocore_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: Exception) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


# -- objects ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    etag: str
    last_modified: datetime

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


def list_objects(location: S3Location) -> Iterator[StoredObject]:
    """Every complete object under the prefix (an upload in progress is never listed)."""
    try:
        pages = (
            s3()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=location.bucket, Prefix=location.list_prefix)
        )
        for page in pages:
            for item in page.get("Contents", []):
                yield StoredObject(
                    item["Key"], item["Size"], item["ETag"].strip('"'), item["LastModified"]
                )
    except botocore_errors() as exc:
        raise store_error(exc, f"list {location}") from exc


def is_complete_name(key: str) -> bool:
    """Keys a sender is still writing, or folder markers, are not files to take in."""
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith(".") and not name.lower().endswith(TEMPORARY_SUFFIXES)


def landed_objects(location: S3Location) -> list[StoredObject]:
    found = [o for o in list_objects(location) if is_complete_name(o.key)]
    return sorted(found, key=lambda o: (o.last_modified, o.key))


def head(bucket: str, key: str) -> dict | None:
    try:
        return s3().head_object(Bucket=bucket, Key=key)
    except botocore_errors() as exc:
        if http_status(exc) == 404 or error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise store_error(exc, f"read s3://{bucket}/{key}") from exc


def iter_chunks(bucket: str, key: str, etag: str | None = None) -> Iterator[bytes]:
    """The object's bytes in chunks (streamed, never whole in memory); with `etag`, only that
    version (a replaced object fails with PreconditionFailed instead of mixing versions)."""
    extra = {"IfMatch": f'"{etag}"'} if etag else {}
    try:
        body = s3().get_object(Bucket=bucket, Key=key, **extra)["Body"]
        yield from body.iter_chunks(CHUNK)
    except botocore_errors() as exc:
        raise store_error(exc, f"read s3://{bucket}/{key}") from exc


def read_bytes(bucket: str, key: str) -> bytes:
    """The whole object (one buffer: no list of chunks joined into a second copy)."""
    try:
        return s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore_errors() as exc:
        raise store_error(exc, f"read s3://{bucket}/{key}") from exc


def split_url(url: str) -> tuple[str, str]:
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


def is_url(path: str) -> bool:
    return path.startswith("s3://")


def delete_keys(bucket: str, keys: list[str]) -> None:
    try:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            answer = s3().delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if answer.get("Errors"):
                raise ObjectStoreError(f"could not delete from s3://{bucket}: {answer['Errors']}")
    except botocore_errors() as exc:
        raise store_error(exc, f"delete from s3://{bucket}") from exc


def put_bytes(bucket: str, key: str, data: bytes) -> None:
    try:
        s3().put_object(Bucket=bucket, Key=key, Body=data)
    except botocore_errors() as exc:
        raise store_error(exc, f"write s3://{bucket}/{key}") from exc


def upload_file(path: Path, bucket: str, key: str) -> None:
    """A local file to an object (the transfer manager switches to multipart for big files)."""
    try:
        s3().upload_file(str(path), bucket, key)
    except botocore_errors() as exc:
        raise store_error(exc, f"write s3://{bucket}/{key}") from exc


def copy(source_bucket: str, source_key: str, bucket: str, key: str, **extra: object) -> None:
    """A server-side copy; the transfer manager switches to multipart copy for big objects."""
    try:
        s3().copy(
            {"Bucket": source_bucket, "Key": source_key}, bucket, key, ExtraArgs=extra or None
        )
    except botocore_errors() as exc:
        raise store_error(exc, f"copy to s3://{bucket}/{key}") from exc


# -- archive paths that may be URLs ----------------------------------------------------------


def read_archived(path: str) -> bytes:
    """The bytes of an archive entry: a local file, or an object (`s3://bucket/key`)."""
    if is_url(path):
        return read_bytes(*split_url(path))
    return Path(path).read_bytes()


@contextmanager
def local_copy(path: str, scratch: Path) -> Iterator[Path]:
    """A local file with the entry's bytes (for dlq/): the file itself, or a streamed download
    into `scratch` removed afterwards."""
    if not is_url(path):
        yield Path(path)
        return
    scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=scratch, prefix=".download-", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in iter_chunks(*split_url(path)):
                fh.write(chunk)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def bucket_counts(home: Home) -> dict[str, int | str]:
    """`smartmeter status`'s counts for the places that are buckets ("unreachable" if so)."""
    counts: dict[str, int | str] = {}
    places = {
        "landing": (landing_location(home), lambda loc: len(landed_objects(loc))),
        "raw_archive_files": (
            archive_location(home),
            lambda loc: sum(1 for _ in list_objects(loc)),
        ),
        "parquet_files": (
            parquet_location(home),
            lambda loc: sum(
                1 for o in list_objects(loc.child("readings")) if o.key.endswith(".parquet")
            ),
        ),
    }
    for name, (location, count) in places.items():
        if isinstance(location, S3Location):
            try:
                counts[name] = count(location)
            except ObjectStoreError:
                counts[name] = "unreachable"
    return counts


def delete_if_unchanged(bucket: str, key: str, etag: str) -> bool:
    """Delete the object only while it is still the version `etag` (a conditional delete, so a
    newer upload under the same key is never lost). Stores without conditional deletes get a
    head-then-delete. Returns whether it was deleted."""
    try:
        s3().delete_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')
        return True
    except botocore_errors() as exc:
        status = http_status(exc)
        if status == 404 or error_code(exc) == "NoSuchKey":
            return False
        if status == 412:
            return False  # replaced meanwhile: the newer version waits for the next run
        if status not in (400, 501):
            raise store_error(exc, f"delete s3://{bucket}/{key}") from exc
    current = head(bucket, key)
    if current is None or current["ETag"].strip('"') != etag:
        return False
    delete_keys(bucket, [key])
    return True
