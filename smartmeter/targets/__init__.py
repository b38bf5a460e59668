"""The warehouse targets, registered by name in one place: each is a Target (base.py) with its
connection, dlt destination, raw-table chores, Parquet archive writer and dbt environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from smartmeter.home import Home
from smartmeter.targets.base import Target, Warehouse, WarehouseUnavailable
from smartmeter.targets.duckdb import DuckDBTarget
from smartmeter.targets.postgres import PostgresTarget
from smartmeter.targets.spark import SPARK

REGISTRY: dict[str, Target] = {t.name: t for t in (DuckDBTarget(), PostgresTarget(), SPARK)}
TARGETS = tuple(REGISTRY)

__all__ = ["TARGETS", "Target", "Warehouse", "WarehouseUnavailable", "connect", "connected", "get"]


def get(name: str) -> Target:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; choose one of {', '.join(TARGETS)}") from None


def connect(home: Home, target: str) -> Warehouse:
    return get(target).connect(home)


@contextmanager
def connected(home: Home, target: str) -> Iterator[Warehouse]:
    with get(target).connected(home) as warehouse:
        yield warehouse
