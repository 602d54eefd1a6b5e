"""Golden tests: every kind of authoring mistake yields the expected path:line:col message, and no traceback.

Regenerate the expected files after an intended wording change with
``UPDATE_GOLDEN=1 pytest tests/test_scenario_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simulator.scenario.loader import load_scenarios

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "bad_scenarios").glob("*.yaml"))
KNOWLEDGE_IDS = {"kb/size-chart"}


def _messages(path: Path) -> str:
    result = load_scenarios([path.relative_to(DATA.parent.parent)], knowledge_ids=KNOWLEDGE_IDS)
    return "".join(p.format() + "\n" for p in result.problems)


def test_corpus_has_at_least_fifteen_kinds() -> None:
    assert len(BAD) >= 15


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_scenario_message(path: Path, repo_root: Path) -> None:
    got = _messages(path)
    expected_file = path.with_suffix(".expected")
    if os.environ.get("UPDATE_GOLDEN"):
        expected_file.write_text(got, encoding="utf-8")
    assert got, f"{path.name} should not validate"
    assert got == expected_file.read_text(encoding="utf-8")
    for line in got.splitlines():
        # compiler style: path:line:col: … with a real line number
        where, _, message = line.partition(": ")
        file, line_no, col = where.rsplit(":", 2)
        assert file.endswith(path.name) and int(line_no) >= 1 and int(col) >= 1, line
        assert "Traceback" not in message


def test_minimal_good_scenario_validates(repo_root: Path) -> None:
    result = load_scenarios([DATA / "good_scenarios"], knowledge_ids=KNOWLEDGE_IDS)
    assert result.problems == []
    assert list(result.scenarios) == ["minimal-ok"]


def test_duplicate_scenario_id_across_files(tmp_path: Path) -> None:
    src = (DATA / "good_scenarios" / "minimal.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(src, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(src, encoding="utf-8")
    result = load_scenarios([tmp_path], knowledge_ids=KNOWLEDGE_IDS)
    assert len(result.problems) == 1
    p = result.problems[0]
    assert p.path.endswith("b.yaml") and p.line == 2
    assert "already used by" in p.message and "a.yaml:2:5" in p.message
