"""Proof of improvement: per criterion and agent, the loss rate before a training plan against after the person's
training, in practice (and exams) and in real chats apart.

*Before* is the ``window_days`` before the plan was created; *after* runs from the day after the person finished
their training assignment (or, before they have, from the plan's creation) to today. A rate needs at least one
conversation that scored the criterion; with none the cell says so rather than showing 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from simulator.analytics.plans import local_date
from simulator.analytics.problems import Count
from simulator.analytics.scope import today
from simulator.store.facts import CriterionFact
from simulator.store.plans import PlanMember, TrainingPlan
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


def of_plan(s: Session, plan: TrainingPlan, *, tz: str, window_days: int = 14) -> list[AgentImprovement]:
    """Before vs after for every member of a plan."""
    return of_plans(s, [plan], tz=tz, window_days=window_days).get(plan.id, [])


def of_plans(
    s: Session, plans: Sequence[TrainingPlan], *, tz: str, window_days: int = 14
) -> dict[int, list[AgentImprovement]]:
    """Before vs after for every member of several plans: one aggregate query per plan (a row per person and
    side), answered from the ``(user_id, criterion, day, source, lost)`` index."""
    if not plans:
        return {}
    end = today(tz)
    members = list(
        s.scalars(select(PlanMember).where(PlanMember.plan_id.in_([p.id for p in plans])).order_by(PlanMember.id))
    )
    ids = sorted({m.user_id for m in members})
    names = dict(s.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()) if ids else {}
    out: dict[int, list[AgentImprovement]] = {p.id: [] for p in plans}
    for plan in plans:
        theirs = [m for m in members if m.plan_id == plan.id]
        if not theirs:
            continue
        made = local_date(plan.created_at, tz)
        b0, b1 = made - timedelta(days=window_days), made - timedelta(days=1)
        after = {
            m.user_id: (local_date(m.trained_at, tz) + timedelta(days=1) if m.trained_at else made) for m in theirs
        }
        f = CriterionFact
        after_day = case(*[(f.user_id == uid, day) for uid, day in after.items()], else_=end + timedelta(days=1))
        in_before = and_(f.day >= b0, f.day <= b1)
        in_after = and_(f.day >= after_day, f.day <= end)
        q = (
            select(
                f.user_id,
                f.source,
                func.sum(case((in_before, 1), else_=0)),
                func.sum(case((and_(in_before, f.lost), 1), else_=0)),
                func.sum(case((in_after, 1), else_=0)),
                func.sum(case((and_(in_after, f.lost), 1), else_=0)),
            )
            .where(f.user_id.in_(list(after)), f.criterion == plan.criterion, f.day >= b0)
            .group_by(f.user_id, f.source)
        )
        counts: dict[tuple[int, str], tuple[Count, Count]] = {}
        for uid, source, bn, bl, an, al in s.execute(q).all():
            side = "real" if source == "real" else "simulation"
            before_c, after_c = counts.get((uid, side), (Count(), Count()))
            counts[(uid, side)] = (
                before_c + Count(int(bn or 0), int(bl or 0)),
                after_c + Count(int(an or 0), int(al or 0)),
            )
        for m in theirs:
            sides = {name: Change(*counts.get((m.user_id, name), (Count(), Count()))) for name in SIDES}
            out[plan.id].append(
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
