"""The same inputs give the same grades: reference trainees and real JDDC replies against tests/data/golden.

A deliberate change to grading regenerates the snapshots in the same commit (``tests/golden.py --write``)
and says why in the commit message; any other difference is a regression.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from golden import EVAL_DIR, GOLDEN_DIR, jddc, references


def _load(name: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / name).read_text(encoding="utf-8"))


def _differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    out = [f"missing: {k}" for k in sorted(expected.keys() - actual.keys())]
    out += [f"new: {k}" for k in sorted(actual.keys() - expected.keys())]
    for k in sorted(expected.keys() & actual.keys()):
        if expected[k] != actual[k]:
            out.append(
                f"changed: {k}\n  golden: {json.dumps(expected[k], ensure_ascii=False)[:600]}"
                f"\n  now:    {json.dumps(actual[k], ensure_ascii=False)[:600]}"
            )
    return out


def test_reference_trainees_grade_as_the_golden_snapshot() -> None:
    diff = _differences(_load("references.json"), json.loads(json.dumps(references())))
    assert not diff, "\n".join(diff[:10])


@pytest.mark.slow
def test_reference_trainees_with_the_real_embedder_and_knowledge_grade_as_the_golden_snapshot() -> None:
    diff = _differences(_load("references-use.json"), json.loads(json.dumps(references(use=True))))
    assert not diff, "\n".join(diff[:10])


@pytest.mark.slow
@pytest.mark.skipif(not (EVAL_DIR / "jddc2019_multiref").is_dir(), reason="../shared/eval is not on this machine")
def test_real_jddc_replies_grade_as_the_golden_snapshot() -> None:
    diff = _differences(_load("jddc.json"), json.loads(json.dumps(jddc())))
    assert not diff, "\n".join(diff[:10])
