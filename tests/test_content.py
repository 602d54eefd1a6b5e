"""The shipped demo content: every scenario and document validates and the pack covers what trainers need."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from simulator.knowledge.documents import load_documents
from simulator.scenario.loader import load_scenarios
from simulator.scenario.vocabulary import Category, Difficulty, Locale, ScriptCategory

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def content() -> tuple:
    docs = load_documents([REPO / "knowledge"])
    scenarios = load_scenarios([REPO / "scenarios"], knowledge_ids=docs.ids, require_references=True)
    return docs, scenarios


def test_everything_validates(content: tuple) -> None:
    docs, scenarios = content
    problems = [p.format() for p in docs.problems + scenarios.problems]
    assert problems == []


def test_pack_coverage(content: tuple) -> None:
    _, result = content
    scenarios = [s.scenario for s in result.scenarios.values()]
    zh = [s for s in scenarios if s.locale is Locale.ZH_CN]
    en = [s for s in scenarios if s.locale is Locale.EN]
    assert len(zh) >= 20 and len(en) >= 5
    assert {Category.PRE_SALES, Category.AFTER_SALES, Category.COMPLAINT} <= {s.category for s in zh}
    required = {
        ScriptCategory.PRODUCT,
        ScriptCategory.SIZE,
        ScriptCategory.BARGAINING,
        ScriptCategory.RETURNS_EXCHANGE,
        ScriptCategory.INVOICE,
        ScriptCategory.REVIEW_CASHBACK,
        ScriptCategory.MATCHING,
        ScriptCategory.LOGISTICS,
        ScriptCategory.BAD_REVIEW,
        ScriptCategory.COMPLAINT,
    }
    covered = {c for s in zh for c in s.script_categories}
    assert required <= covered, required - covered
    assert {s.difficulty for s in zh} == set(Difficulty)
    personas = Counter((s.persona.age_group, tuple(sorted(s.persona.traits))) for s in zh)
    assert len(personas) >= 6


def test_scenario_ids_match_file_names(content: tuple) -> None:
    _, result = content
    for sid, loaded in result.scenarios.items():
        assert loaded.path.stem == sid


def test_document_ids_match_paths(content: tuple) -> None:
    docs, _ = content
    for doc_id, doc in docs.documents.items():
        assert Path(doc.path).with_suffix("").as_posix().endswith(doc_id), (doc_id, doc.path)
