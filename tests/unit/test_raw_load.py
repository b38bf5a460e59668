"""The raw load's resources, in process against a real dlt pipeline on DuckDB: after the first
load declared every raw table, a batch leaves out the tables it has no rows for (no empty file
per table and load on Spark's lake), unless the destination lacks the table or a column of it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import dlt
import duckdb
import pyarrow as pa

from dlt_pipelines import raw_load


def test_a_batch_leaves_out_the_tables_the_destination_has_and_it_has_no_rows_for(tmp_path: Path):
    database = tmp_path / "warehouse.duckdb"
    pipeline = raw_load.make_pipeline(
        tmp_path / "dlt", dlt.destinations.duckdb(str(database)), "duckdb"
    )
    every_table = {r.name for r in raw_load.raw_resources([])}
    assert raw_load.declared_in(pipeline, {})("canonical", raw_load.empty_table([])) is False

    raw_load.load(pipeline, [], "parquet")  # the first load declares every table
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'raw'"
        ).fetchall()
    existing: dict[str, set[str]] = {}
    for table, column in rows:
        existing.setdefault(table, set()).add(column)
    assert set(existing) >= every_table

    declared = raw_load.declared_in(pipeline, existing)
    assert [r.name for r in raw_load.raw_resources([], declared=declared)] == ["layouts"]

    # a table the destination lacks, or lacks a declared column of, is loaded (created, widened)
    existing.pop("nem12")
    existing["canonical"] = {c for c in existing["canonical"] if c != "_source_line"}
    declared = raw_load.declared_in(pipeline, existing)
    names = {r.name for r in raw_load.raw_resources([], declared=declared)}
    assert names == {"layouts", "nem12", "canonical"}


def test_a_big_postgres_load_is_split_into_about_one_copy_per_stream():
    def table_of(raw_table: str, rows: int):
        return SimpleNamespace(
            layout=SimpleNamespace(raw_table=raw_table), rows=pa.table({"a": pa.nulls(rows)})
        )

    batch = [table_of("canonical", 600_000), table_of("canonical", 400_000), table_of("nem12", 10)]
    assert raw_load.rows_per_copy(batch, 1) == 1_000_000
    assert raw_load.rows_per_copy(batch, 3) == 333_334  # three files, none left over
    assert raw_load.rows_per_copy(batch, 16) == raw_load.MIN_ROWS_PER_COPY  # small stays whole
