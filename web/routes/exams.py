"""The trainee's exam pages: upcoming exams and deadlines, the focused exam page (a server-side timer per part, the
written test saved answer by answer, the role-plays), the result page, the certificate.

Exam conditions, enforced by the server (the page only shows them): every answer and reply is checked against the
part's deadline and the tab that holds the exam (:class:`~simulator.exam.attempts.ExamService`); no reference
replies, model answers or hints are shown until the window closes; the knowledge panel only when the exam allows
it; pastes and leaving the page are recorded for the reviewer, never blocked. See docs/exams.md.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from simulator.errors import NotFound
from simulator.exam.attempts import AttemptView, ExamClosed, ExamError, NotEligible, TabConflict
from simulator.exam.certificates import CertificateStatus, certificate_text, find_cjk_font, render_pdf, status_of
from simulator.exam.questions import QuestionKind, shown_options
from simulator.exam.verdict import finding_keys
from simulator.session import AwaitingAnswer, EmptyReply, ReplyTooLong, SessionEnded, as_utc
from simulator.store import certificates as cert_store
from simulator.store.grades import get_grade
from web.auth import TraineeDep, Viewer
from web.errors import error_response
from web.routes.chat import TYPING_DELAY_MS, ChatState, _answer_context, _state
from web.services import services
from web.stream import HEADERS, MEDIA_TYPE, answer_events
from web.views import is_htmx, render

router = APIRouter()
log = logging.getLogger("simulator.web")

TAB_HEADER = "X-Exam-Tab"


def _tab(request: Request) -> str | None:
    return (request.headers.get(TAB_HEADER) or "")[:40] or None


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def refusal(request: Request, exc: Exception) -> Response:
    """An exam rule the request broke, said in the interface's language."""
    gettext = services(request).catalogues.gettext
    if isinstance(exc, TabConflict):
        resp = error_response(
            request,
            409,
            gettext(
                "This exam is open in another tab or window. Only one may answer: "
                "continue there, or reload this page to take the exam over here."
            ),
        )
        resp.headers["X-Exam-Conflict"] = "tab"
        return resp
    if isinstance(exc, ExamClosed):
        resp = error_response(
            request,
            409,
            gettext(
                "Time is up for this part: answers after the deadline are not "
                "accepted. Your answers up to the deadline are saved."
            ),
        )
        resp.headers["X-Exam-Conflict"] = "closed"
        return resp
    if isinstance(exc, NotEligible):
        return error_response(request, 403, eligibility_message(gettext, exc.code, exc.until))
    return error_response(request, 400, gettext("That cannot be done: %(why)s") % {"why": str(exc)})


def eligibility_message(gettext: Callable[[str], str], code: str, until: datetime | None) -> str:
    """Why a trainee cannot start an exam now, in their language."""
    when = until.strftime("%Y-%m-%d %H:%M") + " UTC" if until else ""
    messages = {
        "not-open": gettext("This exam window opens at %(when)s.") % {"when": when},
        "closed": gettext("This exam window has closed."),
        "exam-unavailable": gettext("This exam is not available right now. Ask the exam owner."),
        "cap": gettext("You have used every attempt allowed. Only the exam owner can reopen the exam for you."),
        "cooldown": gettext("You can try again from %(when)s.") % {"when": when}
        if until
        else gettext("Your last attempt is being graded."),
        "plan": gettext("Finish your practice plan first: practise each scenario it lists, then you can retry."),
        "certified": gettext("You already hold a valid certificate for this exam."),
    }
    return messages.get(code, gettext("You cannot start this exam now."))


# ---------------------------------------------------------------------------------------------------------
# Upcoming exams


@router.get("/exams")
def my_exams(request: Request, viewer: Viewer = TraineeDep) -> Response:
    """Open and upcoming exam windows with their deadlines, past attempts, certificates."""
    svc = services(request)
    windows = svc.exams.windows_for(viewer.id)
    from simulator.store.exams import attempts_of

    with svc.engine.store.read() as s:
        attempts = list(reversed(attempts_of(s, viewer.id)))
    titles = {e.exam.id: e.exam.title for e in svc.exams.catalogue.exams()}
    now = svc.exams.now()
    return render(
        request,
        "exams.html",
        {
            "windows": windows,
            "attempts": attempts,
            "titles": titles,
            "certificates": svc.review.certificates_of(viewer.id),
            "now": now,
            "message": eligibility_message,
            "tr": svc.catalogues.gettext,
            "scenario_titles": {x.scenario.id: x.scenario.title for x in svc.engine.scenarios.entries()},
        },
    )


@router.post("/exams/windows/{window_id}/start")
def start(request: Request, window_id: int, viewer: Viewer = TraineeDep) -> Response:
    """Start (or resume) an attempt in a window."""
    try:
        aid = services(request).exams.start(viewer.id, window_id)
    except (ExamError, NotEligible) as exc:
        return refusal(request, exc)
    return _redirect(request, f"/exam/{aid}")


# ---------------------------------------------------------------------------------------------------------
# The focused exam page


def _own(request: Request, attempt_id: int, viewer: Viewer) -> AttemptView:
    return services(request).exams.own(attempt_id, viewer.id)


@router.get("/exam/{attempt_id}")
def exam_page(request: Request, attempt_id: int, viewer: Viewer = TraineeDep) -> Response:
    """The exam: the current part with its timer (or the start of the next part); the result once it is over."""
    svc = services(request)
    v = _own(request, attempt_id, viewer)
    part = v.current
    if part is None:
        return RedirectResponse(f"/exam/{attempt_id}/result", status_code=303)
    context: dict[str, Any] = {
        "v": v,
        "part": part,
        "pdef": v.definition_of(part),
        "exam": v.exam,
        "index": v.row.part_index,
        "remaining_ms": int(part.remaining(svc.exams.now()) * 1000),
    }
    if part.started_at is None:
        return render(request, "exam.html", {**context, "mode": "intro"})
    if part.kind == "written":
        answers = svc.exams.answers(attempt_id)
        items = []
        for i, d in enumerate(v.frozen.questions.get(part.id, []), start=1):
            _, q = v.frozen.bank_questions[d.key]
            stored = answers.get(d.key)
            items.append(
                {
                    "n": i,
                    "key": d.key,
                    "q": q,
                    "options": shown_options(q, d),
                    "answer": stored.answer if stored else None,
                    "saved": stored.saved_at if stored else None,
                }
            )
        return render(request, "exam.html", {**context, "mode": "written", "items": items})
    sid = None
    try:
        sid = svc.exams.next_conversation(attempt_id, viewer.id)
    except ExamClosed:
        return RedirectResponse(f"/exam/{attempt_id}", status_code=303)
    plays = v.frozen.roleplays.get(part.id, [])
    fresh = svc.exams.view(attempt_id, enforce=False)
    sessions = next(p for p in fresh.parts if p.id == part.id).sessions
    state: ChatState | None = _state(request, sid) if sid else None
    if state is None and sessions:
        state = _state(request, sessions[-1])  # the last conversation, ended: "next customer" or "submit"
    chat_ctx = _exam_chat_context(attempt_id, state) if state is not None else {}
    return render(
        request,
        "exam.html",
        {
            **context,
            "mode": "roleplay",
            "plays": plays,
            "done": len([s for s in sessions if s != sid]),
            "total": len(plays),
            "all_done": sid is None and len(sessions) >= len(plays),
            **chat_ctx,
        },
    )


def _exam_chat_context(attempt_id: int, state: ChatState) -> dict[str, Any]:
    scenario = state.entry.scenario if state.entry else None
    return {
        "state": state,
        "chat": state.session,
        "turns": state.session.turns,
        "customer_name": scenario.persona.name if scenario else "",
        "since": state.since,
        "target": scenario.end.target_reply_seconds if scenario else 30,
        "typing_delay": TYPING_DELAY_MS,
        "chat_url": f"/exam/{attempt_id}/chat/{state.session.id}",
        "exam_url": f"/exam/{attempt_id}",
    }


@router.post("/exam/{attempt_id}/claim")
def claim(request: Request, attempt_id: int, viewer: Viewer = TraineeDep) -> Response:
    """This tab takes the exam (the page calls it when it opens; a second tab taking over is recorded)."""
    tab = _tab(request)
    try:
        services(request).exams.claim_tab(attempt_id, viewer.id, tab or "")
    except ExamError as exc:
        return refusal(request, exc)
    return Response(status_code=204)


@router.post("/exam/{attempt_id}/part/start")
def start_part(request: Request, attempt_id: int, viewer: Viewer = TraineeDep) -> Response:
    """Start the next part's timer."""
    try:
        services(request).exams.start_part(attempt_id, viewer.id, _tab(request))
    except ExamError as exc:
        return refusal(request, exc)
    return _redirect(request, f"/exam/{attempt_id}")


@router.post("/exam/{attempt_id}/answer")
def answer(
    request: Request,
    attempt_id: int,
    question: Annotated[str, Form(max_length=160)],
    answer: Annotated[list[str], Form(max_length=8)] = [],  # noqa: B006 — FastAPI reads the default, never mutates it
    viewer: Viewer = TraineeDep,
) -> Response:
    """Save one answer; the fragment says when it was saved (committed before this answer is sent)."""
    svc = services(request)
    v = _own(request, attempt_id, viewer)
    entry = v.frozen.bank_questions.get(question)
    if entry is None:
        raise NotFound("no such question")
    q = entry[1]
    if q.kind is QuestionKind.MULTIPLE:
        raw: Any = [a for a in answer if a]
    else:
        raw = answer[-1] if answer else None
    if isinstance(raw, str) and len(raw) > 2000:
        return error_response(
            request, 422, svc.catalogues.gettext("The answer is too long (at most 2,000 characters).")
        )
    try:
        saved = svc.exams.save_answer(attempt_id, viewer.id, _tab(request), question, raw)
    except (ExamError, NotEligible) as exc:
        return refusal(request, exc)
    return render(request, "_exam_saved.html", {"saved": saved})


@router.post("/exam/{attempt_id}/submit")
def submit(
    request: Request,
    attempt_id: int,
    auto: Annotated[str, Form(max_length=5)] = "",
    viewer: Viewer = TraineeDep,
) -> Response:
    """Submit the current part (the trainee, or the page's timer at zero — the server checks its own clock)."""
    svc = services(request)
    try:
        if auto:
            svc.exams.enforce_deadline(attempt_id)  # only the server's clock can close a part early by "timeout"
        else:
            svc.exams.submit_part(attempt_id, viewer.id, _tab(request))
    except ExamError as exc:
        return refusal(request, exc)
    v = _own(request, attempt_id, viewer)
    return _redirect(request, f"/exam/{attempt_id}" if v.current is not None else f"/exam/{attempt_id}/result")


@router.post("/exam/{attempt_id}/next")
def next_customer(request: Request, attempt_id: int, viewer: Viewer = TraineeDep) -> Response:
    """Meet the next customer of the role-play part."""
    try:
        services(request).exams.next_conversation(attempt_id, viewer.id, _tab(request))
    except ExamError as exc:
        return refusal(request, exc)
    return _redirect(request, f"/exam/{attempt_id}")


@router.post("/exam/{attempt_id}/events")
def events(
    request: Request,
    attempt_id: int,
    kind: Annotated[str, Form(max_length=16)],
    chars: Annotated[int, Form(ge=0, le=10**6)] = 0,
    away_ms: Annotated[int, Form(ge=0, le=10**9)] = 0,
    field: Annotated[str, Form(max_length=40)] = "",
    viewer: Viewer = TraineeDep,
) -> Response:
    """Record what the page saw: a paste (how many characters, where), leaving the page, coming back."""
    detail: dict[str, Any] = {}
    if kind == "paste":
        detail = {"chars": chars, "field": field}
    elif kind == "back":
        detail = {"away_ms": away_ms}
    try:
        services(request).exams.record(attempt_id, viewer.id, kind, detail)
    except ExamError as exc:
        return refusal(request, exc)
    return Response(status_code=204)


# -- the role-plays: the chat's flow, under exam conditions ------------------------------------------------


def _checked(request: Request, attempt_id: int, session_id: str, viewer: Viewer) -> str:
    sid = session_id[:36]
    services(request).exams.check_conversation(attempt_id, viewer.id, _tab(request), sid)
    return sid


@router.post("/exam/{attempt_id}/chat/{session_id}/reply")
def exam_reply(
    request: Request,
    attempt_id: int,
    session_id: str,
    text: Annotated[str, Form(max_length=20_000)] = "",
    viewer: Viewer = TraineeDep,
) -> Response:
    """Store the trainee's reply (committed) if the part's time is not up and this tab holds the exam."""
    svc = services(request)
    gettext = svc.catalogues.gettext
    try:
        sid = _checked(request, attempt_id, session_id, viewer)
    except ExamError as exc:
        return refusal(request, exc)
    if not svc.limiter.allow(("msg", viewer.id)):
        return error_response(request, 429, gettext("You are sending messages too fast. Wait a few seconds."))
    try:
        turn = svc.engine.submit(sid, text)
    except EmptyReply:
        return error_response(request, 422, gettext("Type a message first."))
    except ReplyTooLong:
        message = gettext("The message is too long (at most %(n)s characters). Shorten it or split it.")
        return error_response(request, 422, message % {"n": svc.settings.max_message_chars})
    except SessionEnded:
        return error_response(request, 409, gettext("This conversation has ended."))
    except AwaitingAnswer:
        return error_response(request, 409, gettext("Wait for the customer's answer before sending again."))
    state = _state(request, sid)
    return render(request, "_sent.html", {"turn": turn, **_exam_chat_context(attempt_id, state)})


def _exam_answer(
    request: Request, attempt_id: int, sid: str, after: int, on_delta: Callable[[str], None] | None = None
) -> Response:
    services(request).engine.respond(sid, on_delta=on_delta)
    state = _state(request, sid)
    return render(request, "_answer.html", {**_answer_context(state, after), **_exam_chat_context(attempt_id, state)})


@router.post("/exam/{attempt_id}/chat/{session_id}/customer")
def exam_customer(
    request: Request,
    attempt_id: int,
    session_id: str,
    after: Annotated[int, Form(ge=0)] = 0,
    viewer: Viewer = TraineeDep,
) -> Response:
    """The customer's answer (produced once, whoever asks)."""
    sid = _own_session(request, attempt_id, session_id, viewer)
    return _exam_answer(request, attempt_id, sid, after)


@router.post("/exam/{attempt_id}/chat/{session_id}/customer/stream")
def exam_customer_stream(
    request: Request,
    attempt_id: int,
    session_id: str,
    after: Annotated[int, Form(ge=0)] = 0,
    viewer: Viewer = TraineeDep,
) -> Response:
    """The customer's answer as Server-Sent Events (see :mod:`web.routes.chat`)."""
    svc = services(request)
    sid = _own_session(request, attempt_id, session_id, viewer)
    gettext = svc.catalogues.gettext

    def job(on_delta: Callable[[str], None]) -> str:
        return bytes(_exam_answer(request, attempt_id, sid, after, on_delta).body).decode("utf-8")

    def failed(exc: BaseException) -> str:
        return gettext("Something went wrong on our side. Please try again.")

    return StreamingResponse(answer_events(job, svc.answering, failed=failed), media_type=MEDIA_TYPE, headers=HEADERS)


def _own_session(request: Request, attempt_id: int, session_id: str, viewer: Viewer) -> str:
    """A conversation of the viewer's attempt (the customer may still answer a reply sent before the deadline)."""
    v = _own(request, attempt_id, viewer)
    sid = session_id[:36]
    if not any(sid in p.sessions for p in v.parts):
        raise NotFound("no such conversation")
    return sid


@router.post("/exam/{attempt_id}/chat/{session_id}/end")
def exam_end(request: Request, attempt_id: int, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The trainee ends this conversation (it is graded as it stands); then the next customer."""
    try:
        sid = _checked(request, attempt_id, session_id, viewer)
    except ExamError as exc:
        return refusal(request, exc)
    services(request).engine.end(sid, abandon=False)
    return _redirect(request, f"/exam/{attempt_id}")


# ---------------------------------------------------------------------------------------------------------
# The result and the certificate


@router.get("/exam/{attempt_id}/result")
def result(request: Request, attempt_id: int, viewer: Viewer = TraineeDep) -> Response:
    """Verdict and scores against the floors; once the window closes, the full report: each answer with the right
    one and its explanation, each conversation's findings and report card, appeals."""
    v = _own(request, attempt_id, viewer)
    if v.row.status == "in-progress":
        return RedirectResponse(f"/exam/{attempt_id}", status_code=303)
    context: dict[str, Any] = {"v": v, "exam": v.exam, "verdict": v.verdict, "closed": v.window_closed}
    # While grading runs the page polls this URL and keeps only #result (hx-select), so it is always the page.
    return render(request, "exam_result.html", {**context, **_result_details(request, v)})


def _result_details(request: Request, v: AttemptView) -> dict[str, Any]:
    svc = services(request)
    e = None
    with contextlib.suppress(NotFound):  # a cancelled window: no retry from here
        e = svc.exams.eligibility(v.row.user_id, v.row.window_id)
    out: dict[str, Any] = {
        "eligibility": e,
        "message": eligibility_message,
        "tr": svc.catalogues.gettext,
        "scenario_titles": {x.scenario.id: x.scenario.title for x in svc.engine.scenarios.entries()},
    }
    with svc.engine.store.read() as s:
        out["certificate"] = cert_store.of_attempt(s, v.row.id)
    if v.plan and e is not None:
        out["plan"] = list(zip(v.plan, e.plan_done or [False] * len(v.plan), strict=False))
    if not v.window_closed or v.row.status != "graded":
        return out
    review = svc.review.review(v.row.id)
    answers = review.answers
    written = []
    for part in v.parts:
        for i, d in enumerate(v.frozen.questions.get(part.id, []), start=1):
            _, q = v.frozen.bank_questions[d.key]
            a = answers.get(d.key)
            written.append(
                {
                    "n": i,
                    "key": d.key,
                    "q": q,
                    "options": shown_options(q, d),
                    "answer": a.answer if a else None,
                    "result": (a.result or {}) if a else {},
                }
            )
    convs = []
    for c in review.conversations:
        with svc.engine.store.read() as s:
            stored = get_grade(s, c.session.id)
        keyed = finding_keys(stored.grade) if stored is not None else []
        convs.append(
            {
                "session": c.session,
                "grade": c.grade,
                "findings": keyed,
                "dismissed": c.dismissed,
                "title": v.frozen.scenarios.get(c.session.scenario_id, {}).get("scenario", {}).get("title", ""),
            }
        )
    out.update({"written": written, "conversations": convs, "appeals": review.appeals})
    return out


@router.post("/exam/{attempt_id}/appeal")
def appeal(
    request: Request,
    attempt_id: int,
    target: Annotated[str, Form(max_length=160)],
    text: Annotated[str, Form(max_length=2000)],
    session_id: Annotated[str, Form(max_length=36)] = "",
    viewer: Viewer = TraineeDep,
) -> Response:
    """Appeal a finding or a written answer (after the window closes)."""
    try:
        services(request).review.appeal(viewer.id, attempt_id, target, text, session_id=session_id or None)
    except ExamError as exc:
        return refusal(request, exc)
    return RedirectResponse(f"/exam/{attempt_id}/result?appealed=1", status_code=303)


def _certificate_for(request: Request, code: str, viewer: Viewer) -> cert_store.Certificate:
    svc = services(request)
    found = svc.review.verify(code)
    if found is None or (found.certificate.user_id != viewer.id and not viewer.is_exam_owner):
        raise NotFound("no such certificate")
    return found.certificate


@router.get("/certificates/{code}")
def certificate(request: Request, code: str, viewer: Viewer = TraineeDep) -> Response:
    """The printable certificate (its holder and exam owners)."""
    c = _certificate_for(request, code[:20], viewer)
    svc = services(request)
    status = status_of(as_utc(c.expires_at), c.revoked_at, svc.exams.now())
    return render(request, "certificate.html", {"c": c, "status": status, "text": _text(request, c)})


@router.get("/certificates/{code}/pdf")
def certificate_pdf(request: Request, code: str, viewer: Viewer = TraineeDep) -> Response:
    """The certificate as a PDF (A4 landscape, fonts embedded)."""
    c = _certificate_for(request, code[:20], viewer)
    svc = services(request)
    if status_of(as_utc(c.expires_at), c.revoked_at, svc.exams.now()) is CertificateStatus.REVOKED:
        return error_response(request, 410, svc.catalogues.gettext("This certificate has been revoked."))
    pdf = render_pdf(_text(request, c), font=find_cjk_font(svc.settings.cjk_font))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="certificate-{c.code}.pdf"'},
    )


def _text(request: Request, c: cert_store.Certificate) -> Any:
    base = str(request.base_url).rstrip("/")
    return certificate_text(
        locale=c.locale,
        holder=c.holder,
        exam=c.title,
        shop=c.shop,
        overall=c.overall,
        issued_at=as_utc(c.issued_at),
        expires_at=as_utc(c.expires_at),
        code=c.code,
        verify_url=f"{base}/verify/{c.code}",
    )


def utcnow() -> datetime:
    """Now, for templates."""
    return datetime.now(UTC)
