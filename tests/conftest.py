"""Shared test fixtures: data homes, the CLI as a subprocess, the real data, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).with_name("fixtures")
REAL_DATA = REPO.parent / "shared" / "data" / "real"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
# AWS settings for moto: nothing from the machine's own chain.
AWS_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@contextmanager
def moto_server() -> Iterator[str]:
    """A real S3/SQS/SNS HTTP API on loopback (moto's server mode); yields its endpoint."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTMETER_")}
    env.update(
        DBT_PROFILES_DIR=str(REPO),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        RUNTIME__DLTHUB_TELEMETRY="false",
        # Spark's driver on the tests' small data: the quick JIT alone (docs/scaling.md).
        SMARTMETER_SPARK_JAVA_OPTIONS="-XX:TieredStopAtLevel=1",
    )
    env.update(extra)
    return env


def hang_timeout(args: tuple[str, ...], default: float) -> float:
    """Seconds after which a CLI command counts as hung (a timeout, not a speed target): a Spark
    build on two cores shared with another test worker can take a quarter of an hour."""
    return 2700 if "spark" in args else default


def run_cli(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `smartmeter --home HOME ARGS...` as a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "smartmeter.cli", "--home", str(home), *args],
        cwd=REPO,
        env=cli_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout or hang_timeout(args, 900),
    )


UNIT = Path(__file__).with_name("unit")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    (root / "landing").mkdir(parents=True)
    return root


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"the shared real data is not here ({REAL_DATA}); it is not part of a clone")
    return REAL_DATA


def real_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.csv") if p.is_file())


def land(home: Path, *files: Path, names: list[str] | None = None) -> list[Path]:
    """Copy files into landing/ the way a sender should: a temporary name, then a rename."""
    placed = []
    for i, source in enumerate(files):
        name = names[i] if names else source.name
        partial = home / "landing" / f".{name}.partial"
        shutil.copyfile(source, partial)
        final = home / "landing" / name
        partial.rename(final)
        placed.append(final)
    return placed


def sample_files(folder: Path, layouts: str = "canonical,wide,cumulative") -> list[Path]:
    """A small generated sample (6 meters, 4 days) in `folder`, in the given layouts."""
    subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts/generate_sample_data.py"),
            "--out",
            str(folder),
            "--meters",
            "6",
            "--days",
            "4",
            "--layouts",
            layouts,
        ],
        check=True,
        capture_output=True,
    )
    return sorted(folder.glob("*.csv"))


def duck(home: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)


def home_after_one_run(tmp_path_factory, name: str, write_landing) -> Path:
    """A data home whose landing `write_landing(folder)` filled, after one `smartmeter run`."""
    home = tmp_path_factory.mktemp(name) / "home"
    write_landing(home / "landing")
    result = run_cli(home, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    return home


def q(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query on a home's DuckDB warehouse (read-only)."""
    with duck(home) as con:
        return con.execute(sql, params or []).fetchall()


def count_data_lines(path: Path, has_header: bool) -> int:
    """An independent count of a file's data lines: non-blank lines, less the header."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        import gzip

        data = gzip.decompress(data)
    lines = [line for line in data.split(b"\n") if line.strip(b"\r")]
    return len(lines) - (1 if has_header else 0)


@pytest.fixture
def pg_env() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database on the shared server, dropped afterwards."""
    name = f"smartmeter_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        yield {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres", "PGDATABASE": name}
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def pg_connect(env: dict[str, str]) -> psycopg.Connection:
    return psycopg.connect(
        f"postgresql://{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}/{env['PGDATABASE']}",
        autocommit=True,
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test outside tests/unit is end to end (`make pytest` runs them: -m e2e; it runs
    before pytest's own selection by marker, hence tryfirst). The Spark tests (minutes of
    planning on a small machine) go first: with pytest-xdist (`make test` runs two workers)
    the other worker takes every other file meanwhile."""
    for item in items:
        if UNIT not in item.path.parents:
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.get_closest_marker("spark") is None)
