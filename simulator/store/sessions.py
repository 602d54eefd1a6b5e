"""Conversations: the ``sessions`` table and its append-only ``turns``; store a session turn by turn, load it back.

A conversation is stored once: the session row holds what the session is (scenario, seed, variables, status,
outcome, the customer's small state) and each turn is one row, appended and never changed (a trigger refuses
UPDATE and DELETE). :func:`load_session` rebuilds the engine's :class:`~simulator.session.Session` from them.

* ``kind`` is practice | exam | playtest and ``exam_attempt_id`` links an exam attempt; ``seed`` +
  ``variables`` + ``scenario_digest`` make every attempt reproducible even after the scenario file changes.
* Turns carry server-measured times; analytics and exports read the exact transcript the trainee saw.
* Several simultaneous buyers on one workbench are several sessions of one user, each with its own state.

Every function takes an open SQLAlchemy ``Session`` (called ``s``); callers decide the transaction. The rule the
web app relies on: :func:`append_turns` and the state it saves are in the same transaction, and the page
acknowledges a turn only after that transaction committed — so a crash loses nothing the trainee saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.customer.state import CustomerState
from simulator.scenario.vocabulary import Act, Locale, Mood, Outcome
from simulator.session import Session as Conversation
from simulator.session import SessionKind, SessionStatus, as_utc
from simulator.store.schema import Base, JsonType, clean_text, new_uuid, utcnow
from simulator.turn import Speaker, Turn, TurnKind, TurnSource, Usage


class SessionRecord(Base):
    """One conversation with a simulated customer: practice, exam attempt or trainer play-test."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    kind: Mapped[str] = mapped_column(String(16), default=SessionKind.PRACTICE.value)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scenario_id: Mapped[str] = mapped_column(String(80))
    scenario_digest: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    variables: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    locale: Mapped[str] = mapped_column(String(8), default="zh-CN")
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.ACTIVE.value)
    outcome: Mapped[str | None] = mapped_column(String(24), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The customer engine that plays the buyer (scripted, llm) and its state after the last answer.
    customer: Mapped[str] = mapped_column(String(16), default="scripted")
    customer_state: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    # Turns the customer has answered (seq); a later agent turn is waiting for the customer's answer.
    answered_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    exam_attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_sessions_user_scenario", "user_id", "scenario_id"),
        Index("ix_sessions_status", "status"),
    )

    @property
    def active(self) -> bool:
        """Replies are still accepted."""
        return self.status == SessionStatus.ACTIVE.value

    @property
    def awaiting_answer(self) -> bool:
        """A trainee message waits for the customer's answer."""
        return self.active and self.last_seq > self.answered_seq


class TurnRecord(Base):
    """One message, notice or action of a session. Append-only; ``seq`` is 1, 2, 3 … within the session."""

    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=TurnKind.MESSAGE.value)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Agent turns: milliseconds since the customer's previous message, measured by the server.
    response_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Customer turns: beat_id, mood, patience, source, usage; agent turns: acts.
    meta: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)

    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_turns_session_seq"),)


# ---------------------------------------------------------------------------------------------------------
# Turn ↔ row


def _meta(turn: Turn) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if turn.acts:
        meta["acts"] = [a.value for a in turn.acts]
    if turn.beat is not None:
        meta["beat_id"] = turn.beat
    if turn.mood is not None:
        meta["mood"] = turn.mood.value
    if turn.patience is not None:
        meta["patience"] = turn.patience
    if turn.source is not None:
        meta["source"] = turn.source.value
    if turn.usage is not None:
        meta["usage"] = turn.usage.model_dump()
    return meta


def turn_of(row: TurnRecord, started_at: datetime) -> Turn:
    """The engine's turn for a stored row (times as seconds since ``started_at``)."""
    meta = row.meta or {}
    return Turn(
        role=Speaker(row.role),
        kind=TurnKind(row.kind),
        text=row.text,
        at=round(max(0.0, (as_utc(row.created_at) - started_at).total_seconds()), 3),
        seq=row.seq,
        response_seconds=None if row.response_ms is None else row.response_ms / 1000,
        acts=tuple(Act(a) for a in meta.get("acts", ())),
        beat=meta.get("beat_id"),
        mood=Mood(meta["mood"]) if meta.get("mood") else None,
        patience=meta.get("patience"),
        source=TurnSource(meta["source"]) if meta.get("source") else None,
        usage=Usage.model_validate(meta["usage"]) if meta.get("usage") else None,
    )


# ---------------------------------------------------------------------------------------------------------
# Writing


def create_session(
    s: Session, session: Conversation, *, user_id: int, exam_attempt_id: int | None = None
) -> SessionRecord:
    """Insert a started session with its turns (the customer's opening); returns the row (flushed: it has its id,
    which becomes ``session.id``)."""
    row = SessionRecord(
        kind=session.kind.value,
        user_id=user_id,
        scenario_id=session.scenario_id,
        scenario_digest=session.scenario_digest,
        seed=session.seed,
        variables=dict(session.variables),
        locale=session.locale.value,
        status=SessionStatus.ACTIVE.value,
        customer=session.customer,
        last_seq=0,
        answered_seq=0,
        exam_attempt_id=exam_attempt_id if exam_attempt_id is not None else session.exam_attempt_id,
        started_at=session.started_at,
        updated_at=session.started_at,
    )
    s.add(row)
    s.flush()
    session.id = row.id
    save_progress(s, row, session)
    return row


def save_progress(s: Session, row: SessionRecord, session: Conversation) -> list[TurnRecord]:
    """Append the session's turns the row does not have yet and save its state, status and outcome.

    Raises ``sqlalchemy.exc.IntegrityError`` if another writer appended to the same session concurrently (the
    unique ``(session_id, seq)`` constraint) — the caller's transaction then rolls back as a whole.
    """
    new = [t for t in session.turns if (t.seq or 0) > row.last_seq]
    out = append_turns(s, row, new, started_at=session.started_at)
    row.customer_state = session.state.model_dump(mode="json")
    row.customer = session.customer
    row.answered_seq = session.answered
    row.status = session.status.value
    row.outcome = session.outcome.value if session.outcome is not None else None
    row.end_reason = session.end_reason
    row.ended_at = session.ended_at
    s.flush()
    return out


def append_turns(s: Session, row: SessionRecord, turns: Sequence[Turn], *, started_at: datetime) -> list[TurnRecord]:
    """Append turns after the row's last one (their ``seq`` must continue it); nothing else changes."""
    out: list[TurnRecord] = []
    for t in turns:
        if t.seq != row.last_seq + 1:
            raise ValueError(f"turn seq {t.seq} does not follow {row.last_seq} in session {row.id}")
        record = TurnRecord(
            session_id=row.id,
            seq=t.seq,
            role=t.role.value,
            kind=t.kind.value,
            text=clean_text(t.text),
            created_at=started_at + timedelta(seconds=t.at or 0.0),
            response_ms=None if t.response_seconds is None else round(t.response_seconds * 1000),
            meta=_meta(t),
        )
        s.add(record)
        out.append(record)
        row.last_seq = t.seq
    if out:
        row.updated_at = utcnow()
        s.flush()
    return out


# ---------------------------------------------------------------------------------------------------------
# Reading


def to_session(row: SessionRecord, turns: Sequence[TurnRecord], *, max_reply_chars: int = 2000) -> Conversation:
    """The engine's session for a stored row and its turns."""
    # The opening may carry an earlier time than the row (rows written before the start time was shared).
    started = min([as_utc(row.started_at), *(as_utc(t.created_at) for t in turns[:1])])
    return Conversation(
        id=row.id,
        kind=SessionKind(row.kind),
        scenario_id=row.scenario_id,
        scenario_digest=row.scenario_digest,
        locale=Locale(row.locale),
        seed=row.seed,
        variables=dict(row.variables or {}),
        trainee_id=str(row.user_id),
        exam_attempt_id=row.exam_attempt_id,
        customer=row.customer,
        status=SessionStatus(row.status),
        outcome=Outcome(row.outcome) if row.outcome else None,
        end_reason=row.end_reason,
        started_at=started,
        ended_at=as_utc(row.ended_at) if row.ended_at else None,
        max_reply_chars=max_reply_chars,
        state=CustomerState.model_validate(row.customer_state or {}),
        answered=row.answered_seq,
        turns=[turn_of(t, started) for t in turns],
    )


def load_session(
    s: Session, session_id: str, *, for_update: bool = False, max_reply_chars: int = 2000
) -> tuple[SessionRecord, Conversation] | None:
    """The stored row and the engine's session, or ``None`` (``for_update`` locks the row on PostgreSQL)."""
    row = get_session(s, session_id, for_update=for_update)
    if row is None:
        return None
    return row, to_session(row, list_turns(s, session_id), max_reply_chars=max_reply_chars)


def get_session(s: Session, session_id: str, *, for_update: bool = False) -> SessionRecord | None:
    """The session row with this id, or ``None`` (``for_update`` locks the row on PostgreSQL)."""
    q = select(SessionRecord).where(SessionRecord.id == session_id)
    if for_update:
        q = q.with_for_update()
    return s.scalar(q)


def list_turns(s: Session, session_id: str, *, after_seq: int = 0) -> list[TurnRecord]:
    """Turn rows of a session in order, optionally only those after ``after_seq``."""
    q = select(TurnRecord).where(TurnRecord.session_id == session_id, TurnRecord.seq > after_seq)
    return list(s.scalars(q.order_by(TurnRecord.seq)).all())


def last_turn(s: Session, session_id: str, *, role: Speaker | str | None = None) -> TurnRecord | None:
    """The session's latest turn row (of ``role``, when given) — one row, not the whole transcript."""
    q = select(TurnRecord).where(TurnRecord.session_id == session_id)
    if role is not None:
        q = q.where(TurnRecord.role == Speaker(role).value)
    return s.scalar(q.order_by(TurnRecord.seq.desc()).limit(1))


def active_session(
    s: Session, user_id: int, scenario_id: str, kind: SessionKind | str = SessionKind.PRACTICE
) -> SessionRecord | None:
    """The user's unfinished session of this scenario (to resume after a restart), newest first."""
    q = (
        select(SessionRecord)
        .where(
            SessionRecord.user_id == user_id,
            SessionRecord.scenario_id == scenario_id,
            SessionRecord.kind == SessionKind(kind).value,
            SessionRecord.status == SessionStatus.ACTIVE.value,
        )
        .order_by(SessionRecord.started_at.desc())
        .limit(1)
    )
    return s.scalar(q)


def count_turns(s: Session, session_id: str) -> int:
    """Number of turns stored for a session."""
    return s.scalar(select(func.count(TurnRecord.id)).where(TurnRecord.session_id == session_id)) or 0
