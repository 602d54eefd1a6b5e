"""A trainer's review of a report: comments, and overrides of the grader's findings.

An override says a finding was wrong (``rejected``: the points come back) or cost the wrong amount
(``adjusted``: ``points`` is what it should have cost). It keeps a copy of the finding as the grader made it —
criterion, dimension, turn, evidence, message, points and the grader's version — so grader calibration (issue 10)
can read what trainers disagree with from this table alone, without the grade's JSON. The latest override of a
finding replaces the earlier one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, clean_text, utcnow


class OverrideAction(StrEnum):
    """What the reviewer decided about a finding."""

    REJECTED = "rejected"
    ADJUSTED = "adjusted"


class ReportComment(Base):
    """A comment on a report (on one of its turns, or on the whole conversation)."""

    __tablename__ = "report_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    turn: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FindingOverride(Base):
    """A reviewer's decision about one finding of one graded conversation."""

    __tablename__ = "finding_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    # Which finding: its criterion, its turn (-1 = the whole conversation) and its position among the findings of
    # that criterion on that turn
    criterion: Mapped[str] = mapped_column(String(80))
    turn: Mapped[int] = mapped_column(Integer)
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    dimension: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    # adjusted: what the finding should have cost
    points: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # The finding as the grader made it
    original_points: Mapped[float] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    grader_version: Mapped[str] = mapped_column(String(40), default="")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("session_id", "criterion", "turn", "ordinal", name="uq_finding_overrides_finding"),
    )


def add_comment(s: Session, session_id: str, author_id: int, text: str, *, turn: int | None = None) -> ReportComment:
    """Comment on a report."""
    row = ReportComment(session_id=session_id, author_id=author_id, text=clean_text(text).strip(), turn=turn)
    s.add(row)
    s.flush()
    return row


def comments_on(s: Session, session_id: str) -> Sequence[ReportComment]:
    """A report's comments, oldest first."""
    q = select(ReportComment).where(ReportComment.session_id == session_id)
    return s.scalars(q.order_by(ReportComment.created_at, ReportComment.id)).all()


def overrides_of(s: Session, session_id: str) -> Sequence[FindingOverride]:
    """A report's finding overrides."""
    q = select(FindingOverride).where(FindingOverride.session_id == session_id)
    return s.scalars(q.order_by(FindingOverride.id)).all()


def save_override(s: Session, row: FindingOverride) -> FindingOverride:
    """Store an override, replacing an earlier one of the same finding."""
    old = s.scalar(
        select(FindingOverride).where(
            FindingOverride.session_id == row.session_id,
            FindingOverride.criterion == row.criterion,
            FindingOverride.turn == row.turn,
            FindingOverride.ordinal == row.ordinal,
        )
    )
    if old is not None:
        s.delete(old)
        s.flush()
    row.reason = clean_text(row.reason).strip()
    s.add(row)
    s.flush()
    return row


def remove_override(s: Session, session_id: str, override_id: int) -> bool:
    """Withdraw an override (the grader's finding stands again)."""
    row = s.get(FindingOverride, override_id)
    if row is None or row.session_id != session_id:
        return False
    s.delete(row)
    s.flush()
    return True
