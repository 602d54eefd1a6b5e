"""1:1 coaching notes: what a trainer and a trainee went through together (DOMAIN.md: 15–30 minutes, three or
more times in seven days for an individual problem), optionally about a plan's criterion."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, clean_text, utcnow


class CoachingNote(Base):
    """One 1:1 coaching session, written down by the trainer."""

    __tablename__ = "coaching_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("training_plans.id"), nullable=True, index=True)
    criterion: Mapped[str | None] = mapped_column(String(80), nullable=True)
    minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def add_note(
    s: Session,
    *,
    trainee_id: int,
    author_id: int,
    text: str,
    plan_id: int | None = None,
    criterion: str | None = None,
    minutes: int | None = None,
) -> CoachingNote:
    """Write a coaching note."""
    note = CoachingNote(
        trainee_id=trainee_id,
        author_id=author_id,
        text=clean_text(text).strip(),
        plan_id=plan_id,
        criterion=criterion or None,
        minutes=minutes,
    )
    s.add(note)
    s.flush()
    return note


def notes_for(s: Session, trainee_id: int) -> Sequence[CoachingNote]:
    """A trainee's coaching notes, newest first."""
    q = select(CoachingNote).where(CoachingNote.trainee_id == trainee_id)
    return s.scalars(q.order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())).all()


def notes_of_plan(s: Session, plan_id: int) -> Sequence[CoachingNote]:
    """A plan's coaching notes, oldest first."""
    q = select(CoachingNote).where(CoachingNote.plan_id == plan_id)
    return s.scalars(q.order_by(CoachingNote.created_at, CoachingNote.id)).all()
