"""Settings are resolved once: a flag over the environment over the default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smartmeter import targets
from smartmeter.dbt_runner import dbt_env
from smartmeter.home import Home
from smartmeter.places import home_places
from smartmeter.settings import PostgresSettings, Settings
from smartmeter.storage import FolderStore, S3Store


def test_a_flag_wins_over_the_environment_which_wins_over_the_default():
    env = {"SMARTMETER_TARGET": "postgres", "SMARTMETER_PARQUET_URL": "s3://b/p"}
    assert Settings.resolve({}, {}).target == "duckdb"
    assert Settings.resolve({}, env).target == "postgres"
    assert Settings.resolve({"target": "spark"}, env).target == "spark"
    assert Settings.resolve({"target": None}, env).target == "postgres"  # a flag not given
    assert Settings.resolve({"parquet_url": "/srv/p"}, env).parquet_url == "/srv/p"
    assert Settings.resolve({}, {"SMARTMETER_S3_TIMEOUT_SECONDS": "2.5"}).s3_timeout_seconds == 2.5


def test_dbt_on_spark_runs_a_thread_per_usable_core_unless_the_user_says(tmp_path: Path):
    cores = len(os.sched_getaffinity(0))
    assert Settings.resolve({}, {}).spark_threads == cores
    assert Settings.resolve({}, {"SMARTMETER_SPARK_THREADS": "8"}).spark_threads == 8
    home = Home(tmp_path, Settings.resolve({}, {"SMARTMETER_SPARK_THREADS": "3"}))
    env = dbt_env(home, targets.get("spark"))
    assert env["SMARTMETER_SPARK_THREADS"] == "3"  # what profiles.yml's spark output reads


def test_postgres_settings_come_from_libpq_variables_and_keep_the_password_out_of_reprs():
    pg = PostgresSettings.from_env({"PGHOST": "db", "PGPORT": "6543", "PGPASSWORD": "s e/cret"})
    assert (pg.host, pg.port, pg.user, pg.dbname) == ("db", 6543, "postgres", "test")
    assert pg.url() == "postgresql://postgres:s%20e%2Fcret@db:6543/test"
    assert "cret" not in repr(pg) and "cret" not in pg.describe() and "cret" not in pg.dsn()


def test_the_places_follow_the_settings_passed_with_the_home(tmp_path: Path):
    home = Home(tmp_path, Settings(parquet_url="s3://meters/parquet"))
    places = home_places(home)
    assert isinstance(places.landing, FolderStore) and places.landing.url == str(
        tmp_path / "landing"
    )
    assert isinstance(places.readings, S3Store)
    assert places.readings.url == "s3://meters/parquet/readings"
    assert home.parquet == tmp_path / "parquet"  # the folder property stays the home's


def test_a_bad_number_is_refused_when_the_settings_are_resolved():
    with pytest.raises(ValueError):
        Settings.resolve({}, {"SMARTMETER_RETRY_BASE_SECONDS": "soon"})


def test_dbt_parse_cache_is_the_users_cache_folder_unless_set_or_switched_off():
    home_env = {"HOME": "/home/ann"}
    assert Settings.resolve({}, home_env).dbt_parse_cache == Path(
        "/home/ann/.cache/smartmeter/dbt-parse"
    )
    xdg = {**home_env, "XDG_CACHE_HOME": "/var/cache/ann"}
    assert Settings.resolve({}, xdg).dbt_parse_cache == Path("/var/cache/ann/smartmeter/dbt-parse")
    given = {**xdg, "SMARTMETER_DBT_PARSE_CACHE": "/srv/parse"}
    assert Settings.resolve({}, given).dbt_parse_cache == Path("/srv/parse")
    assert Settings.resolve({}, {"SMARTMETER_DBT_PARSE_CACHE": "off"}).dbt_parse_cache is None


def test_the_loaders_limits_are_settings_and_a_bad_one_is_named():
    cores = len(os.sched_getaffinity(0))
    defaults = Settings.resolve({}, {})
    assert (defaults.copy_streams, defaults.xml_max_bytes) == (cores, 100 * 1024 * 1024)
    assert (defaults.dlt_progress, defaults.crash_at) == (False, "")
    given = {
        "SMARTMETER_COPY_STREAMS": "6",
        "SMARTMETER_XML_MAX_BYTES": "5000",
        "SMARTMETER_DLT_PROGRESS": "1",
        "SMARTMETER_CRASH_AT": "ingest:after_archive",
    }
    settings = Settings.resolve({}, given)
    assert (settings.copy_streams, settings.xml_max_bytes) == (6, 5000)
    assert (settings.dlt_progress, settings.crash_at) == (True, "ingest:after_archive")
    assert Settings.resolve({}, {"SMARTMETER_DLT_PROGRESS": "off"}).dlt_progress is False
    for variable in ("SMARTMETER_COPY_STREAMS", "SMARTMETER_XML_MAX_BYTES"):
        for bad in ("two", "0", "-3", "1.5"):
            with pytest.raises(ValueError, match=f"{variable} is '{bad}': give a whole number"):
                Settings.resolve({}, {variable: bad})
