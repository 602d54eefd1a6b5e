"""Transcripts: the conversation the grader reads, in a minimal JSON form anyone can produce.

A :class:`Transcript` is the chat messages of one conversation (:class:`~simulator.turn.Turn`, the one turn
model); a practice session gives its own with :meth:`simulator.session.Session.transcript`.

The minimal form is::

    {"id": "t1", "turns": [{"role": "customer", "text": "在吗"}, {"role": "agent", "text": "亲，您好", "at": 12.5}]}

``at`` (seconds since the conversation started) is optional; without it response time is unscored. A file
holds one transcript (``.json``) or one per line (``.jsonl``). Optional top-level keys: ``scenario`` (scenario
id), ``complete`` (false when the conversation is cut off, so closing is not judged), ``outcome``. Optional
per-turn key ``beat`` (customer turns only): the scenario beat the customer's line came from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulator.errors import Problem, ValidationFailed, display_path
from simulator.turn import Turn

MAX_TRANSCRIPT_BYTES = 50_000_000


class Transcript(BaseModel):
    """A conversation to grade."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=200, description="Identifier shown in results.")
    turns: list[Turn] = Field(description="Messages in order: the customer's and the agent's, no notices.")
    scenario: str | None = Field(default=None, description="Scenario id, if the conversation followed one.")
    complete: bool = Field(default=True, description="False when the conversation was cut off mid-way.")
    outcome: str | None = Field(default=None, description="How it ended (bought, left, …), if known.")

    @field_validator("turns")
    @classmethod
    def _messages_only(cls, turns: list[Turn]) -> list[Turn]:
        for i, t in enumerate(turns):
            if not t.is_message:
                raise ValueError(f"turn {i} is a {t.role.value} {t.kind.value}; a transcript holds chat messages only")
        return turns

    def agent_turns(self) -> list[tuple[int, Turn]]:
        """(index, turn) for every agent message."""
        return [(i, t) for i, t in enumerate(self.turns) if t.role == "agent"]

    def customer_turns(self) -> list[tuple[int, Turn]]:
        """(index, turn) for every customer message."""
        return [(i, t) for i, t in enumerate(self.turns) if t.role == "customer"]

    def previous_customer(self, index: int) -> tuple[int, Turn] | None:
        """The last customer message before turn ``index``."""
        for i in range(index - 1, -1, -1):
            if self.turns[i].role == "customer":
                return i, self.turns[i]
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the same shape the loader reads)."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {"complete": self.complete}


def _problem(path: str, line: int, message: str) -> Problem:
    return Problem(path, line, 1 if line else 0, "", message)


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts) + ' — expected {"id": …, "turns": [{"role": "customer"|"agent", "text": …}]}'


def _timestamp(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"turn time {value!r} is neither seconds nor an ISO 8601 timestamp") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _exported(data: dict[str, Any]) -> dict[str, Any]:
    """The minimal form of what this project itself writes: a stored session (``turns`` with notices and ISO
    timestamps, ``scenario_id``) or ``simulator play --json`` (``transcript``, ``scenario_id``, ``outcome``)."""
    if "turns" not in data and isinstance(data.get("transcript"), list):
        session: dict[str, Any] = data["session"] if isinstance(data.get("session"), dict) else {}
        data = {**data, "turns": data["transcript"], "id": data.get("id") or session.get("id")}
        if session.get("status") == "active":
            data.setdefault("complete", False)
    if "scenario" not in data and isinstance(data.get("scenario_id"), str):
        data = {**data, "scenario": data["scenario_id"]}
    if data.get("id") is None:
        data = {k: v for k, v in data.items() if k != "id"}
    turns = data.get("turns")
    if not isinstance(turns, list):
        return data
    # Notices and actions are not messages; timestamps become seconds since the first one.
    messages = [
        t
        for t in turns
        if not (isinstance(t, dict) and (t.get("role") == "system" or t.get("kind") not in (None, "message")))
    ]
    messages = [
        {**t, "beat": t["beat_id"]} if isinstance(t, dict) and "beat" not in t and "beat_id" in t else t
        for t in messages
    ]
    stamps = [t["at"] for t in messages if isinstance(t, dict) and isinstance(t.get("at"), str)]
    if stamps:
        t0 = min(_timestamp(a) for a in stamps)
        messages = [
            {**t, "at": round((_timestamp(t["at"]) - t0).total_seconds(), 3)}
            if isinstance(t, dict) and isinstance(t.get("at"), str)
            else t
            for t in messages
        ]
    return {**data, "turns": messages}


def parse_transcript(data: Any, *, default_id: str) -> Transcript:
    """Validate one decoded JSON value as a transcript.

    Accepted besides the minimal form: a bare list of turns, a stored session and ``simulator play --json``
    output (notices skipped, ISO 8601 ``at`` turned into seconds since the first turn).

    Raises:
        ValueError: with a message saying what is wrong.
    """
    if isinstance(data, list):
        data = {"id": default_id, "turns": data}
    if not isinstance(data, dict):
        raise ValueError(f"a transcript is a JSON object, not {type(data).__name__}")
    data = _exported(data)
    if "id" not in data:
        data = {**data, "id": default_id}
    try:
        return Transcript.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_explain(exc)) from None


def read_transcripts(path: Path | str) -> tuple[list[Transcript], list[Problem]]:
    """Read a ``.json`` file (one transcript, or a list of them) or a ``.jsonl`` file (one per line).

    Bad lines are reported as problems with their line number; the good ones are still returned.
    """
    p = Path(path)
    shown = display_path(p)
    try:
        if p.stat().st_size > MAX_TRANSCRIPT_BYTES:
            return [], [_problem(shown, 0, f"file is larger than {MAX_TRANSCRIPT_BYTES:,} bytes — split it")]
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return [], [_problem(shown, 0, "no such file")]
    except UnicodeDecodeError:
        return [], [_problem(shown, 0, "not UTF-8 text — save the transcript as UTF-8")]
    except OSError as exc:
        return [], [_problem(shown, 0, f"cannot read the file: {exc.strerror or exc}")]
    if p.suffix.lower() == ".jsonl":
        return _read_lines(shown, p.stem, text.splitlines())
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # A .json file with one object per line is common enough to accept.
        if text.count("\n") > 1 and exc.msg == "Extra data":
            return _read_lines(shown, p.stem, text.splitlines())
        return [], [Problem(shown, exc.lineno, exc.colno, "", f"invalid JSON: {exc.msg}")]
    items = data if isinstance(data, list) and data and isinstance(data[0], dict) and "turns" in data[0] else [data]
    out: list[Transcript] = []
    problems: list[Problem] = []
    for n, item in enumerate(items):
        try:
            out.append(parse_transcript(item, default_id=p.stem if len(items) == 1 else f"{p.stem}-{n + 1}"))
        except ValueError as exc:
            problems.append(_problem(shown, 1, f"transcript {n + 1}: {exc}"))
    return out, problems


def _read_lines(shown: str, stem: str, lines: Iterable[str]) -> tuple[list[Transcript], list[Problem]]:
    out: list[Transcript] = []
    problems: list[Problem] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(shown, n, exc.colno, "", f"invalid JSON: {exc.msg}"))
            continue
        try:
            out.append(parse_transcript(data, default_id=f"{stem}-{n}"))
        except ValueError as exc:
            problems.append(_problem(shown, n, str(exc)))
    return out, problems


def iter_transcripts(paths: Iterable[Path | str]) -> Iterator[Transcript]:
    """Every transcript in ``paths``; raises :class:`ValidationFailed` listing all problems if any file is bad."""
    all_problems: list[Problem] = []
    found: list[Transcript] = []
    for path in paths:
        transcripts, problems = read_transcripts(path)
        found.extend(transcripts)
        all_problems.extend(problems)
    if all_problems:
        raise ValidationFailed(all_problems)
    yield from found
