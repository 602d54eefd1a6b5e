"""Assignments: a trainer asks a trainee to practise a scenario (by a due date) — on its own, as part of a training
plan, or as a spaced retest of a plan's criterion.

Status: ``open`` until the trainee starts the scenario, ``in-progress`` once they have, ``done`` when an attempt
started after the assignment was graded (the attempt, its score and whether it kept the plan's criterion are
recorded). ``overdue`` is not stored: :attr:`Assignment.shown_status` says it when an unfinished assignment is past
its due date. :mod:`simulator.analytics.plans` moves assignments along as trainees play.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.session import as_utc
from simulator.store.schema import Base, clean_text, utcnow


class AssignmentStatus(StrEnum):
    """Where an assignment is (``overdue`` is shown, never stored)."""

    OPEN = "open"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    OVERDUE = "overdue"


class AssignmentKind(StrEnum):
    """Why it was assigned."""

    PRACTICE = "practice"
    RETEST = "retest"


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
    # -- 质培联动 (revision 0005) ----------------------------------------------------------------------------
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("training_plans.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16), default=AssignmentKind.PRACTICE.value, server_default="practice")
    # The plan's criterion (what a retest checks); None for a plain assignment
    criterion: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # 0 = the training itself, 1, 2 … = the retests after it
    round: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Retests: not before (spacing is the point)
    available_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=AssignmentStatus.OPEN.value, server_default="open")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    # The completing attempt lost no points on ``criterion`` (None: no criterion, or the attempt did not score it)
    criterion_kept: Mapped[bool | None] = mapped_column(Boolean, nullable=True)

    def shown_status(self, now: datetime | None = None) -> AssignmentStatus:
        """The status to show: ``overdue`` for an unfinished assignment past its due date."""
        if self.status == AssignmentStatus.DONE.value:
            return AssignmentStatus.DONE
        if self.due_at is not None and as_utc(self.due_at) < (now or utcnow()):
            return AssignmentStatus.OVERDUE
        return AssignmentStatus(self.status)

    def available(self, now: datetime | None = None) -> bool:
        """May be played now (a retest waits for its day)."""
        return self.available_at is None or as_utc(self.available_at) <= (now or utcnow())


def create_assignment(
    s: Session,
    *,
    trainer_id: int,
    trainee_id: int,
    scenario_id: str,
    due_at: datetime | None = None,
    note: str = "",
    plan_id: int | None = None,
    kind: AssignmentKind = AssignmentKind.PRACTICE,
    criterion: str | None = None,
    round: int = 0,
    available_at: datetime | None = None,
) -> Assignment:
    """A trainer assigns a scenario to a trainee."""
    row = Assignment(
        trainer_id=trainer_id,
        trainee_id=trainee_id,
        scenario_id=scenario_id,
        due_at=due_at,
        note=clean_text(note),
        plan_id=plan_id,
        kind=kind.value,
        criterion=criterion,
        round=round,
        available_at=available_at,
        status=AssignmentStatus.OPEN.value,
    )
    s.add(row)
    s.flush()
    return row


def assignments_for(s: Session, trainee_id: int, *, include_done: bool = False) -> Sequence[Assignment]:
    """A trainee's assignments, soonest due first (no due date last); unfinished ones unless ``include_done``."""
    q = select(Assignment).where(Assignment.trainee_id == trainee_id)
    if not include_done:
        q = q.where(Assignment.status != AssignmentStatus.DONE.value)
    q = q.order_by(Assignment.due_at.is_(None), Assignment.due_at, Assignment.created_at)
    return s.scalars(q).all()


def unfinished_for_scenario(s: Session, trainee_id: int, scenario_id: str) -> Sequence[Assignment]:
    """The trainee's assignments of this scenario that are not done, oldest first."""
    q = select(Assignment).where(
        Assignment.trainee_id == trainee_id,
        Assignment.scenario_id == scenario_id,
        Assignment.status != AssignmentStatus.DONE.value,
    )
    return s.scalars(q.order_by(Assignment.created_at, Assignment.id)).all()


def plan_assignments(s: Session, plan_id: int) -> Sequence[Assignment]:
    """A plan's assignments, by trainee and round."""
    q = select(Assignment).where(Assignment.plan_id == plan_id)
    return s.scalars(q.order_by(Assignment.trainee_id, Assignment.round, Assignment.id)).all()
