"""Connections to the warehouse of a target (the names callers use; each target's own code is
in smartmeter/targets)."""

from smartmeter.settings import PostgresSettings
from smartmeter.targets import TARGETS, Warehouse, WarehouseUnavailable, connect, connected
from smartmeter.targets.duckdb import connect_duckdb

__all__ = [
    "TARGETS",
    "PostgresSettings",
    "Warehouse",
    "WarehouseUnavailable",
    "connect",
    "connect_duckdb",
    "connected",
]
