"""Training plans from classified problems, assignment status as trainees play, and spaced retests.

**A plan in one action** (:func:`create_plan`): the problem's criterion, its type and training mode, the
scenarios that train the criterion (:func:`scenarios_for` — what a scenario declares in ``trains``, its skills,
its steps, facts and red lines), the people — the affected agents for 个体 and 多发, everyone in the team or group
for 共性 and 突发 with the weakest marked for 1:1 follow-up — each with their loss rate before the plan, and one
practice assignment per person due by the plan's date.

**Status** (:func:`on_started`, :func:`on_graded`, called by the engine): starting a scenario moves the
assignments it answers to ``in-progress``; a graded attempt that was started after an assignment (and not
abandoned) makes it ``done`` with the attempt's score and whether it kept the plan's criterion. One attempt answers
every practice assignment of its scenario (a trainer's and a plan's ask the same) and at most one retest.

**Spaced retests**: when a person's training assignment is done, two retests on the criterion are assigned —
available from the next day and from three days later (the shop's days), each due by the end of its day, each
on a different scenario that trains the criterion when there is one (else the same scenario, which plays a new
variant). A retest that loses points on the criterion again brings one more retest the next day (unless one is
due by then anyway), up to :data:`MAX_ROUND` rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.analytics.problems import Count, Mode, ProblemType
from simulator.grading.result import Grade
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Difficulty
from simulator.session import as_utc
from simulator.store.assignments import (
    Assignment,
    AssignmentKind,
    AssignmentStatus,
    create_assignment,
    plan_assignments,
)
from simulator.store.plans import PlanMember, TrainingPlan, plan_members
from simulator.store.schema import clean_text, utcnow

RETEST_DAYS = (1, 3)
MAX_ROUND = 4
DIFFICULTY_ORDER = {d: i for i, d in enumerate(Difficulty)}

PickScenarios = Callable[..., list[str]]  # (criterion, like=scenario id) → scenario ids


# ---------------------------------------------------------------------------------------------------------
# Which scenarios train a criterion


def criteria_trained(scenario: Scenario) -> set[str]:
    """Every criterion id a scenario exercises: ``trains``, its skills, its steps, facts and red lines."""
    exp = scenario.expectations
    out = set(scenario.trains) | {k.value for k in scenario.skills}
    out |= {st.id for st in exp.steps} | {f.id for f in exp.facts} | {r.id for r in exp.red_lines}
    if exp.red_lines:
        out.add("red-line")
    return out


def scenarios_for(scenarios: Iterable[Scenario], criterion: str, *, limit: int = 3) -> list[str]:
    """Ids of the scenarios that train ``criterion``, easiest first (declared in ``trains`` before the others)."""
    found = [sc for sc in scenarios if criterion in criteria_trained(sc)]
    found.sort(key=lambda sc: (criterion not in sc.trains, DIFFICULTY_ORDER[sc.difficulty], sc.id))
    return [sc.id for sc in found[:limit]]


# ---------------------------------------------------------------------------------------------------------
# Dates in the shop's days


def day_start(day: date, tz: str) -> datetime:
    """Midnight at the start of a local day, in UTC."""
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def day_end(day: date, tz: str) -> datetime:
    """23:59 of a local day, in UTC."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def local_date(at: datetime, tz: str) -> date:
    """The local day of a moment."""
    return as_utc(at).astimezone(ZoneInfo(tz)).date()


# ---------------------------------------------------------------------------------------------------------
# Creating a plan


@dataclass
class PlanRequest:
    """What a plan is made of (from a classified problem, or chosen by hand)."""

    trainer_id: int
    criterion: str
    dimension: str
    title: str
    problem_type: ProblemType | None
    people: list[int]
    focus: list[int] = field(default_factory=list)
    scenario_ids: list[str] = field(default_factory=list)
    group_id: int | None = None
    due_days: int = 7
    note: str = ""
    baseline: dict[int, Count] = field(default_factory=dict)
    evidence: dict[str, object] = field(default_factory=dict)


def mode_for(problem_type: ProblemType | None) -> Mode:
    """The training mode of a problem type (a hand-made plan is 1:1 coaching)."""
    from simulator.analytics.problems import MODE_OF

    return MODE_OF[problem_type] if problem_type is not None else Mode.COACHING


def create_plan(s: Session, req: PlanRequest, *, tz: str, now: datetime | None = None) -> TrainingPlan:
    """Store a plan, its members and their training assignments."""
    now = now or utcnow()
    due = day_end(local_date(now, tz) + timedelta(days=req.due_days), tz)
    plan = TrainingPlan(
        title=clean_text(req.title)[:200],
        criterion=req.criterion,
        dimension=req.dimension or None,
        problem_type=req.problem_type.value if req.problem_type else "manual",
        mode=mode_for(req.problem_type).value,
        trainer_id=req.trainer_id,
        group_id=req.group_id,
        scenario_ids=list(req.scenario_ids),
        evidence=dict(req.evidence),
        note=clean_text(req.note),
        created_at=now,
        due_at=due,
    )
    s.add(plan)
    s.flush()
    focus = set(req.focus)
    for uid in dict.fromkeys(req.people):
        before = req.baseline.get(uid, Count())
        s.add(PlanMember(plan_id=plan.id, user_id=uid, focus=uid in focus, before_n=before.n, before_lost=before.lost))
        if req.scenario_ids:
            a = create_assignment(
                s,
                trainer_id=req.trainer_id,
                trainee_id=uid,
                scenario_id=req.scenario_ids[0],
                due_at=due,
                note=plan.title,
                plan_id=plan.id,
                criterion=req.criterion,
            )
            a.created_at = now
    s.flush()
    return plan


# ---------------------------------------------------------------------------------------------------------
# Progress as trainees play


def _matching_all(s: Session, user_id: int, scenario_id: str, at: datetime) -> list[Assignment]:
    """What an attempt started at ``at`` answers: every unfinished practice assignment of this scenario given before
    it (the trainer's own and a plan's ask the same thing), and the earliest retest of it that was open then — one
    attempt is one retest, so spacing is kept."""
    q = select(Assignment).where(
        Assignment.trainee_id == user_id,
        Assignment.scenario_id == scenario_id,
        Assignment.status != AssignmentStatus.DONE.value,
        Assignment.created_at <= at,
    )
    found = [
        a for a in s.scalars(q.order_by(Assignment.round, Assignment.created_at, Assignment.id)) if a.available(at)
    ]
    practice = [a for a in found if a.round == 0]
    retests = [a for a in found if a.round > 0]
    return practice + retests[:1]


def _matching(s: Session, user_id: int, scenario_id: str, at: datetime) -> Assignment | None:
    """The oldest unfinished assignment of this scenario the trainee could have been playing at ``at``."""
    found = _matching_all(s, user_id, scenario_id, at)
    return found[0] if found else None


def on_started(s: Session, *, user_id: int, scenario_id: str, at: datetime) -> list[Assignment]:
    """A trainee started a scenario: the open assignments it answers are in progress."""
    found = _matching_all(s, user_id, scenario_id, as_utc(at))
    for a in found:
        if a.status == AssignmentStatus.OPEN.value:
            a.status = AssignmentStatus.IN_PROGRESS.value
            a.started_at = as_utc(at)
    return found


def criterion_kept(grade: Grade, criterion: str | None) -> bool | None:
    """Did the attempt keep every point of the criterion (None: no criterion, or not scored in it)."""
    if not criterion:
        return None
    if criterion == "red-line":
        return not grade.red_lines
    crit = grade.criterion(criterion)
    if crit is None or not crit.scored:
        return None
    return crit.status == "passed"


def on_graded(
    s: Session,
    *,
    user_id: int,
    scenario_id: str,
    session_id: str,
    started_at: datetime,
    finished: bool,
    grade: Grade,
    pick: PickScenarios,
    tz: str,
    now: datetime | None = None,
) -> list[Assignment]:
    """A practice or exam attempt was graded: complete the assignments it answers (:func:`_matching_all`) and
    schedule what follows; returns them."""
    now = now or utcnow()
    found = _matching_all(s, user_id, scenario_id, as_utc(started_at))
    for a in found:
        if not finished:
            if a.status == AssignmentStatus.OPEN.value:
                a.status = AssignmentStatus.IN_PROGRESS.value
                a.started_at = as_utc(started_at)
            continue
        a.status = AssignmentStatus.DONE.value
        a.started_at = a.started_at or as_utc(started_at)
        a.completed_at = now
        a.session_id = session_id
        a.score = grade.overall
        a.criterion_kept = criterion_kept(grade, a.criterion)
        if a.plan_id is not None:
            _follow_up(s, a, pick=pick, tz=tz, now=now)
    s.flush()
    return found


def _follow_up(s: Session, done: Assignment, *, pick: PickScenarios, tz: str, now: datetime) -> None:
    plan = s.get(TrainingPlan, done.plan_id)
    if plan is None or plan.closed_at is not None:
        return
    member = s.scalar(select(PlanMember).where(PlanMember.plan_id == plan.id, PlanMember.user_id == done.trainee_id))
    today = local_date(now, tz)
    theirs = [a for a in plan_assignments(s, plan.id) if a.trainee_id == done.trainee_id]
    used = [a.scenario_id for a in theirs]
    if done.round == 0:
        if member is not None and member.trained_at is None:
            member.trained_at = now
        if any(a.round > 0 for a in theirs):
            return
        for n, days in enumerate(RETEST_DAYS, start=1):
            used.append(_retest(s, plan, done, n, today + timedelta(days=days), pick, used, tz, now).scenario_id)
    elif done.criterion_kept is False:
        # Lost it again: retest tomorrow, unless a retest is due by then anyway.
        last = max(a.round for a in theirs)
        tomorrow = today + timedelta(days=1)
        soon = any(
            a.status != AssignmentStatus.DONE.value
            and a.available_at is not None
            and local_date(a.available_at, tz) <= tomorrow
            for a in theirs
        )
        if last < MAX_ROUND and not soon:
            _retest(s, plan, done, last + 1, tomorrow, pick, used, tz, now)


def _retest(
    s: Session,
    plan: TrainingPlan,
    after: Assignment,
    round_: int,
    day: date,
    pick: PickScenarios,
    used: Sequence[str],
    tz: str,
    now: datetime,
) -> Assignment:
    """One retest on the plan's criterion, on a scenario not used yet when there is one."""
    candidates = list(dict.fromkeys([*pick(plan.criterion, like=after.scenario_id), *plan.scenario_ids]))
    fresh = [c for c in candidates if c not in used]
    # Least recently used: rotate through the candidates.
    scenario = fresh[0] if fresh else (candidates[round_ % len(candidates)] if candidates else after.scenario_id)
    a = create_assignment(
        s,
        trainer_id=plan.trainer_id,
        trainee_id=after.trainee_id,
        scenario_id=scenario,
        due_at=day_end(day, tz),
        note=plan.title,
        plan_id=plan.id,
        kind=AssignmentKind.RETEST,
        criterion=plan.criterion,
        round=round_,
        available_at=day_start(day, tz),
    )
    a.created_at = now
    return a


# ---------------------------------------------------------------------------------------------------------
# Reading a plan


@dataclass
class MemberProgress:
    """One person's progress in a plan."""

    member: PlanMember
    training: list[Assignment]
    retests: list[Assignment]

    @property
    def done(self) -> bool:
        """Training and every retest done."""
        return all(a.status == AssignmentStatus.DONE.value for a in (*self.training, *self.retests))


def progress(s: Session, plan_id: int) -> list[MemberProgress]:
    """Each member's training and retest assignments."""
    by_user: dict[int, list[Assignment]] = {}
    for a in plan_assignments(s, plan_id):
        by_user.setdefault(a.trainee_id, []).append(a)
    out = []
    for m in plan_members(s, plan_id):
        theirs = by_user.get(m.user_id, [])
        out.append(MemberProgress(m, [a for a in theirs if a.round == 0], [a for a in theirs if a.round > 0]))
    return out


def status_counts(assignments: Iterable[Assignment], now: datetime | None = None) -> dict[str, int]:
    """How many assignments are open, in progress, done and overdue."""
    counts = {s.value: 0 for s in AssignmentStatus}
    for a in assignments:
        counts[a.shown_status(now).value] += 1
    return counts
