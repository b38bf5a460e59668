"""`make bench`: the whole pipeline against the hardware's limit, with the numbers that matter.

For sizes S (200 meters x 30 days), M (1,000 x 30) and L (2,000 x 90) of half-hourly canonical
data from the project's generator (with its usual defects), each timed at least 3 times and
reported as the median (the machine is shared and noisy):

  full        `smartmeter run` from an empty data home: ingest, dbt build, Parquet export
              (and each step), with the peak memory of the whole process tree (resident,
              shared pages split between processes: PSS)
  ingest      `smartmeter ingest` alone, in rows per second
  reference   scripts/reference_pipeline.py: one hand-written DuckDB pipeline doing the same
              conversion, duplicate handling, interpolation and export
  incremental (largest size) one more day for every meter on top of the history
  schemes     (largest size) the export in each partition scheme, ours and the reference's

With --targets duckdb,postgres the same runs go to PostgreSQL too (a fresh database per run on
the server the libpq variables name; default 127.0.0.1:5432, user postgres; the database is
smartmeter_bench, or $SMARTMETER_BENCH_DATABASE), and one more day is measured on every size,
so both stores' figures stand side by side. With spark in --targets
they go to a local Spark session (dbt-spark's session method: the driver JVM is a child of
dbt's process, so the peak memory counts Python, dbt and the JVM together) from an empty home
each; Spark takes minutes per build even on small data (JVM start, planning), so it runs
--spark-repeats times (default 1). The Spark settings (SMARTMETER_SPARK_*) go into the results.
--ingest-only measures `smartmeter ingest` alone on each target (minutes instead of an hour).
--spark-scheme date writes the Spark runs' archive one file a day, as docs/scaling.md advises
for Spark (a copy of the dbt project with the var set, as a user would). The last table gives
each engine's full run in seconds per million readings at each size.

--spellings mixed writes the same readings with their stamps spelled five ways, slot by slot
(SPELLINGS: `Z`, `+hh:mm` and `+hhmm` offsets, fractions of 3 and 6 digits, a space for the
`T`, a local time without seconds), each naming the same instant, so the answers are the
canonical run's; what changes is the parsing (the generator's own spelling is the one every
store reads fastest). The reference pipeline reads only that spelling, so it and the export
schemes are left out.

A table goes to stdout and everything to <out>/results.json.
Usage: python scripts/benchmark.py [--sizes XS,S,M,L] [--targets duckdb[,postgres][,spark]]
       [--repeats 3] [--spark-repeats 1] [--no-schemes] [--ingest-only]
       [--spellings canonical|mixed] [--spark-scheme date/meter_id|date|month/meter_id]
       [--out bench-out]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
# XS is for trying the benchmark itself out (a Spark build of it still takes minutes).
SIZES = {"XS": (20, 7), "S": (200, 30), "M": (1000, 30), "L": (2000, 90)}
START = date(2024, 3, 18)
SCHEMES = ("date/meter_id", "date", "month/meter_id")
TARGETS = {
    "full_vs_reference": "full pipeline on L at most 3x the reference",
    "incremental_share": "one more day on top of L under 10% of the full L run",
    "ingest_rows_per_second": "ingest at least 750,000 rows per second",
    "peak_memory_mb": "peak memory under 4,096 MB",
    "postgres_full_vs_duckdb": "on M, `smartmeter run --target postgres` within 4x of DuckDB",
    "postgres_incremental_vs_duckdb": "on M, one more day on PostgreSQL within 4x of DuckDB's",
    "postgres_ingest_rows_per_second": "ingest into PostgreSQL at least 300,000 rows per second",
    "spark_full_seconds": "on M, `smartmeter run --target spark` on 2 cores within 25 minutes",
    "spark_incremental_share": "on M, one more day on Spark under half of Spark's full run",
    "spark_peak_memory_mb": "on M, Spark's peak (Python, dbt and driver JVM) under 4,096 MB",
}
STORES = ("duckdb", "postgres", "spark")
# --spellings mixed: the stamp of the n-th half-hour since 1970 spelled the (n mod 5)-th way, as
# DuckDB strftime formats of the UTC instant shifted by the offset written (canonical layouts
# read a stamp without an offset as UTC).
SPELLINGS = (
    ("%Y-%m-%dT%H:%M:%SZ", 0),
    ("%Y-%m-%dT%H:%M:%S+02:00", 120),
    ("%Y-%m-%dT%H:%M:%S.%g-0500", -300),
    ("%Y-%m-%d %H:%M", 0),
    ("%Y-%m-%d %H:%M:%S.%f +05:30", 330),
)
sys.path.insert(0, str(REPO / "scripts"))
import reference_pipeline  # noqa: E402 (a sibling script, not a package)


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)

    def median(self) -> float:
        return statistics.median(self.seconds)

    def as_dict(self) -> dict:
        return {
            "median_seconds": round(self.median(), 2),
            "runs_seconds": [round(s, 2) for s in self.seconds],
            "peak_mb": round(max(self.peak_mb), 1) if self.peak_mb else None,
            "steps_median_seconds": {
                k: round(statistics.median(v), 2) for k, v in self.steps.items()
            },
        }


class TreeMemory:
    """Samples the resident memory of a process and all its descendants (from /proc)."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kb = max(self.peak_kb, sum(map(_resident_kb, self._tree())))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_kb / 1024


def _resident_kb(pid: int) -> int:
    """A process's resident memory with pages shared with other processes split between them
    (PSS): the Spark driver JVM forks for every shell command Hadoop runs (chmod on local files),
    and until it execs the child shares all of the JVM's pages; summing RSS counted them twice."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            return next(int(ln.split()[1]) for ln in fh if ln.startswith("Pss:"))
    except (OSError, StopIteration, IndexError, ValueError):
        pass
    try:  # no smaps_rollup (old kernel), or the process is gone
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, IndexError, ValueError):
        return 0


@dataclass(frozen=True)
class Store:
    """Where a benchmark run writes: the embedded DuckDB file, a PostgreSQL database that is
    dropped and created again for every run from an empty data home, or Spark's lake and
    warehouse inside that home (emptied with it)."""

    target: str
    # another name lets two benchmarks share a server
    database: str = os.environ.get("SMARTMETER_BENCH_DATABASE", "smartmeter_bench")
    project: Path | None = None  # a copy of the dbt project with another partition scheme

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.target == "postgres":
            env["PGDATABASE"] = self.database
        if self.project:
            env["SMARTMETER_DBT_PROJECT"] = str(self.project)
        return env

    def for_ingest(self) -> Store:
        """Its own database: the full run's warehouse stays for the incremental days."""
        return replace(self, database=f"{self.database}_ingest")

    def reset(self) -> None:
        if self.target != "postgres":
            return
        import psycopg

        settings = {k: os.environ.get(k) for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")}
        with psycopg.connect(
            host=settings["PGHOST"] or "127.0.0.1",
            port=int(settings["PGPORT"] or 5432),
            user=settings["PGUSER"] or "postgres",
            password=settings["PGPASSWORD"],
            dbname=os.environ.get("PGADMINDATABASE", "postgres"),
            autocommit=True,
        ) as admin:
            admin.execute(f'drop database if exists "{self.database}" with (force)')
            admin.execute(f'create database "{self.database}"')


DUCKDB = Store("duckdb")


def project_in_scheme(work: Path, scheme: str) -> Path | None:
    """The dbt project with its archive in `scheme`, as a user sets it (the var
    parquet_partition_scheme in their own copy, SMARTMETER_DBT_PROJECT); None for the default."""
    default = "parquet_partition_scheme: " + SCHEMES[0]
    if scheme == SCHEMES[0]:
        return None
    project = work / f"dbt_project-{scheme.replace('/', '-')}"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(
        REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml")
    )
    settings = project / "dbt_project.yml"
    text = settings.read_text()
    if default not in text:
        raise RuntimeError(f"dbt_project.yml no longer says {default!r}")
    settings.write_text(text.replace(default, f"parquet_partition_scheme: {scheme}"))
    return project


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command; return (seconds, peak MB of its process tree, stdout)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    memory = TreeMemory(process.pid)
    output, _ = process.communicate()
    seconds = time.perf_counter() - started
    peak = memory.stop()
    if process.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}")
    return seconds, peak, output


def smartmeter(home: Path, *args: str, store: Store = DUCKDB) -> list[str]:
    command = [str(Path(sys.executable).with_name("smartmeter")), "--home", str(home), *args]
    return [*command, "--target", store.target] if store.target != "duckdb" else command


def generate(
    folder: Path,
    meters: int,
    days: int,
    start: date,
    clean: bool = False,
    spellings: str = "canonical",
) -> Path:
    """Generated canonical data, cached in `folder` (the generator is deterministic); with
    spellings `mixed` its stamps respelled (see SPELLINGS), in `folder`/mixed."""
    if spellings == "mixed":
        canonical = generate(folder, meters, days, start, clean)
        return respelled(canonical, folder / "mixed" / canonical.name)
    files = sorted(folder.glob("canonical_*.csv"))
    if files:
        return files[0]
    command = [
        sys.executable,
        str(REPO / "scripts/generate_sample_data.py"),
        "--out",
        str(folder),
        "--meters",
        str(meters),
        "--days",
        str(days),
        "--start",
        start.isoformat(),
        "--layouts",
        "canonical",
    ]
    subprocess.run([*command, *(["--clean"] if clean else [])], check=True, capture_output=True)
    return sorted(folder.glob("canonical_*.csv"))[0]


def respelled(source: Path, target: Path) -> Path:
    """The canonical file with each stamp that names an instant spelled one of SPELLINGS'
    ways (the slot's half-hour number mod 5); other text (the unparseable defect) as it is."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    ways = " ".join(
        f"when {n} then strftime(stamp_at + interval ({minutes}) minute, '{form}')"
        for n, (form, minutes) in enumerate(SPELLINGS)
    )
    partial = target.with_suffix(".partial")
    with duckdb.connect() as con:
        con.execute(f"""
            copy (
                select * exclude (stamp_at) replace (
                    case
                        when stamp_at is null then "timestamp"
                        else case cast(floor(epoch(stamp_at) / 1800) as bigint) % {len(SPELLINGS)}
                            {ways}
                        end
                    end as "timestamp"
                )
                from (
                    select *, try_strptime("timestamp", '%Y-%m-%dT%H:%M:%SZ') as stamp_at
                    from read_csv('{source}', header = true, all_varchar = true)
                )
            ) to '{partial}' (header, format csv)
        """)
    partial.rename(target)
    return target


def fresh_home(root: Path, data: Path) -> Path:
    shutil.rmtree(root, ignore_errors=True)
    (root / "landing").mkdir(parents=True)
    shutil.copy(data, root / "landing" / data.name)
    return root


def bench_full(work: Path, data: Path, repeats: int, store: Store = DUCKDB) -> tuple[Timing, Path]:
    timing = Timing()
    home = work / ("home" if store.target == "duckdb" else f"home-{store.target}")
    for _ in range(repeats):
        fresh_home(home, data)
        store.reset()
        seconds, peak, output = timed(smartmeter(home, "run", "--json", store=store), store.env())
        summary = json.loads(output)
        if summary["status"] != "ok":
            raise RuntimeError(f"the benchmark run failed: {summary['messages']}")
        timing.seconds.append(seconds)
        timing.peak_mb.append(peak)
        for step, result in summary["steps"].items():
            timing.steps.setdefault(step, []).append(result["seconds"])
    return timing, home


def bench_ingest(work: Path, data: Path, repeats: int, store: Store = DUCKDB) -> Timing:
    timing = Timing()
    store = store.for_ingest()
    for _ in range(repeats):
        home = fresh_home(work / "ingest-home", data)
        store.reset()
        seconds, peak, _ = timed(smartmeter(home, "ingest", store=store), store.env())
        timing.seconds.append(seconds)
        timing.peak_mb.append(peak)
    shutil.rmtree(work / "ingest-home", ignore_errors=True)
    return timing


def bench_reference(work: Path, data: Path, repeats: int, scheme: str) -> Timing:
    timing = Timing()
    for _ in range(repeats):
        seconds, peak, _ = timed(
            [
                sys.executable,
                str(REPO / "scripts/reference_pipeline.py"),
                str(work / "reference"),
                str(data),
                "--scheme",
                scheme,
            ]
        )
        timing.seconds.append(seconds)
        timing.peak_mb.append(peak)
    return timing


def bench_reference_export(work: Path, data: Path, repeats: int, scheme: str) -> Timing:
    """The reference's export alone, for the scheme comparison."""
    timing = Timing()
    con = duckdb.connect()
    con.execute(reference_pipeline.TRANSFORM.format(files=f"['{data}']"))
    for _ in range(repeats):
        started = time.perf_counter()
        reference_pipeline.export(con, work / "reference-export", scheme)
        timing.seconds.append(time.perf_counter() - started)
    con.close()
    shutil.rmtree(work / "reference-export", ignore_errors=True)
    return timing


def bench_incremental(
    home: Path,
    work: Path,
    meters: int,
    days: int,
    repeats: int,
    store: Store = DUCKDB,
    spellings: str = "canonical",
) -> Timing:
    """One more day for every meter, `repeats` days in a row, on top of the history."""
    timing = Timing()
    for n in range(repeats):
        day = START + timedelta(days=days + n)
        data = generate(work / f"day-{day}", meters, 1, day, clean=True, spellings=spellings)
        shutil.copy(data, home / "landing" / data.name)
        seconds, peak, output = timed(smartmeter(home, "run", "--json", store=store), store.env())
        summary = json.loads(output)
        timing.seconds.append(seconds)
        timing.peak_mb.append(peak)
        for step, result in summary["steps"].items():
            timing.steps.setdefault(step, []).append(result["seconds"])
    return timing


def bench_schemes(home: Path, work: Path, data: Path, repeats: int) -> dict[str, dict]:
    results = {}
    for scheme in (*SCHEMES[1:], SCHEMES[0]):  # end on the default, as the home started
        ours = Timing()
        for _ in range(repeats):
            # A scheme change rewrites the whole archive; so does switching away and back.
            timed(smartmeter(home, "export", "--partition-scheme", _other(scheme)))
            seconds, peak, _ = timed(smartmeter(home, "export", "--partition-scheme", scheme))
            ours.seconds.append(seconds)
            ours.peak_mb.append(peak)
        files = sum(1 for _ in (home / "parquet" / "readings").rglob("*.parquet"))
        reference = bench_reference_export(work, data, repeats, scheme)
        results[scheme] = {
            "files": files,
            "smartmeter": ours.as_dict(),
            "reference": reference.as_dict(),
            "ratio": round(ours.median() / reference.median(), 2),
        }
    return results


def _other(scheme: str) -> str:
    return "date" if scheme != "date" else "month/meter_id"


def bench_store(
    target: str,
    work: Path,
    data: Path,
    meters: int,
    days: int,
    rows: int,
    repeats: int,
    spellings: str = "canonical",
    scheme: str = SCHEMES[0],
) -> dict[str, object]:
    """The full run, ingest alone and one more day on PostgreSQL or Spark (after DuckDB's runs,
    on the same data and machine), its archive in `scheme`."""
    store = Store(target, project=project_in_scheme(work, scheme))
    full, home = bench_full(work, data, repeats, store)
    ingest = bench_ingest(work, data, repeats, store)
    incremental = bench_incremental(home, work, meters, days, repeats, store, spellings)
    return {
        "full": full.as_dict(),
        "ingest": {**ingest.as_dict(), "rows_per_second": round(rows / ingest.median())},
        "incremental": {
            **incremental.as_dict(),
            "share_of_full": round(incremental.median() / full.median(), 3),
        },
        "partition_scheme": scheme,
        **store_settings(store),
    }


def per_million(sizes: dict[str, dict]) -> dict[str, dict[str, float]]:
    """How each engine's full run grows with the data: seconds per million readings, per size
    (a cost that falls with size is mostly fixed: starting, planning, files)."""
    table: dict[str, dict[str, float]] = {}
    for size, entry in sizes.items():
        runs = {"duckdb": entry.get("full")} | {
            t: entry[t].get("full") for t in STORES[1:] if t in entry
        }
        for engine, full in runs.items():
            if full:
                seconds = full["median_seconds"] * 1_000_000 / entry["rows"]
                table.setdefault(engine, {})[size] = round(seconds, 1)
    return table


def per_million_rows(table: dict[str, dict[str, float]]) -> list[str]:
    sizes = list(dict.fromkeys(size for row in table.values() for size in row))
    if not sizes:
        return []
    lines = [
        "",
        "full run, seconds per million readings".ljust(40)
        + "".join(f"{size:>10}" for size in sizes),
    ]
    for engine, row in table.items():
        cells = "".join(f"{row[size]:>10,.1f}" if size in row else f"{'':>10}" for size in sizes)
        lines.append(f"{engine:<40}{cells}")
    return lines


def versus_duckdb(other: dict, duck: dict) -> dict[str, float]:
    """Another store's full run, one more day and peak memory against DuckDB's."""
    ratios = {
        "full_vs_duckdb": other["full"]["median_seconds"] / duck["full"]["median_seconds"],
        "incremental_vs_duckdb": (
            other["incremental"]["median_seconds"] / duck["incremental"]["median_seconds"]
        ),
        "peak_mb_vs_duckdb": other["full"]["peak_mb"] / duck["full"]["peak_mb"],
    }
    return {name: round(ratio, 2) for name, ratio in ratios.items()}


def bench_ingest_only(
    work: Path, data: Path, rows: int, targets: list[str], repeats: dict[str, int]
) -> dict[str, object]:
    """`smartmeter ingest` alone on each target: the quick check of loading speed."""
    entry: dict[str, object] = {}
    for target in targets:
        store = DUCKDB if target == "duckdb" else Store(target)
        timing = bench_ingest(work, data, repeats[target], store)
        ingest = {**timing.as_dict(), "rows_per_second": round(rows / timing.median())}
        if target == "duckdb":
            entry["ingest"] = ingest
        else:
            entry[target] = {"ingest": ingest, **store_settings(store.for_ingest())}
    return entry


def ingest_rows(size: str, rows: int, entry: dict) -> list[str]:
    duck = entry.get("ingest")
    lines = [row(f"{size} smartmeter ingest", rows, recorded(duck))] if duck else []
    for target in STORES[1:]:
        if target in entry:
            other = recorded(entry[target]["ingest"])
            against = duck and duck["median_seconds"]
            lines.append(row(f"{size} {target} ingest", rows, other, against))
    return lines


def recorded(numbers: dict) -> Timing:
    """A Timing again from its as_dict() (the runs and the peak)."""
    return Timing(numbers["runs_seconds"], [numbers["peak_mb"] or 0])


def store_rows(target: str, size: str, rows: int, meters: int, entry: dict) -> list[str]:
    """Table lines for PostgreSQL or Spark; the ratio column is against DuckDB on the same
    data."""
    other = entry[target]
    duck_full = entry.get("full", {}).get("median_seconds")
    duck_day = entry.get("incremental", {}).get("median_seconds")
    duck_ingest = entry.get("ingest", {}).get("median_seconds")

    def line(label: str, count: int, numbers: dict, against: float | None) -> str:
        return row(label, count, recorded(numbers), against)

    lines = [line(f"{size} {target} run", rows, other["full"], duck_full)]
    for step, seconds in other["full"]["steps_median_seconds"].items():
        lines.append(row(f"{size}   {step}", rows, Timing([seconds]), None))
    lines.append(line(f"{size} {target} ingest", rows, other["ingest"], duck_ingest))
    lines.append(line(f"{size} {target} + one day", meters * 48, other["incremental"], duck_day))
    return lines


def store_settings(store: Store) -> dict[str, dict[str, str]]:
    """What the figures depend on: the PostgreSQL server's settings, or the Spark session's."""
    if store.target == "postgres":
        return {"server": postgres_settings(store)}
    if store.target == "spark":
        return {"spark": spark_settings()}
    return {}


def spark_settings() -> dict[str, str]:
    """The local session's settings as profiles.yml resolves them (same defaults)."""
    from importlib.metadata import version

    defaults = {
        "SMARTMETER_SPARK_MASTER": "local[*]",
        "SMARTMETER_SPARK_THREADS": "4",
        "SMARTMETER_SPARK_DRIVER_MEMORY": "2g",
        "SMARTMETER_SPARK_SHUFFLE_PARTITIONS": "4",
    }
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    return {
        "pyspark": version("pyspark"),
        "dbt-spark": version("dbt-spark"),
        "java": (java.stderr.splitlines() or ["unknown"])[0],
        **{name: os.environ.get(name, default) for name, default in defaults.items()},
    }


def postgres_settings(store: Store) -> dict[str, str]:
    import psycopg

    names = ("work_mem", "shared_buffers", "max_parallel_workers_per_gather", "jit")
    with psycopg.connect(
        host=os.environ.get("PGHOST", "127.0.0.1"),
        port=int(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER", "postgres"),
        password=os.environ.get("PGPASSWORD"),
        dbname=store.database,
    ) as con:
        found = con.execute(
            "select name, current_setting(name) from pg_settings where name = any(%s)",
            (list(names),),
        ).fetchall()
        version = con.execute("show server_version").fetchone()[0]
    return {"server_version": version, **dict(found)}


def machine() -> dict[str, object]:
    cpu, memory_kb = "unknown", 0
    with contextlib.suppress(OSError):
        models = [ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    with contextlib.suppress(OSError, IndexError, ValueError):
        memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def row(label: str, rows: int, timing: Timing, reference: float | None = None) -> str:
    seconds = timing.median()
    ratio = f"{seconds / reference:6.2f}" if reference else "      "
    peak = max(timing.peak_mb) if timing.peak_mb else 0
    return f"{label:<28} {rows:>11,} {seconds:>9.1f} {rows / seconds:>13,.0f} {peak:>8.0f} {ratio}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--targets", default="duckdb", help="any of duckdb, postgres, spark")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--spark-repeats", type=int, default=1, help="runs on Spark (minutes each, even on S)"
    )
    parser.add_argument(
        "--no-schemes", action="store_true", help="skip the export comparison of the schemes"
    )
    parser.add_argument(
        "--ingest-only", action="store_true", help="only `smartmeter ingest`, on every target"
    )
    parser.add_argument(
        "--spellings",
        choices=("canonical", "mixed"),
        default="canonical",
        help="mixed: stamps spelled five ways (offsets, Z, fractions, local times)",
    )
    parser.add_argument(
        "--spark-scheme",
        choices=SCHEMES,
        default=SCHEMES[0],
        help="the Spark runs' archive scheme (date: one file a day, what scaling.md advises)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench-out")
    args = parser.parse_args()
    if args.repeats < 1 or args.spark_repeats < 1:
        parser.error("--repeats and --spark-repeats must be at least 1")
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not targets or any(t not in STORES for t in targets):
        parser.error(f"--targets takes any of {', '.join(STORES)}")
    if any(size not in SIZES for size in sizes):
        parser.error(f"--sizes takes any of {', '.join(SIZES)}")
    repeats = {"duckdb": args.repeats, "postgres": args.repeats, "spark": args.spark_repeats}
    # With another store in the comparison, one more day is measured on every size.
    every_size_incremental = any(t != "duckdb" for t in targets)
    duckdb_runs = "duckdb" in targets and not args.ingest_only
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {
        "machine": machine(),
        "repeats": args.repeats,
        "spellings": args.spellings,
        "sizes": {},
    }
    # The reference pipeline reads only the generator's own spelling.
    with_reference = args.spellings == "canonical"
    if "spark" in targets:
        results["spark_repeats"] = args.spark_repeats
    lines = [
        f"{'':<28} {'rows':>11} {'seconds':>9} {'rows/second':>13} {'peak MB':>8} {'ratio':>6}"
    ]
    for size in sizes:
        meters, days = SIZES[size]
        work = args.out / size
        data = generate(work / "data", meters, days, START, spellings=args.spellings)
        rows = sum(1 for _ in data.open()) - 1
        print(f"{size}: {meters} meters x {days} days, {rows:,} rows", file=sys.stderr)
        entry: dict[str, object] = {"meters": meters, "days": days, "rows": rows}
        if args.ingest_only:
            entry |= bench_ingest_only(work, data, rows, targets, repeats)
            lines.extend(ingest_rows(size, rows, entry))
        if duckdb_runs:
            reference = (
                bench_reference(work, data, args.repeats, SCHEMES[0]) if with_reference else None
            )
            against = reference.median() if reference else None
            full, home = bench_full(work, data, args.repeats)
            ingest = bench_ingest(work, data, args.repeats)
            entry |= {
                "full": full.as_dict(),
                "ingest": {**ingest.as_dict(), "rows_per_second": round(rows / ingest.median())},
            }
            if reference:
                entry["reference"] = reference.as_dict()
                entry["full_vs_reference"] = round(full.median() / reference.median(), 2)
                lines.append(row(f"{size} reference", rows, reference))
            lines.append(row(f"{size} smartmeter run", rows, full, against))
            for step, values in full.steps.items():
                lines.append(row(f"{size}   {step}", rows, Timing(values), against))
            lines.append(row(f"{size} smartmeter ingest", rows, ingest))
        if duckdb_runs and (size == sizes[-1] or every_size_incremental):
            incremental = bench_incremental(
                home, work, meters, days, args.repeats, spellings=args.spellings
            )
            entry["incremental"] = {
                **incremental.as_dict(),
                "share_of_full": round(incremental.median() / full.median(), 3),
            }
            lines.append(row(f"{size} + one day", meters * 48, incremental, full.median()))
        for target in STORES[1:]:
            if target not in targets or args.ingest_only:
                continue
            scheme = args.spark_scheme if target == "spark" else SCHEMES[0]
            other = bench_store(
                target, work, data, meters, days, rows, repeats[target], args.spellings, scheme
            )
            if "full" in entry and "incremental" in entry:
                other |= versus_duckdb(other, entry)
            entry[target] = other
            lines.extend(store_rows(target, size, rows, meters, entry))
            # Each store's figures are kept as soon as they exist (Spark's take long).
            results["sizes"][size] = entry  # type: ignore[index]
            (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        if duckdb_runs and size == sizes[-1] and not args.no_schemes and with_reference:
            entry["schemes"] = bench_schemes(home, work, data, args.repeats)
            for scheme, numbers in entry["schemes"].items():
                lines.append(
                    f"{size} export {scheme:<16} {numbers['files']:>9,} files "
                    f"{numbers['smartmeter']['median_seconds']:>8.1f} s vs reference "
                    f"{numbers['reference']['median_seconds']:.1f} s ({numbers['ratio']}x)"
                )
        results["sizes"][size] = entry  # type: ignore[index]
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    results["seconds_per_million_readings"] = per_million(results["sizes"])  # type: ignore[arg-type]
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines.extend(per_million_rows(results["seconds_per_million_readings"]))  # type: ignore[arg-type]
    print("\n".join(lines))
    print(f"\nmachine: {results['machine']}\nresults: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
