"""The trainer's home: the team dashboard — figures over time, simulation and real chats side by side, the agents ×
criteria heatmap, frequent findings and red lines, the classified problems with their training mode and a
one-click plan, improvement after training — plus CSV export. Trainers and admins only; everything is narrowed
to the people the viewer may see (:mod:`simulator.analytics.scope`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from simulator.analytics import dashboard as figures
from simulator.analytics import export as csv_export
from simulator.analytics.improvement import of_plans, plans_in_scope, team_change
from simulator.analytics.problems import classification_ranges, classify, criterion_counts_in, window_of
from simulator.analytics.scope import PERIODS, SOURCES, visible_groups
from simulator.errors import NotFound
from simulator.store.users import User
from web.auth import TrainerDep, Viewer
from web.scope import filters_from, query_of, scope_of, scope_viewer
from web.services import services
from web.views import is_htmx, render

router = APIRouter(prefix="/trainer")

MAX_PROBLEMS = 12


def chart_data(dash: figures.Dashboard, labels: dict[str, str]) -> dict[str, Any]:
    """What the page's charts draw (JSON for app.js)."""
    trend = {
        "labels": dash.labels,
        "series": [
            {"name": labels["sim_pass"], "data": dash.series("simulation", "pass_rate")},
            {"name": labels["real_pass"], "data": dash.series("real", "pass_rate")},
            {"name": labels["sim_overall"], "data": dash.series("simulation", "overall")},
            {"name": labels["real_overall"], "data": dash.series("real", "overall")},
        ],
    }
    dims = {
        "labels": dash.labels,
        "series": [
            {
                "name": labels[d],
                "data": [
                    _merge(a, b) for a, b in zip(dash.series("simulation", d), dash.series("real", d), strict=True)
                ],
            }
            for d in figures.DIMENSIONS
        ],
    }
    hm = dash.heatmap
    heat = {
        "x": [labels.get(f"crit:{c}", t) for c, _d, t in hm.criteria],
        "y": [name for _u, name in hm.agents],
        "cells": [
            [ci, ai, hm.cells[(u, c)].rate, hm.cells[(u, c)].count.n]
            for ai, (u, _n) in enumerate(hm.agents)
            for ci, (c, _d, _t) in enumerate(hm.criteria)
            if (u, c) in hm.cells
        ],
    }
    return {"trend": trend, "dims": dims, "heatmap": heat}


def _merge(a: float | None, b: float | None) -> float | None:
    """Simulation and real chats together (a simple mean of the two when both exist)."""
    values = [v for v in (a, b) if v is not None]
    return round(sum(values) / len(values), 1) if values else None


@router.get("")
def dashboard(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """The team dashboard (htmx filter changes get the body only)."""
    svc = services(request)
    settings = svc.engine.settings
    filters = filters_from(request)
    tz = settings.timezone
    gettext = svc.catalogues.gettext
    with svc.engine.store.read() as s:
        scope = scope_of(s, viewer, filters)
        groups = visible_groups(s, scope_viewer(viewer))
        shops = figures.shops(s)
        # One scan of the criterion facts serves the heatmap's period and the classification's window and baseline.
        ranges = {"period": filters.period(tz), **classification_ranges(filters, settings.problems, tz)}
        counts = criterion_counts_in(s, scope.people, filters, ranges)
        dash = figures.build(s, scope.people, filters, tz, counts=counts["period"])
        problems = classify(s, scope.people, filters, settings.problems, tz, counts=counts)
        window = window_of(filters, settings.problems, tz)
        plans = plans_in_scope(s, scope.people, limit=5)
        changes = of_plans(s, plans, tz=tz, window_days=settings.problems.window_days)
        improvement = [(p, team_change(changes[p.id])) for p in plans]
        wanted = {a.user_id for p in problems for a in p.agents}
        names = {u.id: u.display_name for u in s.query(User).filter(User.id.in_(wanted))} if wanted else {}
    from web.views import criterion_label

    labels = {
        "sim_pass": gettext("Pass rate, simulation"),
        "real_pass": gettext("Pass rate, real chats"),
        "sim_overall": gettext("Average score, simulation"),
        "real_overall": gettext("Average score, real chats"),
        **{d: gettext(d.capitalize()) for d in figures.DIMENSIONS},
        **{f"crit:{c}": criterion_label(c, t, gettext) for c, _d, t in dash.heatmap.criteria},
    }
    context = {
        "dash": dash,
        "charts": chart_data(dash, labels),
        "problems": problems[:MAX_PROBLEMS],
        "more_problems": max(0, len(problems) - MAX_PROBLEMS),
        "window": window,
        "names": names,
        "filters": filters,
        "query": query_of(filters),
        "groups": groups,
        "shops": shops,
        "periods": PERIODS,
        "sources": SOURCES,
        "improvement": improvement,
        "empty": not scope.people and scope.people is not None,
    }
    if is_htmx(request) and request.headers.get("hx-target") == "dashboard-body":
        return render(request, "_dashboard_body.html", context)
    return render(request, "dashboard.html", context)


@router.get("/export/{kind}.csv")
def export(request: Request, kind: str, viewer: Viewer = TrainerDep) -> Response:
    """Attempts, findings or plans as CSV, for the people and period of the filters."""
    if kind not in csv_export.KINDS:
        raise NotFound("no such export")
    svc = services(request)
    filters = filters_from(request)
    tz = svc.engine.settings.timezone
    start, end = filters.period(tz)

    def body() -> Iterator[bytes]:
        with svc.engine.store.read() as s:
            scope = scope_of(s, viewer, filters)
            if kind == "plans":
                lines = csv_export.plans(s, scope.people, tz)
            else:
                lines = getattr(csv_export, kind)(s, scope.people, filters, tz)
            chunk: list[str] = []
            for line in lines:  # in chunks: each item of a sync iterator is a trip to the thread pool
                chunk.append(line)
                if len(chunk) >= 500:
                    yield "".join(chunk).encode("utf-8")
                    chunk = []
            if chunk:
                yield "".join(chunk).encode("utf-8")

    name = f"{kind}-{start.isoformat()}-{end.isoformat()}.csv" if kind != "plans" else "plans.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/calibration")
def calibration(request: Request, viewer: Viewer = TrainerDep) -> Response:
    """How far the grader agrees with the shop's own QA raters: the calibration profile in use (``SIM_CALIBRATION``),
    with the agreement measured by cross-validation when it was fitted, or how to make one."""
    from simulator.errors import SimulatorError
    from simulator.grading.calibration import TARGETS, load_profile

    path = services(request).engine.settings.calibration
    profile, error = None, None
    if path is not None:
        try:
            profile = load_profile(path)
        except SimulatorError as exc:
            error = str(exc)
    models = [(t, profile.models[t]) for t in TARGETS if profile is not None and t in profile.models]
    return render(request, "calibration.html", {"profile": profile, "models": models, "error": error, "path": path})
