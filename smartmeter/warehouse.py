"""Connections to the warehouse of a target: the embedded DuckDB file, PostgreSQL, or, for
Spark, the DuckDB control file beside its Parquet lake (smartmeter/spark_lake.py).

PostgreSQL settings come only from the standard libpq variables (PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGDATABASE), defaulting to 127.0.0.1:5432, user postgres, database test; nothing
secret is ever written to a file. SQL passed to `Warehouse` uses `%s` placeholders on both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import duckdb

from smartmeter.home import Home

TARGETS = ("duckdb", "postgres", "spark")
# DuckDB's memory cap, shared with dbt (profiles.yml): beyond it DuckDB spills to disk.
DUCKDB_MEMORY_LIMIT_ENV = "SMARTMETER_DUCKDB_MEMORY_LIMIT"
DUCKDB_MEMORY_LIMIT_DEFAULT = "2000MB"


def connect_duckdb(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection under the project's memory cap."""
    limit = os.environ.get(DUCKDB_MEMORY_LIMIT_ENV, DUCKDB_MEMORY_LIMIT_DEFAULT)
    return duckdb.connect(path, config={"memory_limit": limit})


class WarehouseUnavailable(Exception):
    """The warehouse cannot be reached or is locked: a transient failure, worth retrying."""


@dataclass(frozen=True)
class PostgresSettings:
    host: str
    port: int
    user: str
    password: str | None
    dbname: str

    @classmethod
    def from_env(cls) -> PostgresSettings:
        return cls(
            host=os.environ.get("PGHOST", "127.0.0.1"),
            port=int(os.environ.get("PGPORT", "5432")),
            user=os.environ.get("PGUSER", "postgres"),
            password=os.environ.get("PGPASSWORD") or None,
            dbname=os.environ.get("PGDATABASE", "test"),
        )

    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


class Warehouse:
    """A thin, portable wrapper: `execute`, `query`, `scalar`, transactions. On Spark it is a
    DuckDB connection whose lake views are refreshed when the lake's files change."""

    def __init__(self, target: str, connection: Any, home: Home | None = None):
        self.target = target
        self.connection = connection
        self.is_duckdb = target in ("duckdb", "spark")
        self.home = home
        self._lake_signature: tuple | None = None

    def _sql(self, sql: str) -> str:
        if self.target == "spark":
            self.refresh_lake()
        return re.sub(r"%s", "?", sql) if self.is_duckdb else sql

    def refresh_lake(self) -> None:
        """(Spark) Recreate the lake views if the lake's files changed since the last look."""
        from smartmeter import spark_lake

        signature = spark_lake.lake_signature(self.home)
        if signature != self._lake_signature:
            spark_lake.refresh_views(self.connection, self.home)
            self._lake_signature = signature

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        try:
            if self.is_duckdb:
                self.connection.execute(self._sql(sql), list(params))
            else:
                with self.connection.cursor() as cur:
                    cur.execute(sql, params)
        except Exception as exc:
            _raise_if_unavailable(exc)
            raise

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            if self.is_duckdb:
                return self.connection.execute(self._sql(sql), list(params)).fetchall()
            with self.connection.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        except Exception as exc:
            _raise_if_unavailable(exc)
            raise

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def relation_exists(self, schema: str, name: str) -> bool:
        if self.target == "spark":
            self.refresh_lake()
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables "
                "where table_schema = %s and table_name = %s",
                (schema, name),
            )
        )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.is_duckdb:
            self.connection.execute("begin transaction")
            try:
                yield
            except BaseException:
                self.connection.execute("rollback")
                raise
            self.connection.execute("commit")
        else:
            with self.connection.transaction():
                yield

    def close(self) -> None:
        self.connection.close()


def _raise_if_unavailable(exc: Exception) -> None:
    import psycopg

    if isinstance(exc, psycopg.OperationalError | psycopg.errors.AdminShutdown):
        raise WarehouseUnavailable(f"PostgreSQL is unavailable: {exc}".strip()) from exc
    if isinstance(exc, duckdb.IOException):
        raise WarehouseUnavailable(f"the DuckDB warehouse is unavailable: {exc}") from exc


def connect(home: Home, target: str) -> Warehouse:
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if target == "spark":
        from smartmeter import spark_lake

        path = spark_lake.control_path(home)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return Warehouse(target, connect_duckdb(str(path)), home)
        except duckdb.IOException as exc:
            raise WarehouseUnavailable(
                f"cannot open {path}: {exc} (is another process using it?)"
            ) from exc
    if target == "duckdb":
        try:
            return Warehouse(target, connect_duckdb(str(home.warehouse)))
        except duckdb.IOException as exc:
            raise WarehouseUnavailable(
                f"cannot open {home.warehouse}: {exc} (is another process using it?)"
            ) from exc
    import psycopg

    settings = PostgresSettings.from_env()
    try:
        conn = psycopg.connect(settings.url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise WarehouseUnavailable(
            f"cannot connect to PostgreSQL at {settings.describe()}: {exc}".strip()
        ) from exc
    return Warehouse(target, conn)


@contextmanager
def connected(home: Home, target: str) -> Iterator[Warehouse]:
    warehouse = connect(home, target)
    try:
        yield warehouse
    finally:
        warehouse.close()
