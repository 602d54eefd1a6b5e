"""The transcript input format: JSON, JSON lists, JSONL, and clear problems for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.errors import ValidationFailed
from simulator.transcript import iter_transcripts, parse_transcript, read_transcripts


def test_minimal_form_with_optional_times(tmp_path: Path) -> None:
    p = tmp_path / "t.json"
    p.write_text(
        json.dumps(
            {"id": "a", "turns": [{"role": "customer", "text": "在吗"}, {"role": "agent", "text": "在的", "at": 3}]}
        ),
        encoding="utf-8",
    )
    [t], problems = read_transcripts(p)
    assert problems == []
    assert t.id == "a" and t.turns[1].at == 3 and t.turns[0].at is None and t.complete


def test_jsonl_reports_bad_lines_and_keeps_good_ones(tmp_path: Path) -> None:
    p = tmp_path / "many.jsonl"
    good = {"id": "x", "turns": [{"role": "agent", "text": "hi"}]}
    bad_role = {"id": "y", "turns": [{"role": "bot", "text": "hi"}]}
    p.write_text("\n".join([json.dumps(good), "{not json", json.dumps(bad_role), ""]), encoding="utf-8")
    transcripts, problems = read_transcripts(p)
    assert [t.id for t in transcripts] == ["x"]
    assert [pr.line for pr in problems] == [2, 3]
    assert "turns.0.role" in problems[1].message


def test_bare_list_of_turns_gets_file_name_as_id(tmp_path: Path) -> None:
    p = tmp_path / "chat.json"
    p.write_text(json.dumps([{"role": "customer", "text": "hello"}]), encoding="utf-8")
    [t], _ = read_transcripts(p)
    assert t.id == "chat"


def test_missing_file_and_invalid_json_raise_together(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        list(iter_transcripts([broken, tmp_path / "nope.json"]))
    assert len(exc.value.problems) == 2


def test_parse_rejects_non_objects() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        parse_transcript("text", default_id="x")
