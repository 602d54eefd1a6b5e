"""Grades and assignments: what the grader concluded, and what trainers asked trainees to practise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from simulator.store.models import Assignment, Grade, PracticeSession, clean_text


def save_grade(
    s: Session,
    session_id: str,
    *,
    overall: float | None,
    dimensions: dict[str, float | None],
    red_line: bool,
    findings: list[dict[str, Any]],
    grader_version: str,
    detail: dict[str, Any] | None = None,
) -> Grade:
    """Store (or replace) the grade of a session. Missing dimensions stay ``None`` (unscored).

    Two graders may finish the same session at once (the background worker of the instance that ended it and
    the report page on another): the session row's lock makes the second replace the first's grade instead of
    failing on the unique ``grades.session_id``.
    """
    s.execute(select(PracticeSession.id).where(PracticeSession.id == session_id).with_for_update())
    row = s.scalar(select(Grade).where(Grade.session_id == session_id))
    if row is None:
        row = Grade(session_id=session_id)
        s.add(row)
    row.overall = overall
    row.service = dimensions.get("service")
    row.technique = dimensions.get("technique")
    row.knowledge = dimensions.get("knowledge")
    row.process = dimensions.get("process")
    row.red_line = red_line
    row.findings = findings
    row.detail = detail or {}
    row.grader_version = grader_version
    s.flush()
    return row


def get_grade(s: Session, session_id: str) -> Grade | None:
    """The grade of a session, or ``None`` when it has not been graded."""
    return s.scalar(select(Grade).where(Grade.session_id == session_id))


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
