"""Trainer pages: every scenario file with its validation status, scenario details, play-test, all reports,
assignments. Trainers and admins only — every route depends on :data:`~web.auth.TrainerDep`.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from simulator.analytics.scope import people_in_scope
from simulator.errors import NotFound
from simulator.session import SessionKind
from simulator.store.assignments import create_assignment
from simulator.store.grades import list_sessions
from simulator.store.users import UserRole, get_user, list_users
from web.auth import TrainerDep, Viewer
from web.scope import scope_viewer
from web.services import services
from web.views import render

router = APIRouter(prefix="/trainer")


@router.get("/scenarios")
def scenarios(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """All scenario files, broken ones first with their ``path:line:col`` problems."""
    svc = services(request)
    files = svc.engine.scenarios.files()
    with svc.engine.store.read() as s:
        trainees = list(list_users(s, UserRole.TRAINEE))
    return render(
        request,
        "trainer_scenarios.html",
        {
            "files": files,
            "broken": sum(1 for f in files if not f.ok),
            "entries": {e.scenario.id: e for e in svc.engine.scenarios.entries()},
            "trainees": trainees,
            "assigned": request.query_params.get("assigned") == "1",
        },
    )


@router.get("/scenarios/{scenario_id}")
def scenario_detail(request: Request, scenario_id: str, viewer: Viewer = TrainerDep) -> Response:
    """One scenario as a trainer sees it: persona, goal, hidden facts, expectations and reference replies."""
    entry = services(request).engine.scenarios.get(scenario_id[:80])
    return render(request, "trainer_scenario.html", {"entry": entry, "s": entry.scenario})


@router.post("/playtest/{scenario_id}")
def playtest(request: Request, scenario_id: str, viewer: Viewer = TrainerDep) -> Response:
    """Play any scenario as the customer's counterpart (kept apart from trainees' statistics)."""
    sid = services(request).engine.start(viewer.id, scenario_id[:80], kind=SessionKind.PLAYTEST)
    return RedirectResponse(f"/chat/{sid}", status_code=303)


@router.get("/reports")
def reports(
    request: Request,
    viewer: Viewer = TrainerDep,
    user: Annotated[int | None, Query()] = None,
) -> Response:
    """Every trainee's attempts (optionally one trainee's), newest first."""
    svc = services(request)
    with svc.engine.store.read() as s:
        visible = set(people_in_scope(s, scope_viewer(viewer))) | {viewer.id}
        if user is not None and user not in visible and viewer.role is not UserRole.ADMIN:
            raise NotFound("no such trainee")
        people = {u.id: u for u in list_users(s)}
        attempts = list_sessions(
            s, user_id=user, kinds=[SessionKind.PRACTICE, SessionKind.EXAM, SessionKind.REAL], limit=500
        )
        if viewer.role is not UserRole.ADMIN:
            attempts = [(r, g) for r, g in attempts if r.user_id in visible]
        selected = get_user(s, user) if user is not None else None
    titles = {e.scenario.id: e.scenario.title for e in svc.engine.scenarios.entries()}
    return render(
        request,
        "trainer_reports.html",
        {"attempts": attempts, "people": people, "selected": selected, "titles": titles},
    )


@router.post("/assignments")
def assign(
    request: Request,
    trainee_id: Annotated[int, Form()],
    scenario_id: Annotated[str, Form(max_length=80)],
    due: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """Assign a scenario to a trainee (it then comes first in their catalogue)."""
    svc = services(request)
    svc.engine.scenarios.get(scenario_id)  # NotFound for an unusable scenario
    due_at = None
    if due:
        try:
            due_at = datetime.combine(datetime.strptime(due, "%Y-%m-%d").date(), time(23, 59), tzinfo=UTC)
        except ValueError:
            from simulator.errors import SimulatorError

            raise SimulatorError(svc.catalogues.gettext("The due date must look like 2026-12-31.")) from None
    with svc.engine.store.write() as s:
        trainee = get_user(s, trainee_id)
        if trainee is None or trainee.role != UserRole.TRAINEE.value:
            raise NotFound("no such trainee")
        create_assignment(
            s, trainer_id=viewer.id, trainee_id=trainee_id, scenario_id=scenario_id, due_at=due_at, note=note
        )
    return RedirectResponse("/trainer/scenarios?assigned=1", status_code=303)
