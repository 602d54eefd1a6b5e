"""Classify what goes wrong — per criterion and agent, over a window — into the four problem types trainers use
(DOMAIN.md), each with the training mode that fits it.

For every criterion, over the window (the last ``window_days`` days of the filters' period):

1. An agent **has the problem** when they have at least ``min_conversations`` graded conversations that scored the
   criterion and lost points on it in at least ``agent_rate`` of them. A red line is a problem from its first
   crossing.
2. **突发 sudden** — the team's loss rate on the criterion rose by at least ``sudden_jump`` against the
   ``baseline_days`` before the window, to at least ``sudden_ratio`` times the baseline (the baseline and the
   window each have ``sudden_min_conversations``): something changed — a new rule, product or promotion.
   Mode: a class for everyone, then 1:1 for the weakest.
3. **多发 recurring** — an agent who finished training on the criterion (a plan's practice, within
   ``recurring_days``) has the problem again, counting only conversations after the training. Mode: short,
   repeated reminders in the daily stand-up until it is habit.
4. **共性 common** — at least ``common_agents`` agents, and at least ``common_share`` of the agents with data, have
   it: a standard, metric or process is misread. Mode: one class (30–60 min), then 1:1 for the weakest.
5. **个体 individual** — otherwise, each agent who has it: a personal gap. Mode: 1:1 coaching, 15–30 min, three
   or more times in seven days.

A sudden rise takes the whole criterion (every agent who has it is in it); otherwise recurring agents are taken
out first, and the rest are common or individual. Thresholds: :class:`~simulator.analytics.thresholds.Thresholds`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from simulator.analytics.scope import Filters, local_day
from simulator.analytics.thresholds import Thresholds
from simulator.store.facts import CriterionFact, criterion_info
from simulator.store.plans import PlanMember, TrainingPlan

RED_LINE = "red-line"


class ProblemType(StrEnum):
    """个体 / 共性 / 多发 / 突发."""

    INDIVIDUAL = "individual"
    COMMON = "common"
    RECURRING = "recurring"
    SUDDEN = "sudden"


class Mode(StrEnum):
    """The training mode that fits a problem type (DOMAIN.md)."""

    COACHING = "coaching"  # 1:1 coaching, 15–30 min, 3+ times in 7 days
    CLASS = "class"  # one class (30–60 min), then 1:1 for the weakest
    STANDUP = "standup"  # short repeated reminders in daily stand-ups until it is habit
    CLASS_COACHING = "class-coaching"  # a class for everyone, then 1:1 for the weakest


MODE_OF = {
    ProblemType.INDIVIDUAL: Mode.COACHING,
    ProblemType.COMMON: Mode.CLASS,
    ProblemType.RECURRING: Mode.STANDUP,
    ProblemType.SUDDEN: Mode.CLASS_COACHING,
}
ORDER = {ProblemType.SUDDEN: 0, ProblemType.COMMON: 1, ProblemType.RECURRING: 2, ProblemType.INDIVIDUAL: 3}


@dataclass(frozen=True)
class Count:
    """Conversations that scored a criterion, and how many lost points on it."""

    n: int = 0
    lost: int = 0

    @property
    def rate(self) -> float:
        """Share that lost points (0 without data)."""
        return self.lost / self.n if self.n else 0.0

    def __add__(self, other: Count) -> Count:
        return Count(self.n + other.n, self.lost + other.lost)


@dataclass(frozen=True)
class AgentCount:
    """One agent's figures on a criterion."""

    user_id: int
    count: Count


@dataclass
class Problem:
    """One classified problem."""

    type: ProblemType
    criterion: str
    dimension: str
    title: str
    agents: list[AgentCount]
    team: Count
    baseline: Count | None = None
    with_data: int = 0
    trained: dict[int, datetime] = field(default_factory=dict)

    @property
    def mode(self) -> Mode:
        """The recommended training mode."""
        return MODE_OF[self.type]

    @property
    def lost(self) -> int:
        """Conversations of the affected agents that lost points on the criterion."""
        return sum(a.count.lost for a in self.agents)

    @property
    def key(self) -> str:
        """Stable id within one classification (type, criterion and — for individual problems — the agent)."""
        who = f":{self.agents[0].user_id}" if self.type is ProblemType.INDIVIDUAL and self.agents else ""
        return f"{self.type.value}:{self.criterion}{who}"


def criterion_counts(
    s: Session,
    people: Sequence[int] | None,
    filters: Filters,
    start: date,
    end: date,
    *,
    criteria: Sequence[str] | None = None,
) -> dict[tuple[int, str], Count]:
    """(user, criterion) → Count over [start, end], for ``people`` (None = everyone) and the filters' sources/shop."""
    if people is not None and not people:
        return {}
    lost = func.sum(case((CriterionFact.lost, 1), else_=0))
    q = select(CriterionFact.user_id, CriterionFact.criterion, func.count(), lost).where(
        CriterionFact.day >= start, CriterionFact.day <= end, CriterionFact.source.in_(filters.sources)
    )
    if people is not None:
        q = q.where(CriterionFact.user_id.in_(list(people)))
    if filters.shop:
        q = q.where(CriterionFact.shop == filters.shop)
    if criteria is not None:
        q = q.where(CriterionFact.criterion.in_(list(criteria)))
    q = q.group_by(CriterionFact.user_id, CriterionFact.criterion)
    return {(uid, crit): Count(int(n), int(lo or 0)) for uid, crit, n, lo in s.execute(q).all()}


def criterion_counts_in(
    s: Session,
    people: Sequence[int] | None,
    filters: Filters,
    ranges: dict[str, tuple[date, date]],
) -> dict[str, dict[tuple[int, str], Count]]:
    """:func:`criterion_counts` for several day ranges in one scan of their union (conditional sums): the
    dashboard's heatmap period and the classification's window and baseline read the index once."""
    out: dict[str, dict[tuple[int, str], Count]] = {name: {} for name in ranges}
    if not ranges or (people is not None and not people):
        return out
    f = CriterionFact
    cols = []
    for lo, hi in ranges.values():
        inside = and_(f.day >= lo, f.day <= hi)
        cols += [func.sum(case((inside, 1), else_=0)), func.sum(case((and_(inside, f.lost), 1), else_=0))]
    q = select(f.user_id, f.criterion, *cols).where(
        f.day >= min(lo for lo, _ in ranges.values()),
        f.day <= max(hi for _, hi in ranges.values()),
        f.source.in_(filters.sources),
    )
    if people is not None:
        q = q.where(f.user_id.in_(list(people)))
    if filters.shop:
        q = q.where(f.shop == filters.shop)
    names = list(ranges)
    for uid, crit, *sums in s.execute(q.group_by(f.user_id, f.criterion)).all():
        for i, name in enumerate(names):
            n, lost = int(sums[2 * i] or 0), int(sums[2 * i + 1] or 0)
            if n:
                out[name][(uid, crit)] = Count(n, lost)
    return out


def criterion_titles(s: Session, criteria: Sequence[str]) -> dict[str, tuple[str, str]]:
    """criterion → (dimension, title), from the ``criteria`` table (one row per id the grader has used)."""
    return criterion_info(s, list(criteria))


def training_done(s: Session, people: Sequence[int] | None, since: datetime) -> dict[tuple[int, str], datetime]:
    """(user, criterion) → when they last finished training on it (a plan's practice), since ``since``."""
    q = (
        select(PlanMember.user_id, TrainingPlan.criterion, func.max(PlanMember.trained_at))
        .join(TrainingPlan, TrainingPlan.id == PlanMember.plan_id)
        .where(PlanMember.trained_at.is_not(None), PlanMember.trained_at >= since)
        .group_by(PlanMember.user_id, TrainingPlan.criterion)
    )
    if people is not None:
        q = q.where(PlanMember.user_id.in_(list(people)))
    return {(u, c): t for u, c, t in s.execute(q).all() if t is not None}


def _after_training(
    s: Session, trained: dict[tuple[int, str], datetime], filters: Filters, start: date, end: date, tz: str
) -> dict[tuple[int, str], Count]:
    """Counts over the window that only include the days after each agent's training on the criterion."""
    if not trained:
        return {}
    lost = func.sum(case((CriterionFact.lost, 1), else_=0))
    q = (
        select(CriterionFact.user_id, CriterionFact.criterion, CriterionFact.day, func.count(), lost)
        .where(
            CriterionFact.day >= start,
            CriterionFact.day <= end,
            CriterionFact.user_id.in_(sorted({u for u, _c in trained})),
            CriterionFact.criterion.in_(sorted({c for _u, c in trained})),
            CriterionFact.source.in_(filters.sources),
        )
        .group_by(CriterionFact.user_id, CriterionFact.criterion, CriterionFact.day)
    )
    if filters.shop:
        q = q.where(CriterionFact.shop == filters.shop)
    since = {k: local_day(at, tz) for k, at in trained.items()}
    out: dict[tuple[int, str], list[int]] = {}
    for uid, crit, day, n, lo in s.execute(q).all():
        first = since.get((uid, crit))
        if first is not None and day > first:  # the day of the training itself is not after it
            acc = out.setdefault((uid, crit), [0, 0])
            acc[0] += int(n)
            acc[1] += int(lo or 0)
    return {k: Count(n, lo) for k, (n, lo) in out.items()}


def has_problem(count: Count, criterion: str, t: Thresholds) -> bool:
    """Does one agent's count on a criterion make a problem."""
    if criterion == RED_LINE:
        return count.lost >= 1
    return count.n >= t.min_conversations and count.rate >= t.agent_rate


def classify(
    s: Session,
    people: Sequence[int] | None,
    filters: Filters,
    thresholds: Thresholds,
    tz: str,
    *,
    counts: dict[str, dict[tuple[int, str], Count]] | None = None,
) -> list[Problem]:
    """Every problem in the window ending on the filters' last day, most urgent first. ``counts`` may carry the
    ``window`` and ``baseline`` counts already read (:func:`classification_ranges`)."""
    t = thresholds
    ranges = classification_ranges(filters, t, tz)
    start, end = ranges["window"]
    if counts is None:
        counts = criterion_counts_in(s, people, filters, ranges)
    window, baseline = counts["window"], counts["baseline"]

    by_crit: dict[str, dict[int, Count]] = defaultdict(dict)
    for (uid, crit), c in window.items():
        by_crit[crit][uid] = c
    base_team: dict[str, Count] = defaultdict(Count)
    for (_uid, crit), c in baseline.items():
        base_team[crit] = base_team[crit] + c

    since = datetime.combine(start - timedelta(days=t.recurring_days), time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    trained_all = training_done(s, people, since)
    trained = {k: v for k, v in trained_all.items() if k[1] in by_crit}
    after = _after_training(s, trained, filters, start, end, tz)

    affected_crits = [c for c, agents in by_crit.items() if any(has_problem(n, c, t) for n in agents.values())]
    titles = criterion_titles(s, affected_crits)
    problems: list[Problem] = []
    for crit in affected_crits:
        agents = by_crit[crit]
        dim, title = titles.get(crit, ("", crit))
        team = sum(agents.values(), Count())
        with_data = sum(1 for c in agents.values() if c.n >= t.min_conversations)
        affected = sorted(
            (AgentCount(uid, c) for uid, c in agents.items() if has_problem(c, crit, t)),
            key=lambda a: (-a.count.rate, -a.count.lost, a.user_id),
        )
        base = base_team.get(crit, Count())
        common = dict(criterion=crit, dimension=dim, title=title, team=team, baseline=base, with_data=with_data)
        sudden = (
            crit != RED_LINE
            and base.n >= t.sudden_min_conversations
            and team.n >= t.sudden_min_conversations
            and team.rate - base.rate >= t.sudden_jump
            and team.rate >= t.sudden_ratio * base.rate
        )
        if sudden:
            problems.append(Problem(ProblemType.SUDDEN, agents=affected, **common))  # type: ignore[arg-type]
            continue
        recurring = [
            AgentCount(a.user_id, after[(a.user_id, crit)])
            for a in affected
            if (a.user_id, crit) in after and has_problem(after[(a.user_id, crit)], crit, t)
        ]
        rec_ids = {a.user_id for a in recurring}
        others = [a for a in affected if a.user_id not in rec_ids]
        if recurring:
            p = Problem(ProblemType.RECURRING, agents=recurring, **common)  # type: ignore[arg-type]
            p.trained = {a.user_id: trained[(a.user_id, crit)] for a in recurring}
            problems.append(p)
        if (
            crit != RED_LINE
            and len(others) >= t.common_agents
            and with_data
            and len(others) / with_data >= t.common_share
        ):
            problems.append(Problem(ProblemType.COMMON, agents=others, **common))  # type: ignore[arg-type]
        else:
            problems.extend(Problem(ProblemType.INDIVIDUAL, agents=[a], **common) for a in others)  # type: ignore[arg-type]
    problems.sort(key=lambda p: (ORDER[p.type], -p.lost, p.criterion))
    return problems


def classification_ranges(filters: Filters, thresholds: Thresholds, tz: str) -> dict[str, tuple[date, date]]:
    """The window and the baseline before it."""
    start, end = window_of(filters, thresholds, tz)
    return {
        "window": (start, end),
        "baseline": (start - timedelta(days=thresholds.baseline_days), start - timedelta(days=1)),
    }


def window_of(filters: Filters, thresholds: Thresholds, tz: str) -> tuple[date, date]:
    """The classification window: first and last day."""
    _, end = filters.period(tz)
    return end - timedelta(days=thresholds.window_days - 1), end
