"""dbt's view of the raw layer is written from layouts.yml (scripts/sync_dbt_docs.py), and the
committed files are in step with it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "sync_dbt_docs.py"
_spec = importlib.util.spec_from_file_location("sync_dbt_docs", SCRIPT)
sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sync)


def test_the_committed_files_are_in_step_with_layouts_yml():
    for path, write in sync.wanted().items():
        assert path.read_text(encoding="utf-8") == write(), f"{path}: run scripts/sync_dbt_docs.py"


def test_a_layout_added_to_layouts_yml_becomes_a_raw_source_of_its_shape(tmp_path: Path):
    document = yaml.safe_load(sync.LAYOUTS_FILE.read_text(encoding="utf-8"))
    added = dict(next(e for e in document["layouts"] if e["name"] == "canonical"))
    added.update(name="vendor_x", raw_table="vendor_x_raw", description="A vendor's export.")
    added["recognize"] = {"header_includes": ["vendor_x_meter"]}
    document["layouts"].append(added)
    layouts_file = tmp_path / "layouts.yml"
    layouts_file.write_text(yaml.safe_dump(document), encoding="utf-8")

    current = sync.SOURCES_FILE.read_text(encoding="utf-8")
    sources = yaml.safe_load(sync.sources_text(current, layouts_file))
    raw = next(s for s in sources["sources"] if s["name"] == "raw")
    tables = {t["name"]: t for t in raw["tables"]}
    assert tables["vendor_x_raw"]["meta"] == {"layout": "vendor_x", "shape": "long"}
    assert "A vendor's export." in tables["vendor_x_raw"]["description"]
    # every declared layout has its table, and the hand-written tables stay
    declared = {e.get("raw_table", e["name"]) for e in document["layouts"]}
    assert declared | {"layouts", "file_headers"} <= set(tables)
    assert "'vendor_x_raw']" in sync.tables_macro_text(layouts_file)


def test_check_names_a_file_out_of_step_and_writes_nothing(tmp_path: Path, monkeypatch, capsys):
    stale = tmp_path / "declared_layout_tables.sql"
    stale.write_text("{# old #}\n", encoding="utf-8")
    monkeypatch.setattr(sync, "TABLES_MACRO", stale)
    assert sync.main(["--check"]) == 1
    assert str(stale) in capsys.readouterr().err
    assert stale.read_text(encoding="utf-8") == "{# old #}\n"
    assert sync.main([]) == 0
    assert sync.main(["--check"]) == 0
