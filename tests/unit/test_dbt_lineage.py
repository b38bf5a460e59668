"""dbt infers lineage from the models themselves: macros take relations as arguments (the model
passes ref('x')), and no model or test needs a `-- depends_on:` hint."""

from __future__ import annotations

import re
from pathlib import Path

DBT = Path(__file__).resolve().parents[2] / "dbt_project"
REF = re.compile(r"\bref\s*\(")
HINT = re.compile(r"--\s*depends_on\s*:", re.IGNORECASE)


def _without_comments(text: str) -> str:
    return re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL)


def test_no_macro_calls_ref():
    offenders = [
        str(path.relative_to(DBT))
        for path in sorted((DBT / "macros").rglob("*.sql"))
        if REF.search(_without_comments(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, f"ref() in macros (pass the relation from the model): {offenders}"


def test_no_depends_on_hint_in_models_or_tests():
    offenders = [
        str(path.relative_to(DBT))
        for folder in ("models", "tests")
        for path in sorted((DBT / folder).rglob("*.sql"))
        if HINT.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f"-- depends_on: hints (name the input in the model instead): {offenders}"


def test_the_checks_find_what_they_look_for():
    assert REF.search("from {{ ref('fct_readings') }}")
    assert not REF.search(_without_comments("{#- reads ref('x') -#} select 1"))
    assert HINT.search("-- depends_on: {{ ref('x') }}")
