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


def test_play_json_and_stored_sessions_grade_as_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`simulator play --json` output and a session's JSON: notices skipped, ISO times → seconds."""
    from typer.testing import CliRunner

    monkeypatch.setenv("SIM_EMBEDDER", "fake")
    monkeypatch.setenv("SIM_DATA_DIR", str(tmp_path / "data"))

    from simulator.cli import app

    replies = tmp_path / "replies.txt"
    replies.write_text("Hi! Sorry to hear that. Could you send me your order number?\nok\n", encoding="utf-8")
    runner = CliRunner()
    played = runner.invoke(app, ["play", "complaint-late-express-angry", "--replies", str(replies), "--json"])
    assert played.exit_code == 0, played.output
    out = tmp_path / "played.json"
    out.write_text(played.stdout, encoding="utf-8")
    [t], problems = read_transcripts(out)
    assert problems == [] and t.scenario == "complaint-late-express-angry"
    assert [x.role for x in t.turns][:2] == ["customer", "agent"] and t.turns[0].at == 0 and t.turns[1].at == 15
    session = tmp_path / "session.json"
    session.write_text(json.dumps(json.loads(played.stdout)["session"]), encoding="utf-8")
    [s], problems = read_transcripts(session)
    assert problems == [] and s.turns == t.turns and s.scenario == t.scenario
    graded = runner.invoke(app, ["grade", str(out), "--no-kb", "--json"])
    assert graded.exit_code == 0, graded.output
    assert json.loads(graded.stdout.splitlines()[0])["scenario"] == "complaint-late-express-angry"


def test_timestamps_that_are_neither_seconds_nor_iso_are_explained() -> None:
    with pytest.raises(ValueError, match="neither seconds nor an ISO 8601 timestamp"):
        parse_transcript({"turns": [{"role": "agent", "text": "hi", "at": "yesterday"}]}, default_id="x")
    t = parse_transcript(
        {
            "turns": [
                {"role": "customer", "text": "hi", "at": "2026-01-01T09:00:00Z"},
                {"role": "system", "kind": "notice", "text": "AI offline", "at": "2026-01-01T09:00:01Z"},
                {"role": "agent", "text": "hello", "at": "2026-01-01T09:00:12.5+00:00"},
            ]
        },
        default_id="x",
    )
    assert [(x.role, x.at) for x in t.turns] == [("customer", 0.0), ("agent", 12.5)]
