"""Fast in-process tests: no CLI subprocess, no dbt. A folder store on tmp_path and a bucket
store on moto's server (127.0.0.1), interchangeably."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AWS_CREDENTIALS, moto_server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new bucket, with the process's AWS settings pointing at moto."""
    from smartmeter.storage import aws

    for name, value in {**AWS_CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    aws.reset()
    name = f"unit-{uuid.uuid4().hex[:12]}"
    aws.s3().create_bucket(Bucket=name)
    try:
        yield name
    finally:
        aws.reset()


@pytest.fixture(params=["folder", "bucket"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path):
    """make_store(prefix) -> a Store of the parametrized kind (distinct prefixes, one place)."""
    from smartmeter.storage import open_store

    if request.param == "folder":
        return lambda prefix: open_store(tmp_path / "place" / prefix, scratch=tmp_path / "scratch")
    name = request.getfixturevalue("bucket")
    return lambda prefix: open_store(f"s3://{name}/{prefix}", scratch=tmp_path / "scratch")
