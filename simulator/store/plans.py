"""Training plans: what a trainer decided to do about one problem — the criterion, the problem type and its
training mode, the scenarios that exercise it, the people (each with their figures before the plan), the due date.

The plan's practice and retest assignments are rows of ``assignments`` carrying ``plan_id``; 1:1 coaching notes
may name the plan. :mod:`simulator.analytics.plans` creates plans from a classified problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from simulator.store.schema import Base, JsonType, utcnow


class TrainingPlan(Base):
    """One plan about one criterion."""

    __tablename__ = "training_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    criterion: Mapped[str] = mapped_column(String(80), index=True)
    dimension: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # individual | common | recurring | sudden (the problem it answers) or manual
    problem_type: Mapped[str] = mapped_column(String(16))
    # coaching | class-coaching | standup (the training mode, DOMAIN.md)
    mode: Mapped[str] = mapped_column(String(24))
    trainer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    scenario_ids: Mapped[list[str]] = mapped_column(JsonType, default=list)
    # The window the problem was found in, and the figures that made it one
    evidence: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PlanMember(Base):
    """A person in a plan, with their loss rate on the criterion before it."""

    __tablename__ = "plan_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plans.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # One of the weakest: 1:1 follow-up after the class
    focus: Mapped[bool] = mapped_column(Boolean, default=False)
    before_n: Mapped[int] = mapped_column(Integer, default=0)
    before_lost: Mapped[int] = mapped_column(Integer, default=0)
    # When their training assignment was done (the retests count from here)
    trained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (UniqueConstraint("plan_id", "user_id", name="uq_plan_members_plan_user"),)


def get_plan(s: Session, plan_id: int) -> TrainingPlan | None:
    """The plan with this id."""
    return s.get(TrainingPlan, plan_id)


def list_plans(s: Session, *, trainer_id: int | None = None, limit: int = 200) -> Sequence[TrainingPlan]:
    """Plans, newest first (one trainer's, when given)."""
    q = select(TrainingPlan)
    if trainer_id is not None:
        q = q.where(TrainingPlan.trainer_id == trainer_id)
    return s.scalars(q.order_by(TrainingPlan.id.desc()).limit(limit)).all()


def plan_members(s: Session, plan_id: int) -> Sequence[PlanMember]:
    """The people of a plan."""
    return s.scalars(select(PlanMember).where(PlanMember.plan_id == plan_id).order_by(PlanMember.id)).all()


def memberships(s: Session, user_id: int) -> Sequence[PlanMember]:
    """Every plan a person is in."""
    return s.scalars(select(PlanMember).where(PlanMember.user_id == user_id)).all()
