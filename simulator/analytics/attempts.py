"""What happens when a conversation starts and when it is graded — for practice, exams and imported real chats
alike, so every grade lands in the same analytics.

* :func:`record_start` (the engine, when a practice or exam attempt starts): the assignment it answers is in
  progress; an xAPI ``attempted`` statement is queued.
* :func:`record_grade` (the engine after grading an attempt, the QA job after grading a real chat — in the same
  transaction that stores the grade): the conversation's analytics rows (:mod:`simulator.store.facts`) are
  written from the grade as the trainer's review left it; for practice and exams the assignment it answers is
  done (and retests scheduled), and the graded xAPI statements are queued.
* :func:`refresh_facts`: a trainer changed a finding; the rows follow.

Play-tests and reference runs leave no trace in analytics.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.analytics import plans, xapi
from simulator.analytics.kpis import conversion, kpis, mood_satisfaction
from simulator.analytics.reviews import effective_grade
from simulator.analytics.scope import local_day
from simulator.grading.result import Grade
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Category
from simulator.session import SessionKind, SessionStatus, as_utc
from simulator.settings import Settings
from simulator.store.facts import CriterionFact, FindingFact, ScoreFact, replace_facts
from simulator.store.grades import GradeRecord
from simulator.store.imports import RealChat
from simulator.store.outbox import OutboxStatement, enqueue
from simulator.store.reviews import overrides_of
from simulator.store.sessions import SessionRecord
from simulator.store.users import User
from simulator.transcript import Transcript

COUNTED = {SessionKind.PRACTICE.value, SessionKind.EXAM.value, SessionKind.REAL.value}
LEARNING = {SessionKind.PRACTICE.value, SessionKind.EXAM.value}


def _score_rows(base: ScoreFact, grade: Grade) -> tuple[ScoreFact, list[CriterionFact], list[FindingFact]]:
    """The fact rows of one conversation: ``base`` carries who/where/when and the KPIs; scores come from ``grade``."""
    scores = {d.value: sc.score for d, sc in grade.dimensions.items()}
    findings = grade.findings()
    base.overall = grade.overall
    base.service = scores.get("service")
    base.technique = scores.get("technique")
    base.knowledge = scores.get("knowledge")
    base.process = scores.get("process")
    base.passed = grade.passed
    base.red_line = bool(grade.red_lines)
    base.findings = len(findings)
    base.points_lost = round(sum(f.points for f in findings), 2)
    common = {
        "session_id": base.session_id,
        "user_id": base.user_id,
        "source": base.source,
        "shop": base.shop,
        "day": base.day,
    }
    criteria = [
        CriterionFact(
            **common,
            criterion=c.id[:80],
            dimension=c.dimension.value,
            title=(c.title or c.id)[:120],
            points=round(c.points, 2),
            earned=round(c.earned or 0.0, 2),
            lost=c.status != "passed",
        )
        for d in grade.dimensions.values()
        for c in d.criteria
        if c.scored
    ]
    rows = [
        FindingFact(
            **common,
            criterion=f.criterion[:80],
            dimension=f.dimension.value,
            points=round(f.points, 2),
            red_line=None,
            turn=f.turn,
            message=f.message[:300],
        )
        for f in findings
    ]
    rows += [
        FindingFact(
            **common,
            criterion=f.criterion[:80],
            dimension=f.dimension.value,
            points=0.0,
            red_line=(f.red_line or f.criterion)[:80],
            turn=f.turn,
            message=f.message[:300],
        )
        for f in grade.red_lines
    ]
    return base, criteria, rows


def record_grade(
    s: Session,
    *,
    row: SessionRecord,
    transcript: Transcript,
    grade: Grade,
    settings: Settings,
    scenario: Scenario | None = None,
    pick: plans.PickScenarios | None = None,
    now: datetime | None = None,
) -> None:
    """Write a graded conversation's analytics rows and move its assignment along (see the module doc)."""
    if row.kind not in COUNTED:
        return
    real = s.get(RealChat, row.id) if row.kind == SessionKind.REAL.value else None
    numbers = kpis(transcript)
    if real is not None:
        shop = real.shop
        converted = conversion(row.outcome)
        satisfaction = real.satisfaction
    else:
        shop = scenario.shop if scenario is not None else ""
        converted = (
            (row.outcome == "bought") if scenario is not None and scenario.category is Category.PRE_SALES else None
        )
        satisfaction = mood_satisfaction(transcript)
    started = as_utc(row.started_at)
    overrides = overrides_of(s, row.id)
    base = ScoreFact(
        session_id=row.id,
        user_id=row.user_id,
        source=row.kind,
        shop=shop or "",
        scenario_id=row.scenario_id or "",
        at=started,
        day=local_day(started, settings.timezone),
        first_response_s=numbers.first_response_s,
        mean_response_s=numbers.mean_response_s,
        reply_ratio=numbers.reply_ratio,
        converted=converted,
        satisfaction=satisfaction,
        reviewed=bool(overrides),
    )
    replace_facts(s, row.id, *_score_rows(base, effective_grade(grade, overrides)))
    if row.kind not in LEARNING:
        return
    plans.on_graded(
        s,
        user_id=row.user_id,
        scenario_id=row.scenario_id,
        session_id=row.id,
        started_at=started,
        finished=row.status == SessionStatus.FINISHED.value,
        grade=grade,
        pick=pick or (lambda _c, **_kw: []),
        tz=settings.timezone,
        now=now,
    )
    _queue_graded(s, row, grade, settings, scenario)


def refresh_facts(s: Session, session_id: str) -> bool:
    """Recompute a conversation's score rows after a review (its KPIs, shop and time stay); False if it has none."""
    base = s.get(ScoreFact, session_id)
    stored = s.scalar(select(GradeRecord).where(GradeRecord.session_id == session_id))
    if base is None or stored is None:
        return False
    overrides = overrides_of(s, session_id)
    fresh = ScoreFact(
        **{c.key: getattr(base, c.key) for c in ScoreFact.__table__.columns},
    )
    fresh.reviewed = bool(overrides)
    s.expunge(base)
    replace_facts(s, session_id, *_score_rows(fresh, effective_grade(stored.grade, overrides)))
    return True


# ---------------------------------------------------------------------------------------------------------
# Starting, and xAPI


def record_start(s: Session, *, row: SessionRecord, settings: Settings, scenario: Scenario | None = None) -> None:
    """A practice or exam attempt started: its assignment is in progress, ``attempted`` is queued."""
    if row.kind not in LEARNING:
        return
    plans.on_started(s, user_id=row.user_id, scenario_id=row.scenario_id, at=row.started_at)
    user = s.get(User, row.user_id)
    if user is None:
        return
    _queue(
        s,
        xapi.build(
            settings,
            "attempted",
            session_id=row.id,
            who=xapi.actor(settings, user.username, user.display_name),
            what=_activity(settings, row, scenario),
            at=row.started_at,
            kind=row.kind,
        ),
        row.id,
    )


def _activity(settings: Settings, row: SessionRecord, scenario: Scenario | None) -> dict[str, object]:
    title = scenario.title if scenario is not None else row.scenario_id
    return xapi.activity(settings, row.scenario_id, title, row.locale or "zh-CN")


def _queue(s: Session, statement: dict[str, object], session_id: str) -> None:
    exists = s.scalar(select(OutboxStatement.id).where(OutboxStatement.statement_id == statement["id"]))
    if exists is None:
        enqueue(s, statement, session_id=session_id)


def _queue_graded(s: Session, row: SessionRecord, grade: Grade, settings: Settings, scenario: Scenario | None) -> None:
    user = s.get(User, row.user_id)
    if user is None:
        return
    ended = as_utc(row.ended_at or row.updated_at or row.started_at)
    for statement in xapi.graded_statements(
        settings,
        session_id=row.id,
        who=xapi.actor(settings, user.username, user.display_name),
        what=_activity(settings, row, scenario),
        grade=grade,
        kind=row.kind,
        completed=row.status == SessionStatus.FINISHED.value,
        ended_at=ended,
        seconds=(ended - as_utc(row.started_at)).total_seconds(),
    ):
        _queue(s, statement, row.id)
