"""Sessions and their append-only turns: create, append (with the engine state), finish, read, resume.

Every function takes an open SQLAlchemy ``Session``; callers decide the transaction. The rule the web app
relies on: :func:`append_turns` and the state it saves are in the same transaction, and the page acknowledges a
turn only after that transaction committed — so a crash loses nothing the trainee saw acknowledged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from simulator.store.models import (
    Grade,
    PracticeSession,
    SessionKind,
    SessionStatus,
    Turn,
    TurnKind,
    TurnRole,
    clean_text,
    utcnow,
)


@dataclass
class NewTurn:
    """A turn to append (``seq`` and ``created_at`` are assigned by :func:`append_turns`)."""

    role: TurnRole | str
    text: str
    kind: TurnKind | str = TurnKind.MESSAGE
    response_ms: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None  # default: the time of the append


def create_session(
    s: Session,
    *,
    user_id: int,
    scenario_id: str,
    scenario_digest: str,
    seed: int,
    variables: dict[str, Any] | None = None,
    kind: SessionKind | str = SessionKind.PRACTICE,
    locale: str = "zh-CN",
    exam_attempt_id: int | None = None,
) -> PracticeSession:
    """Insert a new active session and return it (flushed, so it has its id)."""
    row = PracticeSession(
        kind=SessionKind(kind).value,
        user_id=user_id,
        scenario_id=scenario_id,
        scenario_digest=scenario_digest,
        seed=seed,
        variables=dict(variables or {}),
        locale=locale,
        status=SessionStatus.ACTIVE.value,
        last_seq=0,
        exam_attempt_id=exam_attempt_id,
    )
    s.add(row)
    s.flush()
    return row


def append_turns(
    s: Session, row: PracticeSession, turns: Sequence[NewTurn], *, state: dict[str, Any] | None = None
) -> list[Turn]:
    """Append turns with consecutive ``seq`` numbers and save the engine state alongside.

    Raises ``sqlalchemy.exc.IntegrityError`` if another writer appended to the same session concurrently
    (the unique ``(session_id, seq)`` constraint) — the caller's transaction then rolls back as a whole.
    """
    now = utcnow()
    out: list[Turn] = []
    seq = row.last_seq
    for t in turns:
        seq += 1
        turn = Turn(
            session_id=row.id,
            seq=seq,
            role=TurnRole(t.role).value,
            kind=TurnKind(t.kind).value,
            text=clean_text(t.text),
            created_at=t.at or now,
            response_ms=t.response_ms,
            meta=dict(t.meta),
        )
        s.add(turn)
        out.append(turn)
    row.last_seq = seq
    row.updated_at = now
    if state is not None:
        row.customer_state = state
    s.flush()
    return out


def finish_session(s: Session, row: PracticeSession, *, status: SessionStatus | str, outcome: str | None) -> None:
    """Mark a session finished or abandoned with its outcome."""
    row.status = SessionStatus(status).value
    row.outcome = outcome
    row.ended_at = utcnow()
    row.updated_at = row.ended_at
    s.flush()


def get_session(s: Session, session_id: str, *, for_update: bool = False) -> PracticeSession | None:
    """The session with this id, or ``None`` (``for_update`` locks the row on PostgreSQL)."""
    q = select(PracticeSession).where(PracticeSession.id == session_id)
    if for_update:
        q = q.with_for_update()
    return s.scalar(q)


def list_turns(s: Session, session_id: str, *, after_seq: int = 0) -> list[Turn]:
    """Turns of a session in order, optionally only those after ``after_seq``."""
    q = select(Turn).where(Turn.session_id == session_id, Turn.seq > after_seq).order_by(Turn.seq)
    return list(s.scalars(q).all())


def last_turn(s: Session, session_id: str, *, role: TurnRole | str | None = None) -> Turn | None:
    """The session's latest turn (of ``role``, when given) — one row, not the whole transcript."""
    q = select(Turn).where(Turn.session_id == session_id)
    if role is not None:
        q = q.where(Turn.role == TurnRole(role).value)
    return s.scalar(q.order_by(Turn.seq.desc()).limit(1))


def active_session(
    s: Session, user_id: int, scenario_id: str, kind: SessionKind | str = SessionKind.PRACTICE
) -> PracticeSession | None:
    """The user's unfinished session of this scenario (to resume after a restart), newest first."""
    q = (
        select(PracticeSession)
        .where(
            PracticeSession.user_id == user_id,
            PracticeSession.scenario_id == scenario_id,
            PracticeSession.kind == SessionKind(kind).value,
            PracticeSession.status == SessionStatus.ACTIVE.value,
        )
        .order_by(PracticeSession.started_at.desc())
        .limit(1)
    )
    return s.scalar(q)


def list_sessions(
    s: Session,
    *,
    user_id: int | None = None,
    scenario_id: str | None = None,
    status: SessionStatus | str | None = None,
    kinds: Sequence[SessionKind | str] | None = None,
    limit: int = 200,
) -> list[tuple[PracticeSession, Grade | None]]:
    """Sessions (newest first) with their grade, filtered."""
    q = select(PracticeSession, Grade).outerjoin(Grade, Grade.session_id == PracticeSession.id)
    if user_id is not None:
        q = q.where(PracticeSession.user_id == user_id)
    if scenario_id is not None:
        q = q.where(PracticeSession.scenario_id == scenario_id)
    if status is not None:
        q = q.where(PracticeSession.status == SessionStatus(status).value)
    if kinds:
        q = q.where(PracticeSession.kind.in_([SessionKind(k).value for k in kinds]))
    q = q.order_by(PracticeSession.started_at.desc()).limit(limit)
    return [(a, b) for a, b in s.execute(q).all()]


def count_turns(s: Session, session_id: str) -> int:
    """Number of turns stored for a session."""
    return s.scalar(select(func.count(Turn.id)).where(Turn.session_id == session_id)) or 0
