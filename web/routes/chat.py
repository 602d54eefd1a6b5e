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
the answer is produced once, under the per-conversation lock in :mod:`simulator.engine`), trivially
load-balanced across instances, measurable by the load benchmark (which asks the plain endpoint), and nothing
holds a connection open between messages. See docs/web.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from simulator.errors import NotFound, SimulatorError
from simulator.scenario.catalogue import Entry
from simulator.session import AwaitingAnswer, EmptyReply, ReplyTooLong, Session, SessionEnded, SessionKind
from simulator.turn import Speaker
from web.auth import TraineeDep, Viewer
from web.errors import error_response
from web.services import services
from web.stream import HEADERS, MEDIA_TYPE, answer_events
from web.views import is_htmx, render

router = APIRouter()
log = logging.getLogger("simulator.web")

# Long enough to read as "typing", short enough not to annoy.
TYPING_DELAY_MS = 700


@dataclass
class ChatState:
    """What the chat page and its fragments show: the conversation and its scenario (None if unusable now)."""

    session: Session
    entry: Entry | None

    @property
    def pending(self) -> bool:
        """The trainee's message waits for the customer's answer (show the typing indicator)."""
        return self.session.awaiting_answer

    @property
    def active(self) -> bool:
        """Replies are still accepted."""
        return not self.session.ended

    @property
    def since(self) -> object:
        """When the customer last spoke: the response timer counts from there."""
        last = next((t for t in reversed(self.session.turns) if t.role is Speaker.CUSTOMER), None)
        return self.session.time_of(last) if last is not None else None


def _state(request: Request, session_id: str) -> ChatState:
    engine = services(request).engine
    session = engine.conversation(session_id)
    try:
        entry: Entry | None = engine.scenarios.get(session.scenario_id)
    except NotFound:
        entry = None
    return ChatState(session, entry)


def _own(request: Request, session_id: str, viewer: Viewer) -> ChatState:
    state = _state(request, session_id[:36])
    if state.session.trainee_id != str(viewer.id):
        raise NotFound("no such conversation")
    return state


def _own_id(request: Request, session_id: str, viewer: Viewer) -> str:
    """The viewer's practice conversation id, checked on the session row alone (the hot routes need no more).

    An exam's conversation is not answered here: its routes under ``/exam/`` check the part's deadline and the
    tab that holds the exam first (:mod:`web.routes.exams`).
    """
    from simulator.store.sessions import get_session

    sid = session_id[:36]
    with services(request).engine.store.read() as s:
        row = get_session(s, sid)
    if row is None or row.user_id != viewer.id or row.kind == SessionKind.EXAM.value:
        raise NotFound("no such conversation")
    return sid


def _redirect(request: Request, url: str) -> Response:
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


@router.post("/practice/{scenario_id}")
def start(request: Request, scenario_id: str, viewer: Viewer = TraineeDep) -> Response:
    """Start (or resume) practising a scenario."""
    sid = services(request).engine.start(viewer.id, scenario_id[:80], kind=SessionKind.PRACTICE)
    return _redirect(request, f"/chat/{sid}")


@router.get("/chat/{session_id}")
def chat_page(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The conversation: transcript so far, reply box, timer, knowledge panel."""
    state = _own(request, session_id, viewer)
    if state.session.exam_attempt_id is not None:  # an exam's conversation lives on the exam page
        return RedirectResponse(f"/exam/{state.session.exam_attempt_id}", status_code=303)
    return render(request, "chat.html", _chat_context(state))


def _chat_context(state: ChatState) -> dict[str, object]:
    scenario = state.entry.scenario if state.entry else None
    return {
        "state": state,
        "chat": state.session,
        "turns": state.session.turns,
        "scenario": scenario,
        "customer_name": scenario.persona.name if scenario else "",
        "since": state.since,
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
    sid = _own_id(request, session_id, viewer)
    if not svc.limiter.allow(("msg", viewer.id)):
        return _error(request, 429, gettext("You are sending messages too fast. Wait a few seconds."))
    try:
        turn = svc.engine.submit(sid, text)
    except EmptyReply:
        return _error(request, 422, gettext("Type a message first."))
    except ReplyTooLong:
        message = gettext("The message is too long (at most %(n)s characters). Shorten it or split it.")
        return _error(request, 422, message % {"n": svc.settings.max_message_chars})
    except SessionEnded:
        return _error(request, 409, gettext("This conversation has ended."))
    except AwaitingAnswer:
        return _error(request, 409, gettext("Wait for the customer's answer before sending again."))
    state = _state(request, sid)
    return render(
        request,
        "_sent.html",
        {
            "turn": turn,
            "chat": state.session,
            "customer_name": _persona_name(state.entry),
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
    return _answer(request, _own_id(request, session_id, viewer), after)


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
    sid = _own_id(request, session_id, viewer)
    gettext = svc.catalogues.gettext

    def job(on_delta: Callable[[str], None]) -> str:
        return bytes(_answer(request, sid, after, on_delta=on_delta).body).decode("utf-8")

    def failed(exc: BaseException) -> str:
        if isinstance(exc, NotFound):
            return gettext("Not found.")
        return gettext("Something went wrong on our side. Please try again.")

    events = answer_events(job, svc.answering, failed=failed)
    return StreamingResponse(events, media_type=MEDIA_TYPE, headers=HEADERS)


def _answer(
    request: Request, session_id: str, after: int, *, on_delta: Callable[[str], None] | None = None
) -> Response:
    """Answer the pending message, if any (a no-op otherwise), and render the turns after ``after``: the one
    fragment both the plain and the streamed endpoint end with."""
    services(request).engine.respond(session_id, on_delta=on_delta)
    return render(request, "_answer.html", _answer_context(_state(request, session_id), after))


def _answer_context(state: ChatState, after: int) -> dict[str, object]:
    """What ``_answer.html`` shows: the turns after ``after``, then the indicator, closed composer or timer."""
    return {
        "new": [t for t in state.session.turns if (t.seq or 0) > after],
        "state": state,
        "chat": state.session,
        "customer_name": _persona_name(state.entry),
        "since": state.since,
        "target": state.entry.scenario.end.target_reply_seconds if state.entry else 30,
        "typing_delay": TYPING_DELAY_MS,
    }


@router.post("/chat/{session_id}/end")
def end(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The trainee closes the conversation; go to the report."""
    sid = _own_id(request, session_id, viewer)
    services(request).engine.end(sid, abandon=False)
    return _redirect(request, f"/reports/{sid}")


@router.post("/chat/{session_id}/abandon")
def abandon(request: Request, session_id: str, viewer: Viewer = TraineeDep) -> Response:
    """The trainee gives up; go to the report."""
    sid = _own_id(request, session_id, viewer)
    services(request).engine.end(sid, abandon=True)
    return _redirect(request, f"/reports/{sid}")


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
    if query and not svc.exams.knowledge_allowed(viewer.id):
        error = gettext("The knowledge base is closed during this exam.")
    elif query:
        if not svc.limiter.allow(("kb", viewer.id)):
            error = gettext("Too many searches. Wait a few seconds.")
        else:
            retriever = svc.engine.knowledge_base()
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


def _persona_name(entry: Entry | None) -> str:
    return entry.scenario.persona.name if entry else ""


def _error(request: Request, status: int, message: str) -> Response:
    return error_response(request, status, message)
