"""One contract, two places: every case runs against the folder and the bucket store."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartmeter.storage import (
    ArchiveCorrupted,
    FileChangedError,
    FolderStore,
    Places,
    S3Store,
    StoreError,
    open_store,
)
from smartmeter.storage.folder import flat_name, unflat_name


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_key(name: str):
    return lambda digest: f"{digest[:2]}/{digest}/{name}"


def test_landed_lists_complete_files_oldest_first(make_store):
    landing = make_store("landing")
    for name in ("b.csv", "a.csv", ".hidden.csv", "c.csv.part", "d.tmp"):
        landing.put(name, name.encode())
        time.sleep(0.01 if isinstance(landing, FolderStore) else 1.05)  # S3: 1 s resolution
    landed = landing.landed()
    assert [e.key for e in landed] == ["b.csv", "a.csv"]
    assert [e.size for e in landed] == [5, 5]
    assert landed[0].modified <= landed[1].modified


@pytest.mark.parametrize("source_kind", ["same", "folder"])
def test_write_once_is_content_addressed_and_never_overwrites(make_store, tmp_path, source_kind):
    archive = make_store("raw")
    landing = make_store("landing") if source_kind == "same" else FolderStore(tmp_path / "in")
    data = b"meter_id,timestamp,value,unit\nM1,2024-01-01T00:00,1,kWh\n"
    landing.put("a.csv", data)
    [entry] = landing.landed()
    stored = archive.write_once(landing, entry, content_key("a.csv"))
    assert (stored.sha256, stored.bytes) == (sha(data), len(data))
    assert stored.url == archive.url_of(f"{sha(data)[:2]}/{sha(data)}/a.csv")
    assert archive.get(f"{sha(data)[:2]}/{sha(data)}/a.csv") == data
    again = archive.write_once(landing, entry, content_key("a.csv"))
    assert again == stored
    assert [e.key for e in archive.list()] == [f"{sha(data)[:2]}/{sha(data)}/a.csv"]
    # an entry that no longer matches its name is reported, never overwritten
    landing.put("b.csv", data + b"M1,2024-01-01T00:30,2,kWh\n")
    [_, other] = sorted(landing.landed(), key=lambda e: e.key)
    taken = f"{sha(data)[:2]}/{sha(data)}/a.csv"
    with pytest.raises(ArchiveCorrupted):
        archive.write_once(landing, other, lambda _: taken)
    assert archive.get(f"{sha(data)[:2]}/{sha(data)}/a.csv") == data


def test_a_replaced_entry_is_neither_read_nor_deleted_by_its_old_version(make_store):
    landing = make_store("landing")
    landing.put("a.csv", b"first")
    [first] = landing.landed()
    time.sleep(0.01)
    landing.put("a.csv", b"second version")
    with pytest.raises(FileChangedError):
        b"".join(landing.chunks("a.csv", first.version))
    assert landing.delete_if_unchanged("a.csv", first.version) is False
    assert landing.get("a.csv") == b"second version"
    [second] = landing.landed()
    assert b"".join(landing.chunks("a.csv", second.version)) == b"second version"
    assert landing.delete_if_unchanged("a.csv", second.version) is True
    assert landing.get("a.csv") is None and landing.landed() == []
    assert landing.delete_if_unchanged("a.csv", second.version) is False


def stage(folder: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def snapshot(store) -> dict[str, bytes]:
    return {e.key: store.get(e.key) for e in store.list()}


def test_publish_replaces_a_partition_whole_and_prunes_what_it_no_longer_has(make_store):
    readings = make_store("parquet/readings")
    staging = readings.staging("staging")
    day = "reading_date=2024-03-01"
    readings.publish(
        stage(
            staging / day, {"meter_id=A/data_0.parquet": b"a1", "meter_id=B/data_0.parquet": b"b1"}
        ),
        day,
    )
    readings.publish(
        stage(staging / "reading_date=2024-03-02", {"data_0.parquet": b"x"}),
        "reading_date=2024-03-02",
    )
    readings.put("_partition_scheme", b"date/meter_id\n")
    readings.settle()
    assert readings.partitions() == {day, "reading_date=2024-03-02"}
    staged = stage(
        staging / day, {"meter_id=A/data_0.parquet": b"a2", "meter_id=C/data_0.parquet": b"c2"}
    )
    readings.publish(staged, day)
    readings.settle()
    assert not staged.exists()
    assert snapshot(readings) == {
        f"{day}/meter_id=A/data_0.parquet": b"a2",
        f"{day}/meter_id=C/data_0.parquet": b"c2",
        "reading_date=2024-03-02/data_0.parquet": b"x",
        "_partition_scheme": b"date/meter_id\n",
    }
    readings.publish(staging / "nothing-staged", "reading_date=2024-03-02")  # no rows: removed
    readings.remove_partition(day)
    readings.settle()
    assert readings.partitions() == set()
    assert snapshot(readings) == {"_partition_scheme": b"date/meter_id\n"}


def test_put_and_get_small_entries(make_store):
    store = make_store("p")
    assert store.get("marker") is None
    store.put("marker", b"one")
    store.put("marker", b"two")
    assert store.get("marker") == b"two"
    assert store.child("sub").url == store.url_of("sub")


def test_lineage_names_go_back_to_their_keys(make_store):
    landing = make_store("landing/2024")
    key = "meter 01, march.csv"
    assert landing.key_of_name(landing.lineage_name(key)) == key


@given(st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s))
def test_flattened_archive_names_are_one_file_name_and_reversible(key):
    name = flat_name(key)
    assert "/" not in name and unflat_name(name) == key


def test_the_place_is_chosen_once_from_the_url(tmp_path):
    assert isinstance(open_store(tmp_path / "x"), FolderStore)
    assert isinstance(open_store("s3://bucket/prefix"), S3Store)
    with pytest.raises(ValueError, match="only s3://"):
        open_store("ftp://host/x")
    with pytest.raises(ValueError, match="must not lie under"):
        Places.of("s3://m/landing", "s3://m/landing/raw", tmp_path / "p", tmp_path)
    with pytest.raises(StoreError):
        open_store("s3://bucket/prefix").staging("staging")  # no local scratch given
