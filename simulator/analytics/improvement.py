"""Proof of improvement: per criterion and agent, the loss rate before a training plan against after the person's
training, in practice (and exams) and in real chats apart.

*Before* is the ``window_days`` before the plan was created; *after* runs from the day after the person finished
their training assignment (or, before they have, from the plan's creation) to today. A rate needs at least one
conversation that scored the criterion; with none the cell says so rather than showing 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from simulator.analytics.plans import local_date
from simulator.analytics.problems import Count
from simulator.analytics.scope import today
from simulator.store.facts import CriterionFact
from simulator.store.plans import PlanMember, TrainingPlan, plan_members
from simulator.store.users import User

SIDES = {"simulation": ("practice", "exam"), "real": ("real",)}


@dataclass
class Change:
    """Before and after for one side (simulation or real)."""

    before: Count
    after: Count

    @property
    def delta(self) -> float | None:
        """After minus before, in percentage points of loss rate (negative = better); None without both."""
        if not self.before.n or not self.after.n:
            return None
        return round(100 * (self.after.rate - self.before.rate), 1)


@dataclass
class AgentImprovement:
    """One person in one plan."""

    plan_id: int
    criterion: str
    user_id: int
    name: str
    trained: bool
    sides: dict[str, Change]


def _count(s: Session, user_id: int, criterion: str, sources: Sequence[str], start: date, end: date) -> Count:
    lost = func.sum(case((CriterionFact.lost, 1), else_=0))
    q = select(func.count(), lost).where(
        CriterionFact.user_id == user_id,
        CriterionFact.criterion == criterion,
        CriterionFact.source.in_(list(sources)),
        CriterionFact.day >= start,
        CriterionFact.day <= end,
    )
    n, lo = s.execute(q).one()
    return Count(int(n or 0), int(lo or 0))


def of_plan(s: Session, plan: TrainingPlan, *, tz: str, window_days: int = 14) -> list[AgentImprovement]:
    """Before vs after for every member of a plan."""
    created = local_date(plan.created_at, tz)
    before_start, before_end = created - timedelta(days=window_days), created - timedelta(days=1)
    end = today(tz)
    names = dict(s.execute(select(User.id, User.display_name)).all())
    out = []
    for m in plan_members(s, plan.id):
        after_start = local_date(m.trained_at, tz) + timedelta(days=1) if m.trained_at else created
        sides = {
            name: Change(
                _count(s, m.user_id, plan.criterion, sources, before_start, before_end),
                _count(s, m.user_id, plan.criterion, sources, after_start, end) if after_start <= end else Count(),
            )
            for name, sources in SIDES.items()
        }
        out.append(
            AgentImprovement(
                plan.id,
                plan.criterion,
                m.user_id,
                names.get(m.user_id, str(m.user_id)),
                m.trained_at is not None,
                sides,
            )
        )
    return out


def team_change(rows: Sequence[AgentImprovement]) -> dict[str, Change]:
    """The plan's people together, per side."""
    out: dict[str, Change] = {}
    for name in SIDES:
        before, after = Count(), Count()
        for r in rows:
            before = before + r.sides[name].before
            after = after + r.sides[name].after
        out[name] = Change(before, after)
    return out


def plans_in_scope(s: Session, people: Sequence[int] | None, *, limit: int = 20) -> list[TrainingPlan]:
    """The latest plans with at least one member in scope."""
    q = select(TrainingPlan).order_by(TrainingPlan.id.desc()).limit(limit)
    if people is not None:
        q = q.where(TrainingPlan.id.in_(select(PlanMember.plan_id).where(PlanMember.user_id.in_(list(people)))))
    return list(s.scalars(q))
