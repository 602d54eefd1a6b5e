"""The trainee's pages: scenario catalogue, own history with progress, report cards."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from simulator.errors import NotFound
from simulator.scenario.vocabulary import Category, Difficulty, Technique
from simulator.session import SessionKind, SessionStatus
from simulator.store.assignments import assignments_for
from simulator.store.grades import get_grade, list_sessions
from simulator.store.sessions import load_session
from simulator.store.users import get_user
from web.auth import TraineeDep, Viewer
from web.report import DIMENSION_NAMES, build_report, progress_data, radar_data
from web.services import services
from web.views import LABELS, is_htmx, render

router = APIRouter()

Filter = Annotated[str | None, Query(max_length=40)]


@router.get("/")
def catalogue(
    request: Request,
    viewer: Viewer = TraineeDep,
    category: Filter = None,
    skill: Filter = None,
    difficulty: Filter = None,
) -> Response:
    """Scenarios to practise, assigned ones first; htmx filter changes get only the list."""
    svc = services(request)
    category = category if category in {c.value for c in Category} else None
    skill = skill if skill in {t.value for t in Technique} else None
    difficulty = difficulty if difficulty in {d.value for d in Difficulty} else None
    with svc.engine.store.read() as s:
        assigned = list(assignments_for(s, viewer.id))
        attempts = list_sessions(s, user_id=viewer.id, kinds=[SessionKind.PRACTICE])
    due = {a.scenario_id: a for a in assigned}
    entries = svc.engine.scenarios.filter(
        category=category, skill=skill, difficulty=difficulty, first=[a.scenario_id for a in assigned]
    )
    active = {r.scenario_id for r, _ in attempts if r.status == SessionStatus.ACTIVE.value}
    best: dict[str, float] = {}
    for r, g in attempts:
        if g is not None and g.overall is not None:
            best[r.scenario_id] = max(best.get(r.scenario_id, 0.0), g.overall)
    context = {
        "entries": entries,
        "assigned": due,
        "active": active,
        "best": best,
        "filters": {"category": category, "skill": skill, "difficulty": difficulty},
        "categories": [c.value for c in Category],
        "skills": [t.value for t in Technique],
        "difficulties": [d.value for d in Difficulty],
    }
    if is_htmx(request) and request.headers.get("hx-target") == "catalogue-list":
        return render(request, "_catalogue_list.html", context)
    return render(request, "catalogue.html", context)


@router.get("/reports")
def my_reports(request: Request, viewer: Viewer = TraineeDep) -> Response:
    """The viewer's attempts, newest first, with progress over time."""
    svc = services(request)
    with svc.engine.store.read() as s:
        attempts = list_sessions(s, user_id=viewer.id, kinds=[SessionKind.PRACTICE, SessionKind.EXAM])
    return render(
        request,
        "history.html",
        {"attempts": attempts, "progress": progress_data(attempts), "owner": viewer, "titles": _titles(request)},
    )


@router.get("/reports/{session_id}")
def report(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The report card. Trainees see only their own; trainers and admins see everyone's."""
    svc = services(request)
    engine = svc.engine
    with engine.store.read() as s:
        found = load_session(s, session_id[:36])
        if found is None or (found[0].user_id != viewer.id and not viewer.is_trainer):
            # The same answer for "not yours" and "does not exist": ids of others' sessions are not confirmed.
            raise NotFound("no such report")
        row, session = found
        if row.active and row.user_id == viewer.id:
            return RedirectResponse(f"/chat/{row.id}", status_code=303)
        if row.exam_attempt_id is not None and row.user_id == viewer.id:
            # Exam conditions: the report card (findings, better replies) only once the exam window has closed.
            v = svc.exams.view(row.exam_attempt_id, enforce=False)
            if not v.window_closed or v.row.status != "graded":
                return RedirectResponse(f"/exam/{row.exam_attempt_id}/result", status_code=303)
        owner = get_user(s, row.user_id)
    if not row.active:
        engine.grade_quietly(row.id)  # graded on finish; this catches a crash between finishing and grading
    with engine.store.read() as s:
        stored = get_grade(s, row.id)
        attempts = list_sessions(s, user_id=row.user_id, scenario_id=row.scenario_id)
    try:
        scenario = engine.scenarios.get(row.scenario_id).scenario
    except NotFound:
        scenario = None
    card = build_report(
        session,
        stored.grade if stored is not None else None,
        target_reply_seconds=scenario.end.target_reply_seconds if scenario else None,
    )
    labels = {d: svc.catalogues.gettext(LABELS[d]) for d in DIMENSION_NAMES}
    return render(
        request,
        "report.html",
        {
            "card": card,
            "scenario": scenario,
            "owner": owner,
            "radar": radar_data(card, labels),
            "attempts": attempts,
            "progress": progress_data(attempts),
            "dimensions": DIMENSION_NAMES,
        },
    )


def _titles(request: Request) -> dict[str, str]:
    return {e.scenario.id: e.scenario.title for e in services(request).engine.scenarios.entries()}
