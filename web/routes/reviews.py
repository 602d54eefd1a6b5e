"""A trainer's review of a report card: comments (for the trainee to read), and overrides of the grader's findings —
a rejected finding gives its points back, an adjusted one costs what the trainer says. Overrides are stored with a
copy of the finding (``finding_overrides``) for grader calibration; the dashboards count the reviewed grade."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from simulator.analytics.attempts import refresh_facts
from simulator.analytics.reviews import FindingKey, effective_grade, find, keyed_findings, overrides_by_key
from simulator.analytics.scope import may_see
from simulator.errors import NotFound, SimulatorError
from simulator.grading.result import Finding, Grade
from simulator.store.grades import get_grade
from simulator.store.reviews import (
    FindingOverride,
    OverrideAction,
    add_comment,
    comments_on,
    overrides_of,
    remove_override,
    save_override,
)
from simulator.store.sessions import get_session
from simulator.store.users import User
from web.auth import TrainerDep, Viewer
from web.scope import scope_viewer
from web.services import services

router = APIRouter()


def review_context(s: Session, viewer: Viewer | None, session_id: str, grade: Grade | None) -> dict[str, Any]:
    """What the report card needs to show comments and overrides (and, for trainers, the review forms)."""
    comments = list(comments_on(s, session_id))
    overrides = list(overrides_of(s, session_id))
    keys: dict[int, FindingKey] = {}
    reviewed = None
    if grade is not None:
        keys = {id(k.finding): k.key for k in keyed_findings(grade)}
        if overrides:
            reviewed = effective_grade(grade, overrides)
    authors = {
        u.id: u.display_name
        for u in s.query(User).filter(User.id.in_({c.author_id for c in comments} | {o.author_id for o in overrides}))
    }

    def finding_key(shown: Any) -> FindingKey | None:
        finding: Finding = getattr(shown, "finding", shown)
        return keys.get(id(finding))

    return {
        "comments": comments,
        "overrides": overrides_by_key(overrides),
        "finding_key": finding_key,
        "reviewed": reviewed,
        "authors": authors,
        "can_review": bool(viewer is not None and viewer.is_trainer),
    }


def _reviewable(request: Request, viewer: Viewer, session_id: str) -> tuple[str, Grade]:
    """The graded conversation, if the viewer may review it (404 otherwise, as for any report)."""
    with services(request).engine.store.read() as s:
        row = get_session(s, session_id[:36])
        if row is None or not may_see(s, scope_viewer(viewer), row.user_id):
            raise NotFound("no such report")
        stored = get_grade(s, row.id)
        if stored is None:
            raise NotFound("not graded")
        return row.id, stored.grade


@router.post("/reports/{session_id}/comments")
def comment(
    request: Request,
    session_id: str,
    text: Annotated[str, Form(max_length=4000)],
    turn: Annotated[str, Form(max_length=6)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """Comment on a report (the trainee sees it on their report card)."""
    sid, _ = _reviewable(request, viewer, session_id)
    if not text.strip():
        raise SimulatorError(services(request).catalogues.gettext("Write a comment first."))
    with services(request).engine.store.write() as s:
        add_comment(s, sid, viewer.id, text, turn=int(turn) if turn.isdigit() else None)
    return RedirectResponse(f"/reports/{sid}#comments", status_code=303)


@router.post("/reports/{session_id}/overrides")
def override(
    request: Request,
    session_id: str,
    criterion: Annotated[str, Form(max_length=80)],
    turn: Annotated[int, Form()],
    ordinal: Annotated[int, Form()],
    action: Annotated[str, Form(max_length=16)],
    points: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """Reject a finding, or change what it costs; the dashboards follow at once."""
    svc = services(request)
    gettext: Callable[[str], str] = svc.catalogues.gettext
    sid, grade = _reviewable(request, viewer, session_id)
    finding = find(grade, (criterion, turn, ordinal))
    if finding is None:
        raise NotFound("no such finding")
    if action not in {a.value for a in OverrideAction}:
        raise SimulatorError(gettext("Choose whether the finding is wrong or costs another amount."))
    new_points = None
    if action == OverrideAction.ADJUSTED.value:
        try:
            new_points = float(points)
        except ValueError:
            raise SimulatorError(gettext("Say how many points the finding should cost, e.g. 2.5.")) from None
        if not 0 <= new_points <= 100:
            raise SimulatorError(gettext("Say how many points the finding should cost, e.g. 2.5."))
    with svc.engine.store.write() as s:
        stored = get_grade(s, sid)
        save_override(
            s,
            FindingOverride(
                session_id=sid,
                criterion=criterion,
                turn=turn,
                ordinal=ordinal,
                dimension=finding.dimension.value,
                action=action,
                points=new_points,
                reason=reason,
                original_points=finding.points,
                message=finding.message,
                evidence=finding.evidence,
                grader_version=stored.grader_version if stored is not None else "",
                author_id=viewer.id,
            ),
        )
        refresh_facts(s, sid)
    return RedirectResponse(f"/reports/{sid}#review", status_code=303)


@router.post("/reports/{session_id}/overrides/{override_id}/delete")
def withdraw(request: Request, session_id: str, override_id: int, viewer: Viewer = TrainerDep) -> Response:
    """Withdraw an override: the grader's finding stands again."""
    sid, _ = _reviewable(request, viewer, session_id)
    with services(request).engine.store.write() as s:
        if not remove_override(s, sid, override_id):
            raise NotFound("no such override")
        refresh_facts(s, sid)
    return RedirectResponse(f"/reports/{sid}#review", status_code=303)
