"""Every setting of a run, resolved once from the command line's flags, the environment and the
defaults (in that order), then passed down with the data home (`home.settings`). This is the
one module that reads the environment for smartmeter's own settings; subprocesses (dbt) get
theirs from here explicitly. (Libraries read their own: botocore the AWS chain, libpq PG*.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

DEFAULT_HOME = "data"
DEFAULT_TARGET = "duckdb"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or taskset
    narrows; os.cpu_count() counts the machine's)."""
    return max(1, len(os.sched_getaffinity(0)))


@dataclass(frozen=True)
class PostgresSettings:
    """The standard libpq variables, defaulting to 127.0.0.1:5432, user postgres, database
    test; nothing secret is ever written to a file."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = field(default=None, repr=False)
    dbname: str = "test"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PostgresSettings:
        env = os.environ if environ is None else environ
        return cls(
            host=env.get("PGHOST") or "127.0.0.1",
            port=int(env.get("PGPORT") or "5432"),
            user=env.get("PGUSER") or "postgres",
            password=env.get("PGPASSWORD") or None,
            dbname=env.get("PGDATABASE") or "test",
        )

    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(self.dbname, safe='')}"

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def dsn(self) -> str:
        """libpq's key=value form (the password comes from PGPASSWORD or ~/.pgpass)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname}"


@dataclass(frozen=True)
class Settings:
    target: str = DEFAULT_TARGET
    target_given: bool = False  # --target or SMARTMETER_TARGET (else the home's own target)
    # Where files arrive, the raw archive and the Parquet archive: s3://bucket/prefix or a
    # folder; "" for the data home's own folder.
    landing_url: str = ""
    archive_url: str = ""
    parquet_url: str = ""
    s3_timeout_seconds: float = 30.0
    retry_base_seconds: float = 2.0  # the first backoff between a step's attempts
    # How long a step waits out an unreachable warehouse or object store before the run fails
    # (the files stay pending): a restart or a failover takes minutes.
    outage_window_seconds: float = 300.0
    duckdb_memory_limit: str = "2000MB"
    alert_webhook: str | None = None
    alert_sns_topic_arn: str | None = None
    dbt_project: Path | None = None  # a project of one's own instead of the bundled one
    spark_raw_url: str | None = None
    postgres: PostgresSettings = field(default_factory=PostgresSettings)
    forecast: bool = True  # the learned forecast step of a run (--no-forecast)
    forecast_threads: int = 1  # LightGBM's threads (more only pays on a quiet machine)
    # dbt's threads on a local Spark session: they all plan on the driver, so one per core (more
    # only contend: a small build on 2 cores took 140-146 s with 4 threads, 121 s with 2).
    spark_threads: int = field(default_factory=usable_cores)
    report_timezone: str = ""  # the report's local zone: "" the fleet's own, or an IANA name
    # Where dbt's parse of a project is kept for every data home (dbt_runner.py); None: off.
    dbt_parse_cache: Path | None = None
    # The largest Green Button XML file read (dlt_pipelines/espi_xml.py): the parser holds
    # about 6 times the XML in memory.
    xml_max_bytes: int = 100 * 1024 * 1024
    # How many COPYs a PostgreSQL raw load runs at once (dlt_pipelines/raw_load.py): one per
    # core of this machine; more for a database server with more cores.
    copy_streams: int = field(default_factory=usable_cores)
    dlt_progress: bool = False  # dlt's own progress log during a load
    # The fault-injection tests' crash point (smartmeter/faults.py); "" in normal use.
    crash_at: str = ""

    @classmethod
    def resolve(
        cls, flags: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Flags (None: not given) over SMARTMETER_* variables over the defaults."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (flags or {}).items() if v is not None}

        def pick(name: str, variable: str, default: str = "") -> str:
            value = given.get(name)
            return str(value).strip() if value is not None else env.get(variable, default).strip()

        def whole(name: str, variable: str, default: int) -> int:
            """A whole number, 1 or more; a bad value is named, not guessed around."""
            text = pick(name, variable)
            if not text:
                return default
            if not text.isdigit() or int(text) < 1:
                raise ValueError(f"{variable} is {text!r}: give a whole number, 1 or more")
            return int(text)

        project = pick("dbt_project", "SMARTMETER_DBT_PROJECT")
        return cls(
            target=pick("target", "SMARTMETER_TARGET") or DEFAULT_TARGET,
            target_given=bool(pick("target", "SMARTMETER_TARGET")),
            landing_url=pick("landing_url", "SMARTMETER_LANDING_URL"),
            archive_url=pick("archive_url", "SMARTMETER_ARCHIVE_URL"),
            parquet_url=pick("parquet_url", "SMARTMETER_PARQUET_URL"),
            s3_timeout_seconds=float(pick("s3_timeout", "SMARTMETER_S3_TIMEOUT_SECONDS") or 30),
            retry_base_seconds=float(pick("retry_base", "SMARTMETER_RETRY_BASE_SECONDS") or 2),
            outage_window_seconds=float(
                pick("outage_window", "SMARTMETER_OUTAGE_WINDOW_SECONDS") or 300
            ),
            duckdb_memory_limit=pick("duckdb_memory", "SMARTMETER_DUCKDB_MEMORY_LIMIT") or "2000MB",
            alert_webhook=pick("alert_webhook", "SMARTMETER_ALERT_WEBHOOK") or None,
            alert_sns_topic_arn=pick("sns_topic", "SMARTMETER_ALERT_SNS_TOPIC_ARN") or None,
            dbt_project=Path(project).expanduser().resolve() if project else None,
            spark_raw_url=pick("spark_raw_url", "SMARTMETER_SPARK_RAW_URL") or None,
            postgres=PostgresSettings.from_env(env),
            forecast=_switch(given.get("forecast"), env.get("SMARTMETER_FORECAST", "on")),
            forecast_threads=whole("forecast_threads", "SMARTMETER_FORECAST_THREADS", 1),
            spark_threads=whole("spark_threads", "SMARTMETER_SPARK_THREADS", usable_cores()),
            report_timezone=pick("report_timezone", "SMARTMETER_REPORT_TIMEZONE"),
            dbt_parse_cache=_parse_cache(env),
            xml_max_bytes=whole("xml_max_bytes", "SMARTMETER_XML_MAX_BYTES", cls.xml_max_bytes),
            copy_streams=whole("copy_streams", "SMARTMETER_COPY_STREAMS", usable_cores()),
            dlt_progress=_switch(None, env.get("SMARTMETER_DLT_PROGRESS") or "off"),
            crash_at=pick("crash_at", "SMARTMETER_CRASH_AT"),
        )


def _parse_cache(env: Mapping[str, str]) -> Path | None:
    """SMARTMETER_DBT_PARSE_CACHE (a folder, or "off"), else the user's cache folder."""
    value = env.get("SMARTMETER_DBT_PARSE_CACHE", "").strip()
    if not _switch(None, value):
        return None
    if value:
        return Path(value).expanduser().resolve()
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or "~", ".cache"))
    return Path(base).expanduser().resolve() / "smartmeter" / "dbt-parse"


def _switch(flag: object, variable: str) -> bool:
    if flag is not None:
        return bool(flag)
    return variable.strip().lower() not in ("off", "0", "false", "no")


def home_root(flag: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None):
    """The data home: --home, else $SMARTMETER_HOME, else ./data."""
    env = os.environ if environ is None else environ
    return Path(flag or env.get("SMARTMETER_HOME") or DEFAULT_HOME).expanduser().resolve()
