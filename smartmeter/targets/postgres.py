"""PostgreSQL. Connection settings come only from the standard libpq variables (PGHOST, PGPORT,
PGUSER, PGPASSWORD, PGDATABASE; smartmeter.settings.PostgresSettings), defaulting to
127.0.0.1:5432, user postgres, database test; nothing secret is ever written to a file."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import duckdb
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.destinations.impl.postgres.configuration import (
    PostgresClientConfiguration,
    PostgresCredentials,
)

from smartmeter.home import Home
from smartmeter.targets.archive import DuckDBWriter, RemoteTable, archive_columns, sql_path
from smartmeter.targets.base import NoDuckDBFile, Target, Warehouse, WarehouseUnavailable
from smartmeter.targets.duckdb import connect_duckdb


def postgres_session_options(given: str) -> str:
    """libpq's PGOPTIONS for dbt's sessions: JIT off, unless the user's PGOPTIONS says
    otherwise. PostgreSQL compiles a query whose estimated cost is high (every model and many
    tests here) to machine code first; for the project's wide queries that took longer than
    running them (int_readings_validated on one more day of M: 13.2 s of compiling, 1.9 s of
    work)."""
    if re.search(r"(^|\s)(-c\s*|--)jit=", given):
        return given
    return f"{given} -c jit=off".strip()


@configspec(init=False)
class LibpqCredentials(PostgresCredentials):
    """dlt's PostgreSQL credentials with the password optional, as libpq has it (trust
    authentication, ~/.pgpass or PGPASSWORD)."""

    password: TSecretStrValue | None = None


@configspec
class LibpqClientConfiguration(PostgresClientConfiguration):
    credentials: LibpqCredentials = None


class LibpqPostgres(dlt.destinations.postgres):
    spec = LibpqClientConfiguration


class PostgresWarehouse(Warehouse):
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def _unavailable(self, exc: Exception) -> WarehouseUnavailable | None:
        import psycopg

        if isinstance(exc, psycopg.OperationalError | psycopg.errors.AdminShutdown):
            return WarehouseUnavailable(f"PostgreSQL is unavailable: {exc}".strip())
        return None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.connection.transaction():
            yield

    def replace_rows(self, relation: str, table: Any) -> None:
        names = ", ".join(table.schema.names)
        with self.transaction():
            self.execute(f"delete from {relation}")
            copy_sql = f"copy {relation} ({names}) from stdin"
            with self.connection.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in zip(*(column.to_pylist() for column in table.columns), strict=True):
                    copy.write_row(row)


def _postgres_scanner(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB's postgres scanner from its PyPI wheel (no extension downloads offline)."""
    import duckdb_extension_postgres_scanner as wheel

    extension = next(Path(wheel.__file__).parent.glob("extensions/*/postgres_scanner.*"))
    con.execute(f"load '{sql_path(extension)}'")


class PostgresTarget(Target):
    name = "postgres"

    def connect(self, home: Home) -> Warehouse:
        import psycopg

        settings = home.settings.postgres
        try:
            conn = psycopg.connect(settings.url(), autocommit=True, connect_timeout=5)
        except psycopg.OperationalError as exc:
            raise WarehouseUnavailable(
                f"cannot connect to PostgreSQL at {settings.describe()}: {exc}".strip()
            ) from exc
        return PostgresWarehouse(self.name, conn, home)

    def describe(self, home: Home) -> str:
        return f"{self.name} ({home.settings.postgres.describe()})"

    def duckdb_file(self, home: Home) -> Path:
        raise NoDuckDBFile(
            "the warehouse is in PostgreSQL: use psql "
            '"host=$PGHOST dbname=$PGDATABASE user=$PGUSER" (the same schemas: raw, ops, marts)'
        )

    def dlt_destination(self, home: Home, warehouse: Warehouse) -> object:
        credentials = LibpqCredentials()
        credentials.parse_native_representation(home.settings.postgres.url())
        return LibpqPostgres(credentials=credentials)

    @contextmanager
    def archive_writer(self, home: Home) -> Iterator[DuckDBWriter]:
        """DuckDB writes the files, reading PostgreSQL through the postgres scanner and asking
        it only for the days to write."""
        con = connect_duckdb(home)
        try:
            _postgres_scanner(con)
            try:
                con.execute(f"attach '{home.settings.postgres.dsn()}' as warehouse (type postgres)")
            except duckdb.Error as exc:
                raise WarehouseUnavailable(
                    f"cannot attach PostgreSQL for the export: {exc}"
                ) from exc
            yield DuckDBWriter(
                con,
                archive_columns(home),
                source="warehouse.marts.fct_readings",
                queue="warehouse.intermediate.parquet_export_queue",
                remote=RemoteTable("warehouse", "marts.fct_readings"),
            )
        finally:
            con.close()

    def dbt_env(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "PGOPTIONS": postgres_session_options(env.get("PGOPTIONS", ""))}
