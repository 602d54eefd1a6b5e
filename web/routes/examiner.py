"""The exam owner's pages: exam files and their problems, scheduling windows for a trainee or a group, who is in
progress right now, reviewing an attempt turn by turn, overriding a finding with a written reason, deciding
appeals, re-grading, reopening, revoking certificates, the audit log. Exam owners and admins only — every route
depends on :data:`~web.auth.ExamOwnerDep`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from simulator.errors import NotFound, SimulatorError
from simulator.exam.attempts import ExamError
from simulator.store import exams as exam_store
from simulator.store.groups import list_groups
from simulator.store.users import UserRole, list_users
from web.auth import ExamOwnerDep, Viewer
from web.report import build_report
from web.routes.exams import refusal
from web.services import services
from web.views import is_htmx, render

router = APIRouter(prefix="/examiner")


def _when(text: str, gettext: Any, *, end_of_day: bool = False) -> datetime:
    """``2026-12-31`` or ``2026-12-31T09:30`` (UTC, as every time on these pages)."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, time(23, 59) if end_of_day else time(0, 0), tzinfo=UTC)
        return datetime.strptime(text[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    except ValueError:
        raise SimulatorError(gettext("Times must look like 2026-12-31 or 2026-12-31T09:30 (UTC).")) from None


@router.get("")
def dashboard(request: Request, viewer: Viewer = ExamOwnerDep) -> Response:
    """Exam files, the scheduling form, windows, who is in progress, open appeals, recent attempts."""
    svc = services(request)
    loaded = svc.exams.catalogue.loaded
    with svc.engine.store.read() as s:
        trainees = list(list_users(s, UserRole.TRAINEE))
        groups = list(list_groups(s))
        windows = list(exam_store.list_windows(s, limit=50))
        recent = list(exam_store.list_attempts(s, limit=50))
        people = {u.id: u for u in list_users(s)}
    now = svc.exams.now()
    return render(
        request,
        "examiner.html",
        {
            "files": sorted(loaded.files.items()),
            "exams": svc.exams.catalogue.exams(),
            "titles": {e.exam.id: e.exam.title for e in svc.exams.catalogue.exams()},
            "trainees": trainees,
            "groups": {g.id: g for g in groups},
            "windows": windows,
            "recent": [a for a in recent if a.status != "in-progress"],
            "people": people,
            "live": svc.exams.in_progress(),
            "appeals": svc.review.open_appeals(),
            "now": now,
            "default_opens": now.strftime("%Y-%m-%dT%H:%M"),
            "default_closes": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "scheduled": request.query_params.get("scheduled") == "1",
        },
    )


@router.get("/live")
def live(request: Request, viewer: Viewer = ExamOwnerDep) -> Response:
    """Who is taking an exam right now: part, time left, pastes, times they left the page (refreshed by htmx)."""
    svc = services(request)
    with svc.engine.store.read() as s:
        people = {u.id: u for u in list_users(s)}
    return render(
        request,
        "_examiner_live.html",
        {
            "live": svc.exams.in_progress(),
            "people": people,
            "now": svc.exams.now(),
            "titles": {e.exam.id: e.exam.title for e in svc.exams.catalogue.exams()},
        },
    )


@router.post("/windows")
def schedule(
    request: Request,
    exam_id: Annotated[str, Form(max_length=80)],
    opens: Annotated[str, Form(max_length=20)],
    closes: Annotated[str, Form(max_length=20)],
    target: Annotated[str, Form(max_length=20)],
    note: Annotated[str, Form(max_length=500)] = "",
    viewer: Viewer = ExamOwnerDep,
) -> Response:
    """Schedule a window: ``target`` is ``user:<id>`` or ``group:<id>``."""
    svc = services(request)
    gettext = svc.catalogues.gettext
    kind, _, raw = target.partition(":")
    if kind not in ("user", "group") or not raw.isdigit():
        raise SimulatorError(gettext("Choose a trainee or a group."))
    try:
        svc.exams.schedule(
            viewer.id,
            exam_id,
            opens_at=_when(opens, gettext),
            closes_at=_when(closes, gettext, end_of_day=True),
            user_id=int(raw) if kind == "user" else None,
            group_id=int(raw) if kind == "group" else None,
            note=note,
        )
    except ExamError as exc:
        return refusal(request, exc)
    return RedirectResponse("/examiner?scheduled=1", status_code=303)


@router.post("/windows/{window_id}/cancel")
def cancel(
    request: Request, window_id: int, reason: Annotated[str, Form(max_length=500)] = "", viewer: Viewer = ExamOwnerDep
) -> Response:
    """Cancel a window (attempts already started keep their deadlines)."""
    services(request).exams.cancel_window(viewer.id, window_id, reason)
    return RedirectResponse("/examiner", status_code=303)


@router.get("/attempts/{attempt_id}")
def attempt(request: Request, attempt_id: int, viewer: Viewer = ExamOwnerDep) -> Response:
    """An attempt turn by turn: the verdict and its figures, every answer, every conversation with its findings
    (override them here), page events (pastes, leaving the page, tabs), appeals and the audit trail."""
    svc = services(request)
    review = svc.review.review(attempt_id)
    with svc.engine.store.read() as s:
        people = {u.id: u for u in list_users(s)}
    written = []
    for part in review.view.parts:
        for i, d in enumerate(review.view.frozen.questions.get(part.id, []), start=1):
            _, q = review.view.frozen.bank_questions[d.key]
            a = review.answers.get(d.key)
            from simulator.exam.questions import shown_options

            written.append(
                {
                    "n": i,
                    "key": d.key,
                    "q": q,
                    "options": shown_options(q, d),
                    "answer": a.answer if a else None,
                    "result": (a.result or {}) if a else {},
                    "changes": a.changes if a else 0,
                    "override": review.in_force.get((None, f"question:{d.key}")),
                }
            )
    variants = {p["scenario"]: p["variant"] for plays in review.view.frozen.roleplays.values() for p in plays}
    cards = []
    for c in review.conversations:
        card = build_report(c.session, c.grade, target_reply_seconds=None)
        keys = {id(f): k for k, f in c.findings}
        for shown in [*card.general_findings, *card.red_lines, *(f for t in card.turns for f in t.findings)]:
            shown.key = keys.get(id(shown.finding), "")  # type: ignore[attr-defined]
        cards.append((c, card))
    return render(
        request,
        "examiner_attempt.html",
        {
            "r": review,
            "v": review.view,
            "verdict": review.view.verdict,
            "written": written,
            "people": people,
            "variants": variants,
            "owner": people.get(review.view.row.user_id),
            "cards": cards,
            "titles": {sid: e.get("scenario", {}).get("title", sid) for sid, e in review.view.frozen.scenarios.items()},
        },
    )


@router.post("/attempts/{attempt_id}/override")
def override(
    request: Request,
    attempt_id: int,
    target: Annotated[str, Form(max_length=160)],
    action: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    session_id: Annotated[str, Form(max_length=36)] = "",
    viewer: Viewer = ExamOwnerDep,
) -> Response:
    """Override one finding or written answer with a written reason (logged; the verdict is decided again)."""
    try:
        services(request).review.override(viewer.id, attempt_id, target, action, reason, session_id=session_id or None)
    except ExamError as exc:
        return refusal(request, exc)
    return RedirectResponse(f"/examiner/attempts/{attempt_id}#audit", status_code=303)


@router.post("/attempts/{attempt_id}/regrade")
def regrade(
    request: Request,
    attempt_id: int,
    reason: Annotated[str, Form(max_length=2000)] = "",
    viewer: Viewer = ExamOwnerDep,
) -> Response:
    """Grade the attempt again with today's grader (explicit, logged)."""
    try:
        services(request).review.regrade(viewer.id, attempt_id, reason)
    except ExamError as exc:
        return refusal(request, exc)
    return RedirectResponse(f"/examiner/attempts/{attempt_id}#audit", status_code=303)


@router.post("/appeals/{appeal_id}/decide")
def decide_appeal(
    request: Request,
    appeal_id: int,
    decision: Annotated[str, Form(max_length=10)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[int, Form()] = 0,
    viewer: Viewer = ExamOwnerDep,
) -> Response:
    """Uphold or reject an appeal with a written reason."""
    try:
        services(request).review.decide_appeal(viewer.id, appeal_id, uphold=decision == "uphold", reason=reason)
    except ExamError as exc:
        return refusal(request, exc)
    return RedirectResponse(f"/examiner/attempts/{back}#appeals" if back else "/examiner", status_code=303)


@router.post("/reopen")
def reopen(
    request: Request,
    user_id: Annotated[int, Form()],
    exam_id: Annotated[str, Form(max_length=80)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[int, Form()] = 0,
    viewer: Viewer = ExamOwnerDep,
) -> Response:
    """Grant a trainee one more attempt after their last allowed one (logged)."""
    try:
        services(request).review.reopen(viewer.id, user_id, exam_id, reason)
    except ExamError as exc:
        return refusal(request, exc)
    return RedirectResponse(f"/examiner/attempts/{back}#audit" if back else "/examiner", status_code=303)


@router.get("/audit")
def audit(request: Request, viewer: Viewer = ExamOwnerDep) -> Response:
    """Every action on exams, newest first: who, what, why."""
    svc = services(request)
    with svc.engine.store.read() as s:
        people = {u.id: u for u in list_users(s)}
    entries = svc.review.audit_log(limit=1000)
    if is_htmx(request):
        return render(request, "_audit.html", {"entries": entries, "people": people})
    return render(request, "examiner_audit.html", {"entries": entries, "people": people})


@router.get("/overrides.json")
def overrides(request: Request, viewer: Viewer = ExamOwnerDep) -> Response:
    """Every override as a labelled example for calibrating the grader (download)."""
    body = json.dumps(services(request).review.calibration_examples(), ensure_ascii=False, indent=1)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="exam-overrides.json"'},
    )


@router.get("/certificates")
def certificates(request: Request, viewer: Viewer = ExamOwnerDep) -> Response:
    """Every certificate with its status; revoke one."""
    svc = services(request)
    return render(request, "examiner_certificates.html", {"certs": svc.review.certificates()})


@router.post("/certificates/{certificate_id}/revoke")
def revoke(
    request: Request,
    certificate_id: int,
    reason: Annotated[str, Form(max_length=2000)] = "",
    viewer: Viewer = ExamOwnerDep,
) -> Response:
    """Revoke a certificate with a written reason (``/verify`` then says revoked)."""
    try:
        services(request).review.revoke(viewer.id, certificate_id, reason)
    except (ExamError, NotFound) as exc:
        if isinstance(exc, NotFound):
            raise
        return refusal(request, exc)
    return RedirectResponse("/examiner/certificates", status_code=303)
