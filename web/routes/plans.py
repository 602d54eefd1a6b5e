"""Training plans (created in one action from a classified problem), a trainee's page with 1:1 coaching notes, and
improvement per criterion and agent. Trainers and admins only, and only for the people they may see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from simulator.analytics.improvement import AgentImprovement, of_plan, of_plans, plans_in_scope, team_change
from simulator.analytics.plans import PlanRequest, create_plan, progress, status_counts
from simulator.analytics.problems import Count, ProblemType, classify, criterion_counts, window_of
from simulator.analytics.scope import SOURCES, Filters, may_see, people_in_scope
from simulator.errors import NotFound, SimulatorError
from simulator.session import SessionKind
from simulator.store.assignments import Assignment, assignments_for
from simulator.store.coaching import add_note, notes_for, notes_of_plan
from simulator.store.grades import list_sessions
from simulator.store.groups import Group, GroupMember
from simulator.store.plans import TrainingPlan, get_plan, list_plans
from simulator.store.users import User, UserRole, get_user
from web.auth import TrainerDep, Viewer
from web.scope import scope_of, scope_viewer
from web.services import services
from web.views import criterion_label, render

router = APIRouter(prefix="/trainer")


def _filters_from_query(query: str) -> Filters:
    q = parse_qs(query[:2000])
    group = (q.get("group") or [""])[0]
    days = (q.get("days") or [""])[0]
    sources = tuple(x for x in q.get("src", []) if x in SOURCES) or SOURCES
    return Filters(
        group_id=int(group) if group.isdigit() else None,
        shop=((q.get("shop") or [""])[0].strip() or None),
        days=int(days) if days.isdigit() and 1 <= int(days) <= 365 else 30,
        sources=sources,
    )


def _visible_plan(request: Request, viewer: Viewer, plan_id: int) -> TrainingPlan:
    """The plan, if the viewer made it, is an admin, or may see one of its people."""
    with services(request).engine.store.read() as s:
        plan = get_plan(s, plan_id)
        if plan is None:
            raise NotFound("no such plan")
        if viewer.role is UserRole.ADMIN or plan.trainer_id == viewer.id:
            return plan
        allowed = set(people_in_scope(s, scope_viewer(viewer)))
        members = {a.trainee_id for a in s.query(Assignment).filter(Assignment.plan_id == plan_id)}
        from simulator.store.plans import plan_members

        members |= {m.user_id for m in plan_members(s, plan_id)}
        if members & allowed:
            return plan
    raise NotFound("no such plan")


@router.post("/plans")
def create(
    request: Request,
    problem: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=2000)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """One action: a plan for a classified problem — its scenarios, its people (with their figures before), the
    training mode, assignments due in a week."""
    svc = services(request)
    engine = svc.engine
    settings = engine.settings
    tz = settings.timezone
    filters = _filters_from_query(query)
    gettext = svc.catalogues.gettext
    with engine.store.read() as s:
        scope = scope_of(s, viewer, filters)
        problems = classify(s, scope.people, filters, settings.problems, tz)
        found = next((p for p in problems if p.key == problem), None)
        if found is None:
            raise SimulatorError(gettext("This problem is no longer in the window. Reload the dashboard."))
        start, end = window_of(filters, settings.problems, tz)
        counts = criterion_counts(s, scope.people, filters, start, end, criteria=[found.criterion])
        affected = [a.user_id for a in found.agents]
        if found.type in (ProblemType.COMMON, ProblemType.SUDDEN):
            # A class for everyone: every active agent in scope, the weakest marked for 1:1 afterwards.
            everyone = sorted({uid for (uid, _c) in counts}) or affected
            people, focus = everyone, affected[: settings.problems.weakest]
        else:
            people, focus = affected, affected
    label = criterion_label(found.criterion, found.title, gettext)
    title = f"{label} · {gettext(_type_label(found.type.value))} · {end.isoformat()}"
    req = PlanRequest(
        trainer_id=viewer.id,
        criterion=found.criterion,
        dimension=found.dimension,
        title=title,
        problem_type=found.type,
        people=people,
        focus=focus,
        scenario_ids=_training_scenarios(engine, found.criterion, filters.shop, settings.locale),
        group_id=filters.group_id,
        baseline={uid: c for (uid, _crit), c in counts.items()},
        evidence={
            "window": [start.isoformat(), end.isoformat()],
            "team": [found.team.n, found.team.lost],
            "baseline": [found.baseline.n, found.baseline.lost] if found.baseline else None,
            "agents": {str(a.user_id): [a.count.n, a.count.lost] for a in found.agents},
            "filters": query[:500],
        },
    )
    with engine.store.write() as s:
        plan = create_plan(s, req, tz=tz)
        pid = plan.id
    return RedirectResponse(f"/trainer/plans/{pid}?created=1", status_code=303)


def _training_scenarios(engine: Any, criterion: str, shop: str | None, locale: str) -> list[str]:
    """The scenarios a plan assigns: of the filtered shop when there is one and it has some, else in the
    interface's default language."""
    if shop:
        entries = [e.scenario for e in engine.scenarios.entries() if e.scenario.shop == shop]
        if entries:
            return engine.scenarios_training(criterion, like=entries[0].id)
    return list(engine.scenarios_training(criterion, locale=locale))


def _type_label(value: str) -> str:
    from web.views import LABELS

    return LABELS.get(value, value)


@router.get("/plans")
def plans(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """Every plan the viewer may see, newest first, with its assignments' status."""
    svc = services(request)
    with svc.engine.store.read() as s:
        people = None if viewer.role is UserRole.ADMIN else people_in_scope(s, scope_viewer(viewer))
        rows = list(plans_in_scope(s, people, limit=200))
        own = {p.id for p in list_plans(s, trainer_id=viewer.id)}
        rows += [p for p in list_plans(s, trainer_id=viewer.id) if p.id not in {r.id for r in rows}]
        rows.sort(key=lambda p: -p.id)
        stats = {}
        for p in rows:
            assigned = list(s.query(Assignment).filter(Assignment.plan_id == p.id))
            stats[p.id] = (status_counts(assigned), len({a.trainee_id for a in assigned}))
    return render(request, "plans.html", {"plans": rows, "stats": stats, "own": own})


def _improvement_chart(rows: Sequence[AgentImprovement], gettext: Any) -> dict[str, Any]:
    def pct(c: Count) -> float | None:
        return round(100 * c.rate, 1) if c.n else None

    return {
        "labels": [r.name for r in rows],
        "series": [
            {"name": gettext("Practice, before"), "data": [pct(r.sides["simulation"].before) for r in rows]},
            {"name": gettext("Practice, after"), "data": [pct(r.sides["simulation"].after) for r in rows]},
            {"name": gettext("Real chats, before"), "data": [pct(r.sides["real"].before) for r in rows]},
            {"name": gettext("Real chats, after"), "data": [pct(r.sides["real"].after) for r in rows]},
        ],
    }


@router.get("/plans/{plan_id}")
def plan_page(request: Request, plan_id: int, viewer: Viewer = TrainerDep) -> Response:
    """One plan: mode, scenarios, each person's training and retests, before vs after, coaching notes."""
    svc = services(request)
    plan = _visible_plan(request, viewer, plan_id)
    tz = svc.engine.settings.timezone
    with svc.engine.store.read() as s:
        members = progress(s, plan.id)
        improvement = {
            r.user_id: r for r in of_plan(s, plan, tz=tz, window_days=svc.engine.settings.problems.window_days)
        }
        notes = list(notes_of_plan(s, plan.id))
        names = {u.id: u for u in s.query(User)}
        group = s.get(Group, plan.group_id) if plan.group_id else None
    titles = {e.scenario.id: e.scenario.title for e in svc.engine.scenarios.entries()}
    rows = list(improvement.values())
    return render(
        request,
        "plan.html",
        {
            "plan": plan,
            "members": members,
            "improvement": improvement,
            "team": team_change(rows),
            "notes": notes,
            "names": names,
            "group": group,
            "titles": titles,
            "created": request.query_params.get("created") == "1",
            "charts": {"improvement": _improvement_chart(rows, svc.catalogues.gettext)},
        },
    )


@router.post("/plans/{plan_id}/close")
def close_plan(request: Request, plan_id: int, viewer: Viewer = TrainerDep) -> Response:
    """Close a plan: no more retests are scheduled from it (its figures stay)."""
    plan = _visible_plan(request, viewer, plan_id)
    from simulator.store.schema import utcnow

    with services(request).engine.store.write() as s:
        row = s.get(TrainingPlan, plan.id)
        if row is not None and row.closed_at is None:
            row.closed_at = utcnow()
    return RedirectResponse(f"/trainer/plans/{plan_id}", status_code=303)


# -- a trainee, as their trainer sees them ------------------------------------------------------------------


def _person(request: Request, viewer: Viewer, user_id: int) -> User:
    with services(request).engine.store.read() as s:
        user = get_user(s, user_id)
        if user is None or not may_see(s, scope_viewer(viewer), user_id):
            raise NotFound("no such person")
        return user


@router.get("/people/{user_id}")
def person(request: Request, user_id: int, viewer: Viewer = TrainerDep) -> Response:
    """A trainee: weak criteria, assignments and retests, coaching notes, recent conversations."""
    svc = services(request)
    user = _person(request, viewer, user_id)
    tz = svc.engine.settings.timezone
    filters = Filters(days=30)
    start, end = filters.period(tz)
    with svc.engine.store.read() as s:
        counts = criterion_counts(s, [user_id], filters, start, end)
        weak = sorted(((c, n) for (_u, c), n in counts.items() if n.lost), key=lambda kv: (-kv[1].rate, -kv[1].lost))[
            :10
        ]
        from simulator.analytics.problems import criterion_titles

        titles = criterion_titles(s, [c for c, _ in weak])
        assigned = list(assignments_for(s, user_id, include_done=True))
        notes = list(notes_for(s, user_id))
        authors = {u.id: u.display_name for u in s.query(User)}
        attempts = list_sessions(
            s, user_id=user_id, kinds=[SessionKind.PRACTICE, SessionKind.EXAM, SessionKind.REAL], limit=30
        )
        groups = list(
            s.query(Group).join(GroupMember, GroupMember.group_id == Group.id).filter(GroupMember.user_id == user_id)
        )
        plans = (
            {
                p.id: p
                for p in s.query(TrainingPlan).filter(TrainingPlan.id.in_([a.plan_id for a in assigned if a.plan_id]))
            }
            if any(a.plan_id for a in assigned)
            else {}
        )
    scenario_titles = {e.scenario.id: e.scenario.title for e in svc.engine.scenarios.entries()}
    return render(
        request,
        "person.html",
        {
            "person": user,
            "weak": weak,
            "titles": titles,
            "assigned": assigned,
            "notes": notes,
            "authors": authors,
            "attempts": attempts,
            "groups": groups,
            "plans": plans,
            "scenario_titles": scenario_titles,
            "saved": request.query_params.get("saved") == "1",
        },
    )


def _note(
    request: Request,
    viewer: Viewer,
    user_id: int,
    text: str,
    minutes: str,
    plan: TrainingPlan | None,
    criterion: str = "",
) -> None:
    svc = services(request)
    _person(request, viewer, user_id)
    if not text.strip():
        raise SimulatorError(svc.catalogues.gettext("Write what you went through together."))
    mins = int(minutes) if minutes.isdigit() and 0 < int(minutes) <= 600 else None
    with svc.engine.store.write() as s:
        add_note(
            s,
            trainee_id=user_id,
            author_id=viewer.id,
            text=text,
            minutes=mins,
            plan_id=plan.id if plan is not None else None,
            criterion=(plan.criterion if plan is not None else criterion.strip()) or None,
        )


@router.post("/people/{user_id}/notes")
def coaching_note(
    request: Request,
    user_id: int,
    text: Annotated[str, Form(max_length=4000)],
    minutes: Annotated[str, Form(max_length=4)] = "",
    criterion: Annotated[str, Form(max_length=80)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """Write down a 1:1 coaching session with a trainee."""
    _note(request, viewer, user_id, text, minutes, None, criterion)
    return RedirectResponse(f"/trainer/people/{user_id}?saved=1", status_code=303)


@router.post("/plans/{plan_id}/notes")
def plan_note(
    request: Request,
    plan_id: int,
    trainee_id: Annotated[int, Form()],
    text: Annotated[str, Form(max_length=4000)],
    minutes: Annotated[str, Form(max_length=4)] = "",
    viewer: Viewer = TrainerDep,
) -> Response:
    """A 1:1 coaching note about a plan's criterion, for one of its people."""
    plan = _visible_plan(request, viewer, plan_id)
    with services(request).engine.store.read() as s:
        from simulator.store.plans import plan_members

        if trainee_id not in {m.user_id for m in plan_members(s, plan.id)}:
            raise NotFound("not in this plan")
    _note(request, viewer, trainee_id, text, minutes, plan)
    return RedirectResponse(f"/trainer/plans/{plan_id}#note-form", status_code=303)


@router.get("/improvement")
def improvement(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """Before vs after training, per criterion and agent, in practice and in real chats."""
    svc = services(request)
    tz = svc.engine.settings.timezone
    with svc.engine.store.read() as s:
        people = None if viewer.role is UserRole.ADMIN else people_in_scope(s, scope_viewer(viewer))
        allowed = None if people is None else set(people)
        plans = plans_in_scope(s, people, limit=50)
        changes = of_plans(s, plans, tz=tz, window_days=svc.engine.settings.problems.window_days)
        rows: list[tuple[TrainingPlan, list[AgentImprovement]]] = [
            (p, [r for r in changes[p.id] if allowed is None or r.user_id in allowed]) for p in plans
        ]
    flat = [r for _p, rs in rows for r in rs if r.trained]
    chart = _improvement_chart(flat[:30], svc.catalogues.gettext)
    chart["labels"] = [f"{r.name} · {criterion_label(r.criterion, '', svc.catalogues.gettext)}" for r in flat[:30]]
    return render(request, "improvement.html", {"rows": rows, "charts": {"improvement": chart}})
