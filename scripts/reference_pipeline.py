"""The benchmark's yardstick: one hand-written DuckDB SQL pipeline doing the core of the job.

It reads the canonical CSVs, converts units to kW, drops unparseable / negative / off-grid /
out-of-range rows, keeps exact duplicates once and drops conflicting ones, interpolates gaps of
up to 120 minutes, and exports the readings to hive-partitioned Parquet in the requested scheme.
In memory, no lineage, no audit, no tests, no analytics: about as fast as this machine can do
the job, so `smartmeter run` is measured against it (scripts/benchmark.py).

Usage: python scripts/reference_pipeline.py OUT_DIR CSV [CSV ...] [--scheme date/meter_id]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import duckdb

TRANSFORM = """
create table parsed as
select
    meter_id,
    try_strptime(trim("timestamp"), '%Y-%m-%dT%H:%M:%SZ') as start_at,
    try_cast(trim(value) as double) as value,
    lower(replace(trim(unit), ' ', '')) as unit,
    coalesce(try_cast(interval_minutes as integer), 30) as minutes
from read_csv({files}, header = true, all_varchar = true);

create table valid as
select
    meter_id,
    start_at,
    minutes,
    case unit
        when 'w' then value / 1000
        when 'kw' then value
        when 'mw' then value * 1000
        when 'wh' then value / 1000 * 60 / minutes
        when 'kwh' then value * 60 / minutes
        when 'mwh' then value * 1000 * 60 / minutes
    end as kw
from parsed
where
    start_at >= timestamp '2000-01-01'
    and start_at <= now()::timestamp
    and value >= 0
    and unit in ('w', 'kw', 'mw', 'wh', 'kwh', 'mwh')
    and epoch(start_at)::bigint % (minutes * 60) = 0;

create table deduplicated as
select meter_id, start_at, any_value(minutes) as minutes, any_value(kw) as kw
from valid
group by meter_id, start_at
having min(round(kw, 6)) = max(round(kw, 6));

create table readings as
with ordered as (
    select
        *,
        lag(start_at) over w as previous_at,
        lag(kw) over w as previous_kw
    from deduplicated
    window w as (partition by meter_id order by start_at)
),
gaps as (
    select
        meter_id, previous_at, start_at, previous_kw, kw, minutes,
        date_diff('minute', previous_at, start_at) as span
    from ordered
    where date_diff('minute', previous_at, start_at) between minutes + 1 and 120 + minutes
),
points as (
    select
        meter_id,
        previous_at + to_minutes(minutes * k) as start_at,
        minutes,
        previous_kw + (kw - previous_kw) * minutes * k / span as kw,
        true as is_estimated
    from gaps, range(1, 121) as steps (k)
    where minutes * k < span
)
select meter_id, start_at, minutes, kw, false as is_estimated from deduplicated
union all
select * from points;
"""

EXPORT_COLUMNS = (
    "meter_id, start_at, start_at + to_minutes(minutes) as end_at, minutes, kw, "
    "kw * minutes / 60 as kwh, is_estimated, start_at::date as reading_date"
)


def export(con: duckdb.DuckDBPyConnection, out: Path, scheme: str) -> None:
    """One COPY per partition unit (a date, or a month): a single COPY partitioned by date and
    meter stalls beyond ~100k partitions."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if scheme == "month/meter_id":
        units = con.sql("select distinct date_trunc('month', start_at)::date from readings")
        for (month,) in sorted(units.fetchall()):
            con.execute(
                f"copy (select {EXPORT_COLUMNS} from readings where date_trunc('month', start_at)"
                f" = '{month}' order by meter_id, start_at) to '{out}/reading_month={month:%Y-%m}'"
                " (format parquet, partition_by (meter_id), write_partition_columns true)"
            )
        return
    for (day,) in sorted(con.sql("select distinct start_at::date from readings").fetchall()):
        select = f"select {EXPORT_COLUMNS} from readings where start_at::date = '{day}'"
        if scheme == "date":
            folder = out / f"reading_date={day}"
            folder.mkdir()
            con.execute(
                f"copy ({select} order by meter_id, start_at) to '{folder}/data_0.parquet' "
                "(format parquet)"
            )
        else:
            con.execute(
                f"copy ({select}) to '{out}/reading_date={day}' "
                "(format parquet, partition_by (meter_id), write_partition_columns true)"
            )


def run(files: list[Path], out: Path, scheme: str = "date/meter_id") -> dict[str, float]:
    """The whole reference job; returns seconds per part and rows exported."""
    con = duckdb.connect()
    started = time.perf_counter()
    file_list = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    con.execute(TRANSFORM.format(files=file_list))
    transformed = time.perf_counter()
    export(con, out, scheme)
    done = time.perf_counter()
    rows = con.sql("select count(*) from readings").fetchone()[0]
    con.close()
    return {
        "transform_seconds": transformed - started,
        "export_seconds": done - transformed,
        "seconds": done - started,
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--scheme", default="date/meter_id")
    args = parser.parse_args()
    print(run(args.files, args.out, args.scheme))


if __name__ == "__main__":
    main()
