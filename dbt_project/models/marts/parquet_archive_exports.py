"""The Parquet archive step inside `dbt build` on DuckDB.

It runs after fct_readings and its tests: an error-severity test failure skips it, so a failed
quality gate never reaches the archive. It writes the partitions fct_readings queued (see
smartmeter/export.py) and returns one row per partition written. On PostgreSQL this model is
disabled and `smartmeter export` does the same through DuckDB.
"""

from pathlib import Path

import pyarrow as pa

from smartmeter.export import export_queued


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("fct_readings")  # the archive follows the published readings (and their tests)
    report = export_queued(
        session,
        Path(dbt.config.get("parquet_root")),
        scheme=dbt.config.get("partition_scheme"),
    )
    return pa.table(
        {
            "partition": pa.array(report.partitions, pa.string()),
            "partition_scheme": pa.array(
                [dbt.config.get("partition_scheme")] * len(report.partitions), pa.string()
            ),
        }
    )
