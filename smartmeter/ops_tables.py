"""The operational tables in schema `ops` (same DDL on DuckDB and PostgreSQL).

ops.file_manifest   one row per delivery: what arrived, its checksum, what became of it
ops.dead_letters    files or batches that could not be processed, and why
ops.alerts          critical problems raised, and when each sink got them
ops.pipeline_runs   one row per run: trigger, timing, status, counts per step
"""

from __future__ import annotations

from smartmeter.warehouse import Warehouse

DDL = (
    "create schema if not exists ops",
    """
    create table if not exists ops.file_manifest (
        delivery_id varchar primary key,
        original_name varchar not null,
        sha256 varchar not null,
        bytes bigint not null,
        received_at timestamp with time zone not null,
        archive_path varchar not null,
        layout varchar,
        status varchar not null,
        load_id varchar,
        data_rows bigint,
        detail varchar,
        load_attempts integer not null,
        run_id varchar,
        updated_at timestamp with time zone not null
    )
    """,
    """
    create table if not exists ops.dead_letters (
        dead_letter_id varchar primary key,
        original_name varchar not null,
        sha256 varchar,
        delivery_id varchar,
        stage varchar not null,
        error_class varchar not null,
        reason varchar not null,
        message varchar not null,
        attempts integer not null,
        first_attempt_at timestamp with time zone not null,
        last_attempt_at timestamp with time zone not null,
        dlq_path varchar not null,
        status varchar not null,
        replayed_at timestamp with time zone,
        run_id varchar
    )
    """,
    """
    create table if not exists ops.alerts (
        alert_id varchar primary key,
        dedupe_key varchar not null,
        kind varchar not null,
        severity varchar not null,
        subject varchar not null,
        message varchar not null,
        raised_at timestamp with time zone not null,
        delivered_at timestamp with time zone,
        resolved_at timestamp with time zone,
        delivery_attempts integer not null,
        last_delivery_error varchar,
        run_id varchar
    )
    """,
    """
    create table if not exists ops.pipeline_runs (
        run_id varchar primary key,
        trigger varchar not null,
        target varchar not null,
        started_at timestamp with time zone not null,
        finished_at timestamp with time zone,
        status varchar not null,
        counts varchar,
        error varchar
    )
    """,
)


def ensure_ops_tables(warehouse: Warehouse) -> None:
    for statement in DDL:
        warehouse.execute(statement)
