"""The embedded DuckDB warehouse (`<home>/warehouse.duckdb`), the default target."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
import duckdb

from smartmeter.home import Home
from smartmeter.targets.archive import DuckDBWriter, archive_columns
from smartmeter.targets.base import Target, Warehouse, WarehouseUnavailable


def connect_duckdb(home: Home, path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection under the project's memory cap (shared with dbt: profiles.yml);
    beyond it DuckDB spills to disk."""
    return duckdb.connect(path, config={"memory_limit": home.settings.duckdb_memory_limit})


def open_file(home: Home, path) -> duckdb.DuckDBPyConnection:
    try:
        return connect_duckdb(home, str(path))
    except duckdb.IOException as exc:
        raise WarehouseUnavailable(
            f"cannot open {path}: {exc} (is another process using it?)"
        ) from exc


class DuckDBWarehouse(Warehouse):
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.connection.execute(re.sub(r"%s", "?", sql), list(params)).fetchall()

    def _unavailable(self, exc: Exception) -> WarehouseUnavailable | None:
        if isinstance(exc, duckdb.IOException):
            return WarehouseUnavailable(f"the DuckDB warehouse is unavailable: {exc}")
        return None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.connection.execute("begin transaction")
        try:
            yield
        except BaseException:
            self.connection.execute("rollback")
            raise
        self.connection.execute("commit")

    def replace_rows(self, relation: str, table: Any) -> None:
        names = ", ".join(table.schema.names)
        with self.transaction():
            self.execute(f"delete from {relation}")
            self.connection.register("replacement_rows", table)
            try:
                self.connection.execute(
                    f"insert into {relation} ({names}) select {names} from replacement_rows"
                )
            finally:
                self.connection.unregister("replacement_rows")


class DuckDBTarget(Target):
    name = "duckdb"

    def connect(self, home: Home) -> Warehouse:
        return DuckDBWarehouse(self.name, open_file(home, home.warehouse), home)

    def duckdb_file(self, home: Home) -> Path:
        return home.warehouse

    def describe(self, home: Home) -> str:
        return f"{self.name} ({home.warehouse})"

    def is_built(self, home: Home) -> bool:
        return home.warehouse.exists()

    def dlt_destination(self, home: Home, warehouse: Warehouse) -> object:
        return dlt.destinations.duckdb(warehouse.connection)

    def dbt_env(self, env: dict[str, str]) -> dict[str, str]:
        # dbt runs in the data home (dbt_runner.py): the same relative path in every home keeps
        # the profile, and so dbt's parse, the same.
        return {**env, "SMARTMETER_DUCKDB_PATH": "warehouse.duckdb"}

    @contextmanager
    def archive_writer(self, home: Home) -> Iterator[DuckDBWriter]:
        con = connect_duckdb(home, str(home.warehouse))
        try:
            yield DuckDBWriter(con, archive_columns(home))
        finally:
            con.close()
