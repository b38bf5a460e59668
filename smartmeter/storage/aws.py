"""The AWS clients (S3, SQS, SNS) from the standard chain only (AWS_ACCESS_KEY_ID..., ~/.aws,
instance roles; AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_<SERVICE> for MinIO, Ceph, R2 ...):
nothing secret is ever written by this project.

Every call is retried by botocore (standard mode: 5xx, throttling, timeouts and refused
connections) up to 3 attempts in all with exponential backoff; what still fails raises
StoreError, which fails the run cleanly (nothing is removed before it is safely stored).
"""

from __future__ import annotations

import os
from functools import cache

from smartmeter.storage.base import StoreError

ATTEMPTS = 3
DEFAULT_TIMEOUT_SECONDS = 30.0


def endpoint(service: str) -> str | None:
    """The custom endpoint botocore itself takes from the AWS chain's variables."""
    return os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ.get(
        "AWS_ENDPOINT_URL"
    )


def _config(service: str, timeout: float):
    from botocore.config import Config

    return Config(
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        connect_timeout=min(timeout, 10),
        read_timeout=timeout,
        # S3-compatible stores (MinIO, Ceph, moto) need path-style addressing on a custom
        # endpoint; AWS itself accepts it too.
        s3={"addressing_style": "path"} if service == "s3" and endpoint("s3") else {},
    )


@cache
def session():
    import boto3

    return boto3.session.Session()


def client(service: str, region: str | None = None, timeout: float = DEFAULT_TIMEOUT_SECONDS):
    """A boto3 client from the standard chain (botocore reads AWS_ENDPOINT_URL[_<SERVICE>])."""
    aws = session()
    return aws.client(
        service,
        region_name=region or aws.region_name or "us-east-1",
        config=_config(service, timeout),
    )


@cache
def s3(timeout: float = DEFAULT_TIMEOUT_SECONDS):
    return client("s3", timeout=timeout)


def reset() -> None:
    """Forget the cached session and client (after the environment changed)."""
    session.cache_clear()
    s3.cache_clear()


# Answers that say the store is busy or away, not that the request is wrong.
BUSY_CODES = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "ServiceUnavailable",
}


def store_error(exc: Exception, what: str) -> StoreError:
    where = endpoint("s3") or "AWS"
    return StoreError(
        f"object store ({where}) failed to {what} after {ATTEMPTS} attempts: {exc}",
        outage=is_unreachable(exc),
    )


def is_unreachable(exc: Exception) -> bool:
    """The store did not answer, or answered that it is busy or failing (5xx)."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    return http_status(exc) >= 500 or error_code(exc) in BUSY_CODES


def botocore_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError)


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def http_status(exc: Exception) -> int:
    response = getattr(exc, "response", None) or {}
    return int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
