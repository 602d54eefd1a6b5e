"""CSV export of attempts (every graded conversation with its scores and KPIs), findings and training plans.

UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; times in the shop's time zone. A cell
that starts with ``= + - @`` (or a tab/CR) gets a leading apostrophe, so a message a trainee typed can never run
as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.analytics.scope import Filters
from simulator.session import as_utc
from simulator.store.assignments import Assignment
from simulator.store.facts import FindingFact, ScoreFact
from simulator.store.plans import PlanMember, TrainingPlan
from simulator.store.users import User

KINDS = ("attempts", "findings", "plans")
BOM = "\ufeff"


def _cell(value: object, tz: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return as_utc(value).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _lines(header: Sequence[str], rows: Iterable[Sequence[object]], tz: str) -> Iterator[str]:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    yield BOM + buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        w.writerow([_cell(v, tz) for v in row])
        yield buf.getvalue()


def _names(s: Session) -> dict[int, tuple[str, str]]:
    return {uid: (u, d) for uid, u, d in s.execute(select(User.id, User.username, User.display_name)).all()}


def _scoped(q, table, people: Sequence[int] | None, filters: Filters, tz: str):
    start, end = filters.period(tz)
    q = q.where(table.day >= start, table.day <= end, table.source.in_(filters.sources))
    if people is not None:
        q = q.where(table.user_id.in_(list(people)))
    if filters.shop:
        q = q.where(table.shop == filters.shop)
    return q


def attempts(s: Session, people: Sequence[int] | None, filters: Filters, tz: str) -> Iterator[str]:
    """Every graded conversation in scope and period."""
    names = _names(s)
    f = ScoreFact
    q = _scoped(select(f), f, people, filters, tz).order_by(f.at, f.session_id)
    header = (
        "session_id",
        "source",
        "agent",
        "agent_name",
        "shop",
        "scenario",
        "started_at",
        "day",
        "overall",
        "service",
        "technique",
        "knowledge",
        "process",
        "passed",
        "red_line",
        "first_response_s",
        "mean_response_s",
        "reply_ratio",
        "converted",
        "satisfaction",
        "findings",
        "points_lost",
        "reviewed",
    )

    def rows() -> Iterator[Sequence[object]]:
        for r in s.execute(q.execution_options(yield_per=2000)).scalars():
            user, display = names.get(r.user_id, (str(r.user_id), ""))
            yield (
                r.session_id,
                r.source,
                user,
                display,
                r.shop,
                r.scenario_id,
                r.at,
                r.day,
                r.overall,
                r.service,
                r.technique,
                r.knowledge,
                r.process,
                r.passed,
                r.red_line,
                r.first_response_s,
                r.mean_response_s,
                r.reply_ratio,
                r.converted,
                r.satisfaction,
                r.findings,
                r.points_lost,
                r.reviewed,
            )

    return _lines(header, rows(), tz)


def findings(s: Session, people: Sequence[int] | None, filters: Filters, tz: str) -> Iterator[str]:
    """Every finding (and red line) in scope and period."""
    names = _names(s)
    f = FindingFact
    q = _scoped(select(f), f, people, filters, tz).order_by(f.day, f.session_id, f.id)
    header = (
        "session_id",
        "source",
        "agent",
        "shop",
        "day",
        "dimension",
        "criterion",
        "points",
        "red_line",
        "turn",
        "message",
    )

    def rows() -> Iterator[Sequence[object]]:
        for r in s.execute(q.execution_options(yield_per=2000)).scalars():
            yield (
                r.session_id,
                r.source,
                names.get(r.user_id, (str(r.user_id), ""))[0],
                r.shop,
                r.day,
                r.dimension,
                r.criterion,
                r.points,
                r.red_line,
                r.turn,
                r.message,
            )

    return _lines(header, rows(), tz)


def plans(s: Session, people: Sequence[int] | None, tz: str) -> Iterator[str]:
    """Every plan with a member in scope: one row per member and assignment."""
    names = _names(s)
    q = select(TrainingPlan).order_by(TrainingPlan.id)
    if people is not None:
        q = q.where(TrainingPlan.id.in_(select(PlanMember.plan_id).where(PlanMember.user_id.in_(list(people)))))
    header = (
        "plan_id",
        "title",
        "criterion",
        "problem_type",
        "mode",
        "trainer",
        "created_at",
        "plan_due",
        "member",
        "focus",
        "before_n",
        "before_lost",
        "trained_at",
        "assignment_id",
        "kind",
        "round",
        "scenario",
        "status",
        "due_at",
        "completed_at",
        "score",
        "criterion_kept",
    )
    allowed = None if people is None else set(people)

    def rows() -> Iterator[Sequence[object]]:
        for plan in s.scalars(q):
            assigned: dict[int, list[Assignment]] = {}
            for a in s.scalars(select(Assignment).where(Assignment.plan_id == plan.id).order_by(Assignment.round)):
                assigned.setdefault(a.trainee_id, []).append(a)
            for m in s.scalars(select(PlanMember).where(PlanMember.plan_id == plan.id).order_by(PlanMember.id)):
                if allowed is not None and m.user_id not in allowed:
                    continue
                head = (
                    plan.id,
                    plan.title,
                    plan.criterion,
                    plan.problem_type,
                    plan.mode,
                    names.get(plan.trainer_id, ("", ""))[0],
                    plan.created_at,
                    plan.due_at,
                    names.get(m.user_id, (str(m.user_id), ""))[0],
                    m.focus,
                    m.before_n,
                    m.before_lost,
                    m.trained_at,
                )
                for a in assigned.get(m.user_id, []) or [None]:  # type: ignore[list-item]
                    if a is None:
                        yield (*head, "", "", "", "", "", "", "", "", "", "")
                    else:
                        yield (
                            *head,
                            a.id,
                            a.kind,
                            a.round,
                            a.scenario_id,
                            a.shown_status().value,
                            a.due_at,
                            a.completed_at,
                            a.score,
                            a.criterion_kept,
                        )

    return _lines(header, rows(), tz)
