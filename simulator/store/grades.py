"""Grades: the ``grades`` table — the grader's :class:`~simulator.grading.result.Grade` of a finished session.

The whole grade is stored as its JSON form and read back as a typed ``Grade``; the scores are also columns so
lists and analytics can sort and filter without reading the JSON. ``None`` in a dimension means unscored,
never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.grading.result import Grade
from simulator.session import SessionKind, SessionStatus
from simulator.store.schema import Base, JsonType, utcnow
from simulator.store.sessions import SessionRecord


class GradeRecord(Base):
    """The stored grade of one session."""

    __tablename__ = "grades"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), unique=True)
    overall: Mapped[float | None] = mapped_column(Float, nullable=True)
    service: Mapped[float | None] = mapped_column(Float, nullable=True)
    technique: Mapped[float | None] = mapped_column(Float, nullable=True)
    knowledge: Mapped[float | None] = mapped_column(Float, nullable=True)
    process: Mapped[float | None] = mapped_column(Float, nullable=True)
    red_line: Mapped[bool] = mapped_column(Boolean, default=False)
    # Grade.to_dict(): criteria, findings with evidence and better replies, metrics such as 答问比.
    detail: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    grader_version: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def grade(self) -> Grade:
        """The typed grade."""
        return Grade.from_dict(self.detail)


def save_grade(s: Session, session_id: str, grade: Grade, *, grader_version: str) -> GradeRecord:
    """Store (or replace) the grade of a session.

    Two graders may finish the same session at once (the background worker of the instance that ended it and
    the report page on another): the session row's lock makes the second replace the first's grade instead of
    failing on the unique ``grades.session_id``.
    """
    s.execute(select(SessionRecord.id).where(SessionRecord.id == session_id).with_for_update())
    row = s.scalar(select(GradeRecord).where(GradeRecord.session_id == session_id))
    if row is None:
        row = GradeRecord(session_id=session_id)
        s.add(row)
    scores = {d.value: score.score for d, score in grade.dimensions.items()}
    row.overall = grade.overall
    row.service = scores.get("service")
    row.technique = scores.get("technique")
    row.knowledge = scores.get("knowledge")
    row.process = scores.get("process")
    row.red_line = bool(grade.red_lines)
    row.detail = grade.to_dict()
    row.grader_version = grader_version
    s.flush()
    return row


def get_grade(s: Session, session_id: str) -> GradeRecord | None:
    """The stored grade of a session, or ``None`` when it has not been graded."""
    return s.scalar(select(GradeRecord).where(GradeRecord.session_id == session_id))


def list_sessions(
    s: Session,
    *,
    user_id: int | None = None,
    scenario_id: str | None = None,
    status: SessionStatus | str | None = None,
    kinds: Sequence[SessionKind | str] | None = None,
    limit: int = 200,
) -> list[tuple[SessionRecord, GradeRecord | None]]:
    """Sessions (newest first) with their grade, filtered."""
    q = select(SessionRecord, GradeRecord).outerjoin(GradeRecord, GradeRecord.session_id == SessionRecord.id)
    if user_id is not None:
        q = q.where(SessionRecord.user_id == user_id)
    if scenario_id is not None:
        q = q.where(SessionRecord.scenario_id == scenario_id)
    if status is not None:
        q = q.where(SessionRecord.status == SessionStatus(status).value)
    if kinds:
        q = q.where(SessionRecord.kind.in_([SessionKind(k).value for k in kinds]))
    q = q.order_by(SessionRecord.started_at.desc()).limit(limit)
    return [(a, b) for a, b in s.execute(q).all()]
