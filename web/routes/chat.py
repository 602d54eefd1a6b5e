"""The chat page and its htmx fragments: send a reply, receive the customer's answer, end, search knowledge.

The trainee's reply is committed and acknowledged by one short POST; the typing indicator it returns then
asks for the customer's answer. Two ways, same result:

- ``POST /chat/{id}/customer/stream`` (what the page's JavaScript uses): the customer's words as they are
  produced, then the committed turn as the ``_answer.html`` fragment — Server-Sent Events, see
  :mod:`web.stream`. It is a POST read with ``fetch``, not an ``EventSource`` (which the htmx SSE extension
  uses): an EventSource can only GET, cannot send the CSRF header, and reconnects on its own, while producing
  a turn is a state change that must be asked for once, with the token. The SSE framing still lets proxies
  and tools recognise a stream and not buffer it.
- ``POST /chat/{id}/customer`` (htmx; the fallback when streaming is unavailable or fails): produces the
  answer, commits it and returns the same fragment in one response.

Either is idempotent and resumable after a restart or a dropped connection (the indicator simply asks again;
the answer is produced once, under the per-conversation lock in :mod:`web.practice`), trivially
load-balanced across instances, measurable by the load benchmark (which asks the plain endpoint), and nothing
holds a connection open between messages. See docs/web.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from simulator.errors import NotFound, SimulatorError
from simulator.store.models import PracticeSession, SessionKind, TurnRole
from web.auth import TraineeDep, Viewer
from web.catalogue import Entry
from web.errors import error_response
from web.practice import ChatState, PracticeError
from web.services import services
from web.stream import HEADERS, MEDIA_TYPE, answer_events
from web.views import is_htmx, render

router = APIRouter()
log = logging.getLogger("simulator.web")

# Long enough to read as "typing", short enough not to annoy.
TYPING_DELAY_MS = 700


def _own(request: Request, session_id: str, viewer: Viewer) -> ChatState:
    state = services(request).practice.state(session_id[:36])
    if state.row.user_id != viewer.id:
        raise NotFound("no such conversation")
    return state


def _own_row(request: Request, session_id: str, viewer: Viewer) -> PracticeSession:
    """The viewer's conversation row without its turns (the hot routes need no more to check ownership)."""
    row = services(request).practice.row(session_id[:36])
    if row.user_id != viewer.id:
        raise NotFound("no such conversation")
    return row


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.post("/practice/{scenario_id}")
def start(request: Request, scenario_id: str, viewer: Viewer = TraineeDep) -> Response:
    """Start (or resume) practising a scenario."""
    sid = services(request).practice.start(viewer.id, scenario_id[:80], kind=SessionKind.PRACTICE)
    return _redirect(request, f"/chat/{sid}")


@router.get("/chat/{session_id}")
def chat_page(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The conversation: transcript so far, reply box, timer, knowledge panel."""
    state = _own(request, session_id, viewer)
    return render(request, "chat.html", _chat_context(state))


def _chat_context(state: ChatState) -> dict[str, object]:
    last_customer = next((t for t in reversed(state.turns) if t.role == TurnRole.CUSTOMER.value), None)
    scenario = state.entry.scenario if state.entry else None
    return {
        "state": state,
        "row": state.row,
        "turns": state.turns,
        "scenario": scenario,
        "customer_name": scenario.persona.name if scenario else "",
        "since": last_customer.created_at if last_customer else None,
        "target": scenario.end.target_reply_seconds if scenario else 30,
        "typing_delay": TYPING_DELAY_MS,
    }


@router.post("/chat/{session_id}/reply")
def reply(
    request: Request,
    session_id: str,
    text: Annotated[str, Form(max_length=20_000)] = "",
    viewer: Viewer = TraineeDep,
) -> Response:
    """Store the trainee's message (committed), then return it with the customer's typing indicator."""
    svc = services(request)
    gettext = svc.catalogues.gettext
    row = _own_row(request, session_id, viewer)
    if not svc.limiter.allow(("msg", viewer.id)):
        return _error(request, 429, gettext("You are sending messages too fast. Wait a few seconds."))
    try:
        turn = svc.practice.submit(row.id, text)
    except PracticeError as exc:
        messages = {
            "empty": gettext("Type a message first."),
            "too-long": gettext("The message is too long (at most %(n)s characters). Shorten it or split it.")
            % {"n": svc.settings.max_message_chars},
            "ended": gettext("This conversation has ended."),
            "waiting": gettext("Wait for the customer's answer before sending again."),
        }
        return _error(request, 409 if str(exc) in ("ended", "waiting") else 422, messages.get(str(exc), str(exc)))
    return render(
        request,
        "_sent.html",
        {
            "turn": turn,
            "row": row,
            "customer_name": _persona_name(svc.practice.entry(row)),
            "typing_delay": TYPING_DELAY_MS,
        },
    )


@router.post("/chat/{session_id}/customer")
def customer_turn(
    request: Request,
    session_id: str,
    after: Annotated[int, Form(ge=0)] = 0,
    viewer: Viewer = TraineeDep,
) -> Response:
    """Produce (if still due) and return the customer's answer: every turn after ``after``."""
    return _answer(request, _own_row(request, session_id, viewer).id, after)


@router.post("/chat/{session_id}/customer/stream")
def customer_stream(
    request: Request,
    session_id: str,
    after: Annotated[int, Form(ge=0)] = 0,
    viewer: Viewer = TraineeDep,
) -> Response:
    """The customer's answer as Server-Sent Events: ``delta`` pieces as produced, then the committed ``turn``.

    Access is checked before the stream starts (a stranger's conversation is a plain 404).
    """
    svc = services(request)
    practice = svc.practice
    row = _own_row(request, session_id, viewer)
    gettext = svc.catalogues.gettext

    def job(on_delta: Callable[[str], None]) -> str:
        return bytes(_answer(request, row.id, after, on_delta=on_delta).body).decode("utf-8")

    def failed(exc: BaseException) -> str:
        if isinstance(exc, NotFound):
            return gettext("Not found.")
        return gettext("Something went wrong on our side. Please try again.")

    events = answer_events(job, practice.answering, failed=failed)
    return StreamingResponse(events, media_type=MEDIA_TYPE, headers=HEADERS)


def _answer(
    request: Request, session_id: str, after: int, *, on_delta: Callable[[str], None] | None = None
) -> Response:
    """Answer the pending message, if any (a no-op otherwise), and render the turns after ``after``: the one
    fragment both the plain and the streamed endpoint end with."""
    practice = services(request).practice
    practice.respond(session_id, on_delta=on_delta)
    return render(request, "_answer.html", _answer_context(practice.state(session_id), after))


def _answer_context(state: ChatState, after: int) -> dict[str, object]:
    """What ``_answer.html`` shows: the turns after ``after``, then the indicator, closed composer or timer."""
    last_customer = next((t for t in reversed(state.turns) if t.role == TurnRole.CUSTOMER.value), None)
    return {
        "new": [t for t in state.turns if t.seq > after],
        "state": state,
        "row": state.row,
        "customer_name": _customer_name(state),
        "since": last_customer.created_at if last_customer else None,
        "target": state.entry.scenario.end.target_reply_seconds if state.entry else 30,
        "typing_delay": TYPING_DELAY_MS,
    }


@router.post("/chat/{session_id}/end")
def end(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The trainee closes the conversation; go to the report."""
    state = _own(request, session_id, viewer)
    services(request).practice.end(state.row.id, abandon=False)
    return _redirect(request, f"/reports/{state.row.id}")


@router.post("/chat/{session_id}/abandon")
def abandon(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The trainee gives up; go to the report."""
    state = _own(request, session_id, viewer)
    services(request).practice.end(state.row.id, abandon=True)
    return _redirect(request, f"/reports/{state.row.id}")


@router.get("/kb/search")
def kb_search(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    locale: Annotated[str | None, Query(max_length=8)] = None,
    viewer: Viewer = TraineeDep,
) -> Response:
    """Knowledge side panel: hybrid search with sources (fragment; a full page without htmx)."""
    svc = services(request)
    gettext = svc.catalogues.gettext
    query = q.strip()
    passages: list[object] = []
    error = None
    if query:
        if not svc.limiter.allow(("kb", viewer.id)):
            error = gettext("Too many searches. Wait a few seconds.")
        else:
            retriever = svc.retriever()
            if retriever is None:
                error = gettext("The knowledge base is not available. Ask an administrator to build it.")
            else:
                try:
                    passages = list(retriever.search(query, k=5, locale=locale if locale in ("zh-CN", "en") else None))
                except Exception as exc:  # an index problem must not break the chat page
                    if not isinstance(exc, SimulatorError):
                        log.exception("knowledge search failed")
                    error = gettext("The knowledge base is not available. Ask an administrator to build it.")
    name = "_kb_results.html" if is_htmx(request) else "kb.html"
    return render(request, name, {"q": query, "passages": passages, "error": error})


def _customer_name(state: ChatState) -> str:
    return _persona_name(state.entry)


def _persona_name(entry: Entry | None) -> str:
    return entry.scenario.persona.name if entry else ""


def _error(request: Request, status: int, message: str) -> Response:
    return error_response(request, status, message)
