"""Assignments: a trainer asks a trainee to practise a scenario (by a due date)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, clean_text, utcnow


class Assignment(Base):
    """A trainer asks a trainee to practise a scenario (by a due date)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scenario_id: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def create_assignment(
    s: Session,
    *,
    trainer_id: int,
    trainee_id: int,
    scenario_id: str,
    due_at: datetime | None = None,
    note: str = "",
) -> Assignment:
    """A trainer assigns a scenario to a trainee."""
    row = Assignment(
        trainer_id=trainer_id, trainee_id=trainee_id, scenario_id=scenario_id, due_at=due_at, note=clean_text(note)
    )
    s.add(row)
    s.flush()
    return row


def assignments_for(s: Session, trainee_id: int) -> Sequence[Assignment]:
    """A trainee's assignments, soonest due first (no due date last)."""
    q = (
        select(Assignment)
        .where(Assignment.trainee_id == trainee_id)
        .order_by(Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at)
    )
    return s.scalars(q).all()
