"""Property-based fuzzing of the whole chain: files in every layout, valid rows mixed with hostile
fields, through `smartmeter run` on DuckDB and on PostgreSQL.

Properties, for every example:
- the run succeeds: no value can fail the build;
- every file balances (its raw values = published + quarantined + duplicate copies), and it
  holds as many values as the generator wrote;
- every value valid by construction is published, on its meter, channel and UTC interval, with
  the kW it should have;
- DuckDB and PostgreSQL reach the same verdict on every value, and publish the same kW.

A fixed seed and a small example budget keep it inside `make test`; `make fuzz` runs a long
campaign (SMARTMETER_FUZZ_EXAMPLES). Examples are loaded SMARTMETER_FUZZ_BATCH at a time, each in
its own namespace of file names and meter ids, so a campaign costs a build per batch, not per
example. A failing example is written to tests/fixtures/fuzz/ as JSON; committed there, it is
replayed by test_fuzz_regressions on both stores forever after.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from conftest import FIXTURES, PG_ADMIN_URL, duck, run_cli
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from meter_file_strategies import Delivery, deliveries

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REGRESSIONS = FIXTURES / "fuzz"
EXAMPLES = int(os.environ.get("SMARTMETER_FUZZ_EXAMPLES", "10"))
# examples loaded together in one build per store
BATCH = int(os.environ.get("SMARTMETER_FUZZ_BATCH", "10"))

# One row per value a file delivered: its verdict ('published', 'duplicate_copy' or the
# quarantine reason) and the kW published (NULL otherwise).
VERDICTS = """
select
    v.source_file, v.source_line, v.value_position, v.meter_id, v.channel,
    cast(v.reading_start_at as varchar) as start_utc,
    case
        when q.reason is not null then q.reason
        when v.is_duplicate_copy then 'duplicate_copy'
        when v.is_superseded then 'superseded'
        when g.file_sha256 is not null then 'register_gap_read'
        when f.kw is not null then 'published'
        else 'no verdict'
    end as verdict,
    f.kw
from intermediate.int_readings_validated as v
left join marts.quarantined_readings as q
    on q.file_sha256 = v.file_sha256 and q.source_line = v.source_line
    and q.value_position = v.value_position
left join intermediate.int_register_gap_energy as g
    on g.file_sha256 = v.file_sha256 and g.source_line = v.source_line
    and g.value_position = v.value_position
left join marts.fct_readings as f
    on f.file_sha256 = v.file_sha256 and f.source_line = v.source_line
    and f.meter_id = v.meter_id and f.channel = v.channel
    and f.reading_start_at = v.reading_start_at
"""


def _verdicts(rows: list[tuple]) -> dict[tuple[str, int, int], tuple]:
    found: dict[tuple[str, int, int], tuple] = {}
    for source_file, line, position, meter_id, channel, start, verdict, kw in rows:
        key = (Path(source_file).name, int(line), int(position))
        assert key not in found, f"two verdicts for one value: {key}"
        found[key] = (meter_id, channel, start, verdict, kw)
    return found


def _run_store(delivery: Delivery, root: Path, target: str, rerun: bool = False) -> dict:
    home = root / target
    (home / "landing").mkdir(parents=True)
    for name, text in delivery.files.items():
        (home / "landing" / name).write_text(text, encoding="utf-8")
    env: dict[str, str] = {}
    database = None
    if target == "postgres":
        database = f"smartmeter_fuzz_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'create database "{database}"')
        env = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres",
               "PGDATABASE": database}  # fmt: skip
    try:
        run = run_cli(home, "run", "--target", target, env=env)
        assert run.returncode == 0, f"{target}: run failed\n{run.stdout}\n{run.stderr}"
        if rerun:  # nothing the files held can fail a later run either
            again = run_cli(home, "run", "--target", target, env=env)
            assert again.returncode == 0, f"{target}: rerun failed\n{again.stdout}"
        queries = {
            "verdicts": VERDICTS,
            "balance": "select source_file, raw_values - not_selected, is_balanced "
            "from marts.file_reading_balance",
        }
        if target == "duckdb":
            with duck(home) as con:
                return {k: con.execute(q).fetchall() for k, q in queries.items()}
        url = f"postgresql://postgres@127.0.0.1:5432/{database}"
        with psycopg.connect(url) as con:
            return {k: con.execute(q).fetchall() for k, q in queries.items()}
    finally:
        if database:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'drop database if exists "{database}" with (force)')


def check_delivery(delivery: Delivery, rerun: bool = False) -> None:
    # both stores at once: two processes, each mostly waiting on its own engine
    with (
        tempfile.TemporaryDirectory(prefix="smartmeter-fuzz-") as tmp,
        ThreadPoolExecutor(2) as pool,
    ):
        stores = ("duckdb", "postgres")
        futures = {t: pool.submit(_run_store, delivery, Path(tmp), t, rerun) for t in stores}
        results = {t: future.result() for t, future in futures.items()}
    for target, result in results.items():
        balance = {Path(f).name: (n, ok) for f, n, ok in result["balance"]}
        # (a Green Button feed always holds readings, even when it is all on one line)
        with_rows = {
            n
            for n, text in delivery.files.items()
            if len(text.splitlines()) > 1 or n.endswith(".xml")
        }
        assert set(balance) == with_rows, f"{target}: files missing from the balance"
        unbalanced = [name for name, (_, ok) in balance.items() if not ok]
        assert not unbalanced, f"{target}: files that do not balance: {unbalanced}"
        verdicts = _verdicts(result["verdicts"])
        for name, (raw_values, _) in balance.items():
            assert sum(1 for key in verdicts if key[0] == name) == raw_values, name
        for e in delivery.expected:
            key = (e.file, e.line, e.position)
            assert key in verdicts, f"{target}: no verdict for valid value {e}"
            meter_id, channel, start, verdict, kw = verdicts[key]
            assert verdict == "published", f"{target}: valid value {e} got {verdict}"
            assert (meter_id, channel) == (e.meter_id, e.channel), (target, e, meter_id, channel)
            assert start.replace("T", " ").startswith(e.start_utc.replace("T", " ")), (e, start)
            assert math.isclose(kw, e.kw, rel_tol=1e-9, abs_tol=1e-12), (target, e, kw)
        for key, reason in delivery.reasons.items():
            file, line, position = key.rsplit(":", 2)
            assert verdicts[(file, int(line), int(position))][3] == reason, (target, key)
    duck_verdicts = _verdicts(results["duckdb"]["verdicts"])
    pg_verdicts = _verdicts(results["postgres"]["verdicts"])
    assert duck_verdicts.keys() == pg_verdicts.keys()
    for key, (meter_id, channel, start, verdict, kw) in duck_verdicts.items():
        pg = pg_verdicts[key]
        assert pg[3] == verdict, f"DuckDB says {verdict}, PostgreSQL {pg[3]} for {key}"
        assert pg[:2] == (meter_id, channel), (key, meter_id, channel, pg)
        if "BC" not in f"{start}{pg[2]}":  # (the stores spell years before 1 differently)
            assert pg[2] == start, (key, start, pg[2])
        if kw is not None:
            assert math.isclose(pg[4], kw, rel_tol=1e-9, abs_tol=1e-12), (key, kw, pg[4])


def _keep_as_regression(delivery: Delivery) -> Path:
    text = delivery.to_json()
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    path = REGRESSIONS / f"found-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    path.write_text(text, encoding="utf-8")
    return path


def draw_deliveries(count: int) -> list[Delivery]:
    """`count` deliveries from a fixed seed (CI sees the same ones every time), each in its own
    namespace (tags e0, e1, ...) so that they can be loaded together."""
    drawn: list[Delivery] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(st.data())
    def collect(data):
        drawn.append(data.draw(deliveries(tag=f"e{len(drawn)}")))

    collect()
    return drawn


def merged(batch: list[Delivery]) -> Delivery:
    """One delivery of a batch's files. A file whose bytes another file of the batch already
    has (small examples repeat) is left out with what it expects: the pipeline would rightly
    take it for a second delivery of the same file and load it once."""
    whole = Delivery()
    contents: set[str] = set()
    for delivery in batch:
        repeated = {name for name, text in delivery.files.items() if text in contents}
        contents.update(delivery.files.values())
        whole.files.update((n, t) for n, t in delivery.files.items() if n not in repeated)
        whole.expected.extend(e for e in delivery.expected if e.file not in repeated)
        whole.reasons.update(
            (key, reason)
            for key, reason in delivery.reasons.items()
            if key.rsplit(":", 2)[0] not in repeated
        )
    return whole


def fails_alone(delivery: Delivery) -> bool:
    try:
        check_delivery(delivery)
    except AssertionError:
        return True
    return False


def test_no_file_content_can_fail_the_build():
    """Deliveries run a batch at a time (one build per store per batch: the build, not the
    files, is what costs). When a batch fails, its deliveries are tried one by one and the first
    that fails alone is kept; if none does, the batch is kept whole (they fail together)."""
    examples = draw_deliveries(EXAMPLES)
    for first in range(0, len(examples), BATCH):
        batch = examples[first : first + BATCH]
        try:
            check_delivery(merged(batch))
        except AssertionError as exc:
            culprit = next((d for d in batch if fails_alone(d)), None) if len(batch) > 1 else None
            path = _keep_as_regression(culprit or merged(batch))
            raise AssertionError(
                f"examples {first}-{first + len(batch) - 1}: {exc}\n(example kept in {path})"
            ) from exc


@pytest.mark.parametrize("case", sorted(REGRESSIONS.glob("*.json")), ids=lambda p: p.stem)
def test_fuzz_regressions(case: Path):
    check_delivery(Delivery.from_json(case.read_text(encoding="utf-8")), rerun=True)
