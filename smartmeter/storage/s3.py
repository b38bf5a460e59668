"""A store in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2), through boto3.

A bucket has no rename, so safety comes from objects instead:
- an object is replaced whole, and a read pinned to an ETag (If-Match) fails rather than mixing
  two versions;
- write-once entries are content-addressed: a head-then-copy or If-None-Match never overwrites,
  and an existing entry is checked against its size and the sha256 kept in its metadata;
- deletes of landed objects are conditional (If-Match), so a newer upload under the same key
  stays for the next run;
- a partition is published by uploading each staged file over its key and then deleting the
  keys it no longer has: during those seconds a reader may see a partition mixing old and new
  files, each complete (no multi-object rename exists). Staging is a local folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from smartmeter.faults import crash_point
from smartmeter.storage import aws
from smartmeter.storage.base import (
    CHUNK,
    ArchiveCorrupted,
    Entry,
    FileChangedError,
    Store,
    Stored,
    StoreError,
    hash_chunks,
    parquet_scan_sql,
)

SHA_METADATA = "sha256"
# Above this a local file is uploaded in parts (the transfer manager's multipart upload).
SINGLE_PUT_BYTES = 64 << 20


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


def _not_found(exc: Exception) -> bool:
    return aws.http_status(exc) == 404 or aws.error_code(exc) in ("404", "NoSuchKey", "NotFound")


class S3Store(Store):
    parks_failed_deliveries = False
    has_folder = False

    def __init__(self, location: S3Location, scratch: Path | None = None, timeout: float = 30.0):
        self.location = location
        self.timeout = timeout
        self.url = location.url()
        self.scratch = scratch  # where partitions are staged before they are uploaded

    def _s3(self):
        return aws.s3(self.timeout)

    def _key(self, key: str) -> str:
        return self.location.key(key)

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.location.list_prefix) :]

    def list(self, prefix: str = "") -> list[Entry]:
        """Every complete object (an upload in progress is never listed)."""
        where = self.location.child(prefix) if prefix else self.location
        found = []
        try:
            pages = (
                self._s3()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=where.bucket, Prefix=where.list_prefix)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    modified = item["LastModified"]
                    modified = (
                        modified.replace(tzinfo=UTC)
                        if modified.tzinfo is None
                        else modified.astimezone(UTC)
                    )
                    found.append(
                        Entry(
                            self._relative(item["Key"]),
                            item["Size"],
                            item["ETag"].strip('"'),
                            modified,
                        )
                    )
        except aws.botocore_errors() as exc:
            raise aws.store_error(exc, f"list {where}") from exc
        return found

    def head(self, key: str) -> dict | None:
        try:
            return self._s3().head_object(Bucket=self.location.bucket, Key=self._key(key))
        except aws.botocore_errors() as exc:
            if _not_found(exc):
                return None
            raise aws.store_error(exc, f"read {self.url_of(key)}") from exc

    def chunks(self, key: str, version: str | None = None) -> Iterator[bytes]:
        extra = {"IfMatch": f'"{version}"'} if version else {}
        try:
            body = self._s3().get_object(Bucket=self.location.bucket, Key=self._key(key), **extra)
            yield from body["Body"].iter_chunks(CHUNK)
        except aws.botocore_errors() as exc:
            if version and (aws.http_status(exc) == 412 or _not_found(exc)):
                raise FileChangedError(f"{key} changed or went away while being read") from exc
            raise aws.store_error(exc, f"read {self.url_of(key)}") from exc

    def get(self, key: str) -> bytes | None:
        """The whole object (one buffer: no list of chunks joined into a second copy)."""
        try:
            answer = self._s3().get_object(Bucket=self.location.bucket, Key=self._key(key))
            return answer["Body"].read()
        except aws.botocore_errors() as exc:
            if _not_found(exc):
                return None
            raise aws.store_error(exc, f"read {self.url_of(key)}") from exc

    def _existing(self, key: str, sha: str, size: int) -> bool:
        found = self.head(key)
        if found is None:
            return False
        if found["ContentLength"] != size or found.get("Metadata", {}).get(SHA_METADATA) != sha:
            raise ArchiveCorrupted(f"archive entry {self.url_of(key)} does not match sha256 {sha}")
        return True

    def write_once(self, source: Store, entry: Entry, key_for: Callable[[str], str]) -> Stored:
        """Read once to hash; then a server-side copy pinned to the hashed version (another
        bucket object), or an upload with If-None-Match (a local file)."""
        sha, size = hash_chunks(source.chunks(entry.key, entry.version))
        key = key_for(sha)
        if not self._existing(key, sha, size):
            if isinstance(source, S3Store):
                self._copy_in(source, entry, key, sha)
            else:
                self._upload_once(source.local_path(entry.key), key, sha, size)
        return Stored(self.url_of(key), sha, size)

    def _copy_in(self, source: S3Store, entry: Entry, key: str, sha: str) -> None:
        try:
            self._s3().copy(
                {"Bucket": source.location.bucket, "Key": source._key(entry.key)},
                self.location.bucket,
                self._key(key),
                ExtraArgs={
                    "CopySourceIfMatch": f'"{entry.version}"',
                    "Metadata": {SHA_METADATA: sha},
                    "MetadataDirective": "REPLACE",
                },
            )
        except aws.botocore_errors() as exc:
            if aws.http_status(exc) == 412:
                raise FileChangedError(f"{entry.key} changed while being archived") from exc
            raise aws.store_error(exc, f"copy to {self.url_of(key)}") from exc

    def _upload_once(self, path: Path, key: str, sha: str, size: int) -> None:
        client, full = self._s3(), self._key(key)
        try:
            if size <= SINGLE_PUT_BYTES:
                with path.open("rb") as body:
                    client.put_object(
                        Bucket=self.location.bucket,
                        Key=full,
                        Body=body,
                        IfNoneMatch="*",
                        Metadata={SHA_METADATA: sha},
                    )
            else:
                client.upload_file(
                    str(path),
                    self.location.bucket,
                    full,
                    ExtraArgs={"Metadata": {SHA_METADATA: sha}},
                )
        except aws.botocore_errors() as exc:
            if aws.http_status(exc) != 412:  # 412: someone stored it meanwhile
                raise aws.store_error(exc, f"write {self.url_of(key)}") from exc
            self._existing(key, sha, size)

    def entry_name(self, key: str) -> str:
        return key

    def name_of_entry(self, name: str) -> str:
        return name

    def lineage_name(self, key: str) -> str:
        """The object's whole key (the landing prefix included) names it in lineage."""
        return self._key(key)

    def key_of_name(self, original_name: str) -> str:
        if original_name.startswith(self.location.list_prefix):
            return self._relative(original_name)
        return original_name

    def local_path(self, key: str) -> Path:
        raise StoreError(f"{self.url_of(key)} is an object, not a local file")

    def put(self, key: str, data: bytes) -> None:
        try:
            self._s3().put_object(Bucket=self.location.bucket, Key=self._key(key), Body=data)
        except aws.botocore_errors() as exc:
            raise aws.store_error(exc, f"write {self.url_of(key)}") from exc

    def _upload(self, path: Path, key: str) -> None:
        """A local file over an object (multipart for big files)."""
        try:
            self._s3().upload_file(str(path), self.location.bucket, self._key(key))
        except aws.botocore_errors() as exc:
            raise aws.store_error(exc, f"write {self.url_of(key)}") from exc

    def delete(self, keys: list[str]) -> None:
        bucket = self.location.bucket
        full = [self._key(k) for k in keys]
        try:
            for start in range(0, len(full), 1000):
                batch = [{"Key": k} for k in full[start : start + 1000]]
                answer = self._s3().delete_objects(
                    Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
                )
                if answer.get("Errors"):
                    raise StoreError(f"could not delete from s3://{bucket}: {answer['Errors']}")
        except aws.botocore_errors() as exc:
            raise aws.store_error(exc, f"delete from s3://{bucket}") from exc

    def delete_if_unchanged(self, key: str, version: str) -> bool:
        """A conditional delete (If-Match); stores without one get a head-then-delete."""
        try:
            self._s3().delete_object(
                Bucket=self.location.bucket, Key=self._key(key), IfMatch=f'"{version}"'
            )
            return True
        except aws.botocore_errors() as exc:
            status = aws.http_status(exc)
            if status == 404 or aws.error_code(exc) == "NoSuchKey":
                return False
            if status == 412:
                return False  # replaced meanwhile: the newer version waits for the next run
            if status not in (400, 501):
                raise aws.store_error(exc, f"delete {self.url_of(key)}") from exc
        current = self.head(key)
        if current is None or current["ETag"].strip('"') != version:
            return False
        self.delete([key])
        return True

    # -- partition sets ---------------------------------------------------------------------

    def staging(self, label: str) -> Path:
        if self.scratch is None:
            raise StoreError(f"{self.url} has no local folder to stage partitions in")
        return self.scratch / label

    def publish(self, staged: Path, partition: str) -> None:
        """Each staged file over its key, then the keys the partition no longer has."""
        new = (
            sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
            if staged.is_dir()
            else []
        )
        old = [e.key for e in self.list(partition)]
        for relative in new:
            self._upload(staged / relative, f"{partition}/{relative}")
            crash_point("export:mid_swap")
        stale = sorted(set(old) - {f"{partition}/{r}" for r in new})
        self.delete(stale)
        shutil.rmtree(staged, ignore_errors=True)  # published: a killed export does not redo it

    def partitions(self) -> set[str]:
        return {e.key.split("/", 1)[0] for e in self.list() if "/" in e.key}

    def remove_partition(self, partition: str) -> None:
        self.delete([e.key for e in self.list(partition)])

    def child(self, prefix: str) -> S3Store:
        return S3Store(self.location.child(prefix), self.scratch, self.timeout)

    def url_of(self, key: str) -> str:
        return self.location.url(self._key(key))

    def duckdb_parquet_scan(self, con: Any) -> str:
        if not any(e.key.endswith(".parquet") for e in self.list()):
            return ""
        _configure_httpfs(con, self.timeout)
        return parquet_scan_sql(self.url.rstrip("/") + "/**/*.parquet")


def _configure_httpfs(con: Any, timeout: float) -> None:
    """DuckDB's httpfs, loaded from its PyPI wheel, with the AWS chain's credentials and
    endpoint in a temporary secret (this connection's memory only, never a file)."""
    import duckdb_extension_httpfs as wheel

    extension = next(Path(wheel.__file__).parent.glob("extensions/*/httpfs.*"))
    con.execute("load '" + str(extension).replace("'", "''") + "'")
    credentials = aws.session().get_credentials()
    if credentials is None:
        raise StoreError(
            "no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, or a role)"
        )
    frozen = credentials.get_frozen_credentials()
    options = {
        "key_id": frozen.access_key,
        "secret": frozen.secret_key,
        "region": aws.session().region_name or "us-east-1",
    }
    if frozen.token:
        options["session_token"] = frozen.token
    extra = ""
    custom_endpoint = aws.endpoint("s3")
    if custom_endpoint:
        parsed = urlparse(custom_endpoint)
        options["endpoint"] = parsed.netloc
        options["url_style"] = "path"
        extra = f", use_ssl {'true' if parsed.scheme == 'https' else 'false'}"
    body = ", ".join(f"{k} '{v.replace(chr(39), chr(39) * 2)}'" for k, v in options.items())
    con.execute(f"create or replace temporary secret smartmeter_s3 (type s3, {body}{extra})")
    con.execute(f"set http_retries = {aws.ATTEMPTS - 1}")
    con.execute(f"set http_timeout = {max(1, round(timeout))}")
