"""The new layout keys give the same answers on every store: Green Button downloads (gas rows
not selected, ranged local stamps, units from header text) and a vendor layout whose columns
are SQL reserved words (order, when, select, from), with a ranged stamp in one field, missing
tokens and clean-up, built on DuckDB and PostgreSQL here, and on Spark with the files of
tests/test_spark.py (one pair of Spark builds covers both)."""

from __future__ import annotations

import pytest
from conftest import duck, pg_connect
from layout_projects import project_copy, run_in
from test_layout_keys import VENDOR_LAYOUT, ZONES, hourly_download, write_green_button_landing
from test_parity_postgres import normalize

pytestmark = pytest.mark.slow

# Compared by file name: the stores load the same files.
ANSWERS = {
    "readings": "select split_part(source_file, '/', -1), meter_id, channel, "
    "cast(reading_start_at as varchar), interval_minutes, round(cast(kwh as numeric(28, 6)), 6), "
    "source_quality_flag from marts.fct_readings order by 1, 2, 3, 4",
    "quarantine": "select split_part(source_file, '/', -1), source_line, value_position, reason "
    "from marts.quarantined_readings order by 1, 2, 3",
    "balance": "select split_part(source_file, '/', -1), raw_rows, raw_values, published, "
    "quarantined, not_selected, is_balanced from marts.file_reading_balance order by 1",
    "preamble": "select split_part(_source_file, '/', -1), _source_line, key, value "
    "from raw.file_preamble order by 1, 2",
    "zones": "select meter_id, timezone from marts.dim_meters order by 1",
}


def write_landing(home) -> None:
    """The Green Button, vendor and block files, and downloads the home reads in its own zones
    across both US DST changes of 2024."""
    write_green_button_landing(home / "landing")
    (home / "layout_zones.yml").write_text(ZONES)
    fall = [0, 1, 1, *range(2, 24)]
    (home / "landing" / "chicago_fall.csv").write_text(hourly_download("CHI-1", "2024-11-03", fall))
    (home / "landing" / "chicago_spring.csv").write_text(
        hourly_download("CHI-2", "3/10/2024", [*range(24)])
    )
    (home / "landing" / "gas_and_electric.csv").write_text(GAS_AND_ELECTRIC)


# Electric and gas rows in one download, a missing token and an estimate in the notes: 4 rows,
# 4 values, 2 published, 1 quarantined (the "?"), 1 not selected (the gas row).
GAS_AND_ELECTRIC = (
    "Name,SAMPLE\nAccount Number,4711\n\n"
    "TYPE,DATE,START TIME,END TIME,USAGE,UNITS,COST,NOTES\n"
    "Electric usage,1/2/2024,0:00,00:59,1.25,kWh,$0.10,\n"
    "Natural gas usage,1/2/2024,00:00,23:59,2.5,therms,$3.00,\n"
    "Electric usage,1/2/2024,1:00,01:59,?,kWh,$0.10,\n"
    "Electric usage,1/2/2024,2:00,02:59,0.75,kWh,$0.10,Estimated\n"
)


def answers(con) -> dict[str, list[tuple]]:
    return {name: normalize(con.execute(sql).fetchall()) for name, sql in ANSWERS.items()}


@pytest.mark.postgres
def test_new_layout_keys_give_the_same_answers_on_duckdb_and_postgres(tmp_path, pg_env):
    project = project_copy(tmp_path, VENDOR_LAYOUT)
    homes = {target: tmp_path / target for target in ("duckdb", "postgres")}
    for target, home in homes.items():
        write_landing(home)
        result = run_in(project, home, "run", "--target", target, env=pg_env)
        assert result.returncode == 0, f"{target}: {result.stdout}{result.stderr}"
    with duck(homes["duckdb"]) as con, pg_connect(pg_env) as pg:
        expected = answers(con)
        assert len(expected["readings"]) > 300
        assert {row[-1] for row in expected["balance"]} == {True}
        assert sum(row[5] for row in expected["balance"]) > 0  # gas rows were not selected
        assert ("gas_and_electric.csv", 4, 4, 2, 1, 1, True) in expected["balance"]
        assert answers(pg) == expected
