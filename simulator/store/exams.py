"""Exams: scheduled windows (for a trainee or a group), attempts with their frozen definition and per-part
deadlines, the written answers (each committed before it is acknowledged) and what happened on the exam page
(pastes, leaving the page, a second tab).

Deadlines are absolute UTC times stored with the attempt: a reload or a server restart resumes the timer from the
server's clock, and anything that arrives after a deadline is refused. Every function takes an open SQLAlchemy
``Session`` (``s``); callers decide the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.groups import GroupMember
from simulator.store.schema import Base, JsonType, utcnow


class ExamWindow(Base):
    """When a trainee (or every member of a group) may take an exam."""

    __tablename__ = "exam_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exam_id: Mapped[str] = mapped_column(String(80), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True, index=True)
    opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # "scheduled" by an exam owner, or "recertification" scheduled before a certificate lapses.
    kind: Mapped[str] = mapped_column(String(16), default="scheduled")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ExamAttempt(Base):
    """One sitting of an exam by one trainee, with everything needed to replay and re-decide it."""

    __tablename__ = "exam_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exam_id: Mapped[str] = mapped_column(String(80), index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("exam_windows.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 … for this trainee and exam
    # in-progress → submitted (every part closed, grading) → graded (verdict decided)
    status: Mapped[str] = mapped_column(String(16), default="in-progress", index=True)
    seed: Mapped[int] = mapped_column(Integer)
    exam_digest: Mapped[str] = mapped_column(String(80))
    # The exam definition, the drawn questions (and the banks' text of them), every role-play's scenario (digest
    # and content) and drawn variant: the attempt replays and re-grades exactly, whatever the files say later.
    frozen: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # Per part: started_at, deadline, submitted_at, reason (trainee | deadline | window) and, for role-plays, the
    # conversation ids in order.
    parts: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    part_index: Mapped[int] = mapped_column(Integer, default=0)
    tab: Mapped[str | None] = mapped_column(String(40), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The verdict (simulator.exam.verdict.Verdict.to_dict) and its headline, as columns for lists.
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    result: Mapped[str | None] = mapped_column(String(16), nullable=True)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    grader_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The grader calibration the verdict was decided with (issue 10); None until calibration profiles exist.
    calibration_profile: Mapped[str | None] = mapped_column(String(80), nullable=True)
    calibration_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # After a failed attempt: the practice plan on the criteria failed (scenario ids and why).
    plan: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)

    __table_args__ = (UniqueConstraint("user_id", "exam_id", "number", name="uq_exam_attempts_user_exam_number"),)

    @property
    def in_progress(self) -> bool:
        """Answers are still accepted (in the current part, before its deadline)."""
        return self.status == "in-progress"


class ExamAnswer(Base):
    """The trainee's current answer to one drawn question (saved on every change, committed before the ack)."""

    __tablename__ = "exam_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    part_id: Mapped[str] = mapped_column(String(80))
    question: Mapped[str] = mapped_column(String(160))  # bank/question
    answer: Mapped[Any] = mapped_column(JsonType, nullable=True)
    saved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    changes: Mapped[int] = mapped_column(Integer, default=1)
    # How it scored (simulator.exam.questions.AnswerResult.to_dict), once the attempt is graded.
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)

    __table_args__ = (UniqueConstraint("attempt_id", "question", name="uq_exam_answers_attempt_question"),)


class ExamEvent(Base):
    """Something that happened on the exam page, recorded (never blocked) and shown to the reviewer."""

    __tablename__ = "exam_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("exam_attempts.id"), index=True)
    # paste | away | back | new-tab | stale-tab | late-answer | auto-submit | part-start | part-submit
    kind: Mapped[str] = mapped_column(String(24))
    part_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)


# ---------------------------------------------------------------------------------------------------------
# Windows


def create_window(
    s: Session,
    *,
    exam_id: str,
    opens_at: datetime,
    closes_at: datetime,
    user_id: int | None = None,
    group_id: int | None = None,
    created_by: int | None = None,
    kind: str = "scheduled",
    note: str = "",
) -> ExamWindow:
    """A new window for one trainee or one group."""
    row = ExamWindow(
        exam_id=exam_id,
        user_id=user_id,
        group_id=group_id,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=created_by,
        kind=kind,
        note=note.replace("\x00", ""),
    )
    s.add(row)
    s.flush()
    return row


def windows_for_user(s: Session, user_id: int) -> Sequence[ExamWindow]:
    """Windows scheduled for the user or a group they belong to (not cancelled), soonest closing first."""
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    q = (
        select(ExamWindow)
        .where(ExamWindow.cancelled_at.is_(None))
        .where(or_(ExamWindow.user_id == user_id, ExamWindow.group_id.in_(groups)))
        .order_by(ExamWindow.closes_at)
    )
    return s.scalars(q).all()


def list_windows(s: Session, *, limit: int = 200) -> Sequence[ExamWindow]:
    """Every window, latest closing first."""
    return s.scalars(select(ExamWindow).order_by(ExamWindow.closes_at.desc()).limit(limit)).all()


def get_window(s: Session, window_id: int) -> ExamWindow | None:
    """The window with this id."""
    return s.get(ExamWindow, window_id)


# ---------------------------------------------------------------------------------------------------------
# Attempts


def get_attempt(s: Session, attempt_id: int, *, for_update: bool = False) -> ExamAttempt | None:
    """The attempt with this id (``for_update`` locks its row on PostgreSQL)."""
    q = select(ExamAttempt).where(ExamAttempt.id == attempt_id)
    if for_update:
        q = q.with_for_update()
    return s.scalar(q)


def attempts_of(s: Session, user_id: int, exam_id: str | None = None) -> Sequence[ExamAttempt]:
    """A trainee's attempts (of one exam), oldest first."""
    q = select(ExamAttempt).where(ExamAttempt.user_id == user_id)
    if exam_id is not None:
        q = q.where(ExamAttempt.exam_id == exam_id)
    return s.scalars(q.order_by(ExamAttempt.started_at, ExamAttempt.id)).all()


def list_attempts(
    s: Session,
    *,
    status: str | None = None,
    window_id: int | None = None,
    exam_id: str | None = None,
    limit: int = 500,
) -> Sequence[ExamAttempt]:
    """Attempts, newest first, filtered."""
    q = select(ExamAttempt)
    if status is not None:
        q = q.where(ExamAttempt.status == status)
    if window_id is not None:
        q = q.where(ExamAttempt.window_id == window_id)
    if exam_id is not None:
        q = q.where(ExamAttempt.exam_id == exam_id)
    return s.scalars(q.order_by(ExamAttempt.started_at.desc(), ExamAttempt.id.desc()).limit(limit)).all()


def frozen_scenario(s: Session, attempt_id: int, scenario_id: str) -> dict[str, Any] | None:
    """The scenario content an attempt was played on (what :meth:`~simulator.engine.Engine.scenario_of` uses)."""
    frozen = s.scalar(select(ExamAttempt.frozen).where(ExamAttempt.id == attempt_id))
    if not frozen:
        return None
    entry = (frozen.get("scenarios") or {}).get(scenario_id)
    return None if entry is None else entry.get("scenario")


# ---------------------------------------------------------------------------------------------------------
# Answers and events


def save_answer(s: Session, attempt_id: int, part_id: str, question: str, answer: Any, at: datetime) -> ExamAnswer:
    """Store (or replace) the answer to one question."""
    row = s.scalar(select(ExamAnswer).where(ExamAnswer.attempt_id == attempt_id, ExamAnswer.question == question))
    if row is None:
        row = ExamAnswer(
            attempt_id=attempt_id, part_id=part_id, question=question, answer=answer, saved_at=at, changes=1
        )
        s.add(row)
    else:
        row.answer = answer
        row.saved_at = at
        row.changes += 1
    s.flush()
    return row


def answers_of(s: Session, attempt_id: int) -> dict[str, ExamAnswer]:
    """An attempt's answers by question key."""
    rows = s.scalars(select(ExamAnswer).where(ExamAnswer.attempt_id == attempt_id)).all()
    return {r.question: r for r in rows}


def add_event(
    s: Session,
    attempt_id: int,
    kind: str,
    *,
    at: datetime,
    part_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> ExamEvent:
    """Record something that happened on the exam page."""
    row = ExamEvent(attempt_id=attempt_id, kind=kind[:24], part_id=part_id, at=at, detail=detail or {})
    s.add(row)
    s.flush()
    return row


def events_of(s: Session, attempt_id: int) -> Sequence[ExamEvent]:
    """An attempt's events in order."""
    return s.scalars(
        select(ExamEvent).where(ExamEvent.attempt_id == attempt_id).order_by(ExamEvent.at, ExamEvent.id)
    ).all()


def event_counts(s: Session, attempt_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per attempt, how many events of each kind (the live view's columns)."""
    from sqlalchemy import func

    if not attempt_ids:
        return {}
    q = (
        select(ExamEvent.attempt_id, ExamEvent.kind, func.count(ExamEvent.id))
        .where(ExamEvent.attempt_id.in_(list(attempt_ids)))
        .group_by(ExamEvent.attempt_id, ExamEvent.kind)
    )
    out: dict[int, dict[str, int]] = {}
    for aid, kind, n in s.execute(q).all():
        out.setdefault(aid, {})[kind] = n
    return out
