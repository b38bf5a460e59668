"""What the pipeline needs of a warehouse target, as one interface: a connection (Warehouse),
dlt's destination for the raw tables, the raw-table chores a target does its own way, the
Parquet archive's writer, and the environment dbt's sessions need. duckdb.py, postgres.py and
spark.py implement it; targets/__init__.py registers them by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from smartmeter.home import Home


class WarehouseUnavailable(Exception):
    """The warehouse cannot be reached or is locked: a transient failure, worth retrying."""


class NoDuckDBFile(Exception):
    """The warehouse is not in a DuckDB file here; the message says what reads it instead."""


class Warehouse(ABC):
    """A thin, portable wrapper: `execute`, `query`, `scalar`, transactions. SQL uses `%s`
    placeholders on every target."""

    def __init__(self, target: str, connection: Any, home: Home | None = None):
        self.target = target  # the target's name, as recorded in the ops tables
        self.connection = connection
        self.home = home

    @abstractmethod
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def _unavailable(self, exc: Exception) -> WarehouseUnavailable | None:
        """The transient form of a driver error, or None when it is not one."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]: ...

    def _guarded(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return self._fetch(sql, params)
        except Exception as exc:
            unavailable = self._unavailable(exc)
            if unavailable is not None:
                raise unavailable from exc
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._guarded(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._guarded(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def relation_exists(self, schema: str, name: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables "
                "where table_schema = %s and table_name = %s",
                (schema, name),
            )
        )

    @abstractmethod
    def replace_rows(self, relation: str, table: Any) -> None:
        """Replace every row of `relation` (schema.name, declared by the dbt project) with the
        rows of the Arrow `table` (its columns named as the relation's), all or nothing."""

    def refresh_lake(self) -> None:  # noqa: B027 (only a target with a lake has one)
        """Make tables written outside this connection visible to it."""

    def close(self) -> None:
        self.connection.close()


class Target(ABC):
    """One warehouse target."""

    name: str
    # dlt's file format for the raw loads (Parquet everywhere: binary COPY on PostgreSQL).
    loader_file_format = "parquet"

    @abstractmethod
    def connect(self, home: Home) -> Warehouse: ...

    @abstractmethod
    def duckdb_file(self, home: Home) -> Path:
        """The DuckDB file holding the warehouse's tables, or views of them (`smartmeter sql`
        opens it read-only); NoDuckDBFile where there is none."""

    def describe(self, home: Home) -> str:
        """Where the warehouse is, for people (no secret)."""
        return self.name

    def is_built(self, home: Home) -> bool:
        """False when no warehouse was ever created here (nothing to read yet)."""
        return True

    @contextmanager
    def connected(self, home: Home) -> Iterator[Warehouse]:
        warehouse = self.connect(home)
        try:
            yield warehouse
        finally:
            warehouse.close()

    @abstractmethod
    def dlt_destination(self, home: Home, warehouse: Warehouse) -> object:
        """Where dlt loads the raw tables."""

    def delete_raw_rows(self, warehouse: Warehouse, sha256s: list[str], tables: list[str]) -> None:
        """Remove these files' rows from the raw tables (a killed load's leftovers, a file set
        aside by isolation.py)."""
        marks = ", ".join(["%s"] * len(sha256s))
        for table in tables:
            if warehouse.relation_exists("raw", table):
                warehouse.execute(
                    f"delete from raw.{table} where _file_sha256 in ({marks})", sha256s
                )

    def after_raw_load(self, home: Home, schemas: dict) -> None:  # noqa: B027
        """Make every declared raw table readable after a load (some may have had no file)."""

    def hold_back(self, warehouse: Warehouse, sha256s: list[str]) -> None:  # noqa: B027
        """Tell the build which files to leave out (isolation.py's probes), beyond the ops
        table every target reads."""

    @abstractmethod
    def archive_writer(self, home: Home) -> AbstractContextManager[Any]:
        """The Parquet archive's writer (targets.archive.ArchiveWriter), open while used."""

    def dbt_env(self, env: dict[str, str]) -> dict[str, str]:
        """The environment dbt's sessions on this target need, from the given one."""
        return env

    def before_dbt(self, home: Home) -> None:  # noqa: B027 (most targets need nothing)
        """What must be on disk before dbt starts on this home."""
