"""Conversations in the browser: start or resume, accept a reply, produce the customer's answer, end, grade.

This is the only place the web app drives the engine (:class:`simulator.session.Session`), and it does so in
two committed steps so that nothing the trainee saw acknowledged can be lost:

1. :meth:`Practice.submit` stores the trainee's message as a turn and commits; only then does the page show it
   as sent.
2. :meth:`Practice.respond` (requested by the typing indicator, streamed or not) runs the customer outside any
   transaction, then appends the customer's turns and the new engine state in one transaction. It is
   idempotent: after a crash between 1 and 2, reopening the page finds the pending message and answers it;
   two requests for the same pending message (a stream and its fallback, two tabs) produce one answer.

The whole :class:`~simulator.session.Session` (JSON) is saved with every step in ``sessions.customer_state``,
so any instance can continue any conversation.
"""

from __future__ import annotations

import logging
import secrets
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from simulator.errors import NotFound, SimulatorError
from simulator.scenario.model import Outcome, Scenario
from simulator.session import Session
from simulator.session import SessionKind as EngineKind
from simulator.session import Turn as EngineTurn
from simulator.store import Database
from simulator.store.models import PracticeSession, SessionKind, SessionStatus, Turn, TurnKind, TurnRole
from simulator.store.records import get_grade, save_grade
from simulator.store.transcripts import (
    NewTurn,
    active_session,
    append_turns,
    create_session,
    finish_session,
    get_session,
    last_turn,
    list_turns,
)
from simulator.transcript import Transcript
from web.catalogue import Catalogue, Entry

log = logging.getLogger("simulator.web")


class Gradable(Protocol):
    """What a grade object must offer: the JSON form ``simulator grade --json`` prints."""

    def to_dict(self) -> dict[str, Any]:
        """Overall, scores per dimension, criteria with findings, red lines, metrics."""
        ...


CustomerFactory = Callable[[Scenario], Any]
GradeFunction = Callable[[Transcript, Scenario], Gradable]


class PracticeError(SimulatorError):
    """A request the conversation cannot take right now (ended, waiting for the customer, too long …)."""


@dataclass
class ChatState:
    """What the chat page needs."""

    row: PracticeSession
    turns: list[Turn]
    entry: Entry | None
    pending: bool

    @property
    def active(self) -> bool:
        """Replies are still accepted."""
        return self.row.status == SessionStatus.ACTIVE.value


class Practice:
    """Starts, continues, ends and grades conversations, persisting every step.

    Args:
        db: The database.
        catalogue: Where scenarios come from.
        customer_factory: Builds the simulated customer for a scenario.
        grade: Grades a finished transcript against its scenario.
        grader_version: Stored with every grade.
        max_chars: Longest trainee message accepted.
        clock: Returns now (UTC); tests inject a fake.
    """

    def __init__(
        self,
        db: Database,
        catalogue: Catalogue,
        customer_factory: CustomerFactory,
        grade: GradeFunction | None,
        *,
        grader_version: str = "unknown",
        max_chars: int = 2000,
        clock: Callable[[], datetime] | None = None,
    ):
        self.db = db
        self.catalogue = catalogue
        self.customer_factory = customer_factory
        self.grade_fn = grade
        self.grader_version = grader_version
        self.max_chars = max_chars
        self.clock = clock or (lambda: datetime.now(UTC))
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # Grading costs far more CPU than a chat turn (it embeds many sentences), so it runs after the answer
        # is sent, one at a time, instead of inside the request that ended the conversation.
        self._grading = ThreadPoolExecutor(max_workers=1, thread_name_prefix="grading")
        # Streamed customer turns run here rather than in the request's task: a browser that disconnects
        # cancels the request, but the thread carries the turn on to its commit (and interpreter exit waits for
        # it). Turns mostly wait on the model endpoint, so many may run at once.
        self.answering = ThreadPoolExecutor(max_workers=32, thread_name_prefix="customer")

    # -- helpers --------------------------------------------------------------------------------------------

    def _lock(self, session_id: str) -> threading.Lock:
        with self._locks_guard:
            if len(self._locks) > 10_000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            return self._locks.setdefault(session_id, threading.Lock())

    @staticmethod
    def _engine_session(row: PracticeSession) -> Session:
        if not row.customer_state:
            raise PracticeError("this conversation has no saved state — start a new one")
        return Session.model_validate(row.customer_state)

    @staticmethod
    def _new_turns(turns: list[EngineTurn]) -> list[NewTurn]:
        out = []
        for t in turns:
            meta: dict[str, Any] = {"engine_seq": t.seq}
            if t.acts:
                meta["acts"] = [a.value for a in t.acts]
            for key in ("beat_id", "patience"):
                value = getattr(t, key)
                if value is not None:
                    meta[key] = value
            if t.mood is not None:
                meta["mood"] = t.mood.value
            if t.source is not None:
                meta["source"] = t.source.value
            if t.usage is not None:
                meta["usage"] = t.usage.model_dump()
            out.append(
                NewTurn(
                    role=TurnRole(t.role.value),
                    kind=TurnKind(t.kind.value),
                    text=t.text,
                    response_ms=None if t.response_seconds is None else round(t.response_seconds * 1000),
                    meta=meta,
                    at=t.at,
                )
            )
        return out

    # -- starting -------------------------------------------------------------------------------------------

    def start(self, user_id: int, scenario_id: str, *, kind: SessionKind = SessionKind.PRACTICE) -> str:
        """Resume the user's unfinished conversation of this scenario, or start a new one; returns its id."""
        entry = self.catalogue.get(scenario_id)
        with self.db.read() as s:
            existing = active_session(s, user_id, scenario_id, kind)
            if existing is not None:
                return existing.id
        engine = Session.create(
            entry.scenario,
            kind=EngineKind(kind.value),
            seed=secrets.randbelow(2**31),
            trainee_id=str(user_id),
            digest=entry.digest,
            max_reply_chars=self.max_chars,
            clock=self.clock,
        )
        engine.bind(self.customer_factory(entry.scenario), clock=self.clock)
        opening = engine.start()
        with self.db.write() as s:
            row = create_session(
                s,
                user_id=user_id,
                scenario_id=entry.scenario.id,
                scenario_digest=entry.digest,
                seed=engine.seed,
                variables=dict(engine.variables),
                kind=kind,
                locale=entry.scenario.locale.value,
            )
            engine.id = row.id
            append_turns(s, row, self._new_turns(opening), state=engine.model_dump(mode="json"))
            return row.id

    # -- reading --------------------------------------------------------------------------------------------

    def row(self, session_id: str) -> PracticeSession:
        """The session row alone (no turns): enough to check who owns it."""
        with self.db.read() as s:
            row = get_session(s, session_id)
        if row is None:
            raise NotFound("no such conversation")
        return row

    def entry(self, row: PracticeSession) -> Entry | None:
        """The session's scenario, or None if it is no longer usable."""
        try:
            return self.catalogue.get(row.scenario_id)
        except NotFound:
            return None

    def state(self, session_id: str) -> ChatState:
        """The session, its turns and scenario (``entry`` is None if the scenario is no longer usable)."""
        with self.db.read() as s:
            row = get_session(s, session_id)
            if row is None:
                raise NotFound("no such conversation")
            turns = list_turns(s, session_id)
        entry = self.entry(row)
        engine_len = len((row.customer_state or {}).get("turns", []))
        pending = row.status == SessionStatus.ACTIVE.value and len(turns) > engine_len
        return ChatState(row, turns, entry, pending)

    # -- the trainee's turn ---------------------------------------------------------------------------------

    def submit(self, session_id: str, text: str) -> Turn:
        """Store the trainee's message (committed before returning). Raises :class:`PracticeError`."""
        # Control characters (NUL and friends) are never part of a message; newlines and tabs are.
        clean = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
        if not clean:
            raise PracticeError("empty")
        if len(clean) > self.max_chars:
            raise PracticeError("too-long")
        now = self.clock()
        with self.db.write() as s:
            row = get_session(s, session_id, for_update=True)
            if row is None:
                raise NotFound("no such conversation")
            if row.status != SessionStatus.ACTIVE.value:
                raise PracticeError("ended")
            engine_len = len((row.customer_state or {}).get("turns", []))
            if row.last_seq > engine_len:
                raise PracticeError("waiting")
            last_customer = last_turn(s, session_id, role=TurnRole.CUSTOMER)
            response_ms = None
            if last_customer is not None:
                then = _aware(last_customer.created_at)
                response_ms = max(0, round((now - then).total_seconds() * 1000))
            (turn,) = append_turns(s, row, [NewTurn(TurnRole.AGENT, clean, response_ms=response_ms, at=now)])
            return turn

    # -- the customer's turn --------------------------------------------------------------------------------

    def respond(self, session_id: str, *, on_delta: Callable[[str], None] | None = None) -> bool:
        """Answer the pending trainee message, if any. Returns True when the conversation ended now.

        Args:
            session_id: The conversation.
            on_delta: Receives the customer's text as the model streams it (called from this thread). It is
                provisional: the committed turn may differ (a fallback to the scripted line).
        """
        with self._lock(session_id):
            with self.db.read() as s:
                row = get_session(s, session_id)
                if row is None:
                    raise NotFound("no such conversation")
                if row.status != SessionStatus.ACTIVE.value:
                    return False
                engine = self._engine_session(row)
                pending = list_turns(s, session_id, after_seq=len(engine.turns))
            if not pending:
                return False
            agent = pending[0]
            entry = self.catalogue.get(row.scenario_id)
            engine.bind(self.customer_factory(entry.scenario), clock=self.clock)
            new = engine.reply(agent.text, at=_aware(agent.created_at), on_delta=on_delta)
            # The customer's words exist from now on (the response timer of the next reply starts here), not
            # from the moment the trainee pressed send.
            now = self.clock()
            for t in new[1:]:
                t.at = now
            # new[0] is the trainee's turn, already stored as ``agent``; store only what the customer said.
            with self.db.write() as s:
                fresh = get_session(s, session_id, for_update=True)
                if fresh is None or fresh.last_seq != agent.seq or fresh.status != SessionStatus.ACTIVE.value:
                    return False  # someone else answered it meanwhile
                append_turns(s, fresh, self._new_turns(new[1:]), state=engine.model_dump(mode="json"))
                if engine.ended:
                    finish_session(
                        s,
                        fresh,
                        status=SessionStatus.FINISHED,
                        outcome=engine.outcome.value if engine.outcome else None,
                    )
            if engine.ended:
                self._grading.submit(self.grade_quietly, session_id)
            return engine.ended

    # -- ending and grading ---------------------------------------------------------------------------------

    def end(self, session_id: str, *, abandon: bool) -> None:
        """End the conversation from the trainee's side and grade it.

        ``abandon`` = gave up (outcome ``abandoned``); otherwise the trainee closed the chat before the
        customer decided, which for the customer means they left.
        """
        with self._lock(session_id), self.db.write() as s:
            row = get_session(s, session_id, for_update=True)
            if row is None:
                raise NotFound("no such conversation")
            if row.status != SessionStatus.ACTIVE.value:
                return
            engine = self._engine_session(row)
            engine._clock = self.clock
            pending = list_turns(s, session_id, after_seq=len(engine.turns))
            for t in pending:  # unanswered trainee messages still belong in the transcript
                engine.turns.append(
                    EngineTurn(seq=len(engine.turns), role="agent", text=t.text, at=_aware(t.created_at))
                )
            outcome = Outcome.ABANDONED if abandon else Outcome.LEFT
            notice = engine.end(reason="abandoned" if abandon else "trainee-ended", outcome=outcome)
            append_turns(s, row, self._new_turns(notice), state=engine.model_dump(mode="json"))
            finish_session(
                s, row, status=SessionStatus.ABANDONED if abandon else SessionStatus.FINISHED, outcome=outcome.value
            )
        self._grading.submit(self.grade_quietly, session_id)

    def grade_quietly(self, session_id: str) -> bool:
        """:meth:`grade`, but a grader failure is logged instead of raised: the conversation has ended and been
        saved either way, and the report page tries again (and says "not graded" if it still fails).
        """
        try:
            return self.grade(session_id)
        except Exception:
            log.exception("grading session %s failed", session_id)
            return False

    def grade(self, session_id: str, *, force: bool = False) -> bool:
        """Grade a finished conversation (once, unless ``force``). Returns False when it cannot be graded.

        The report page calls this too: if the background grading is still running it waits for it.
        """
        if self.grade_fn is None:
            return False
        with self._lock(f"grade:{session_id}"):
            return self._grade(session_id, force=force)

    def _grade(self, session_id: str, *, force: bool) -> bool:
        with self.db.read() as s:
            row = get_session(s, session_id)
            if row is None or row.status == SessionStatus.ACTIVE.value:
                return False
            if get_grade(s, session_id) is not None and not force:
                return True
            turns = list_turns(s, session_id)
        try:
            entry = self.catalogue.get(row.scenario_id)
        except NotFound:
            return False
        transcript = transcript_of(row, turns)
        assert self.grade_fn is not None  # checked by grade()
        result = self.grade_fn(transcript, entry.scenario).to_dict()
        with self.db.write() as s:
            save_grade(
                s,
                session_id,
                overall=result.get("overall"),
                dimensions=dict(result.get("scores") or {}),
                red_line=bool(result.get("red_lines")),
                findings=flatten_findings(result),
                grader_version=self.grader_version,
                detail=result,
            )
        return True


def transcript_of(row: PracticeSession, turns: list[Turn]) -> Transcript:
    """The grader's transcript of a stored session: chat messages only, seconds from the start."""
    t0 = min([_aware(row.started_at), *(_aware(t.created_at) for t in turns[:1])])
    items = [
        {
            "role": t.role,
            "text": t.text,
            "at": round((_aware(t.created_at) - t0).total_seconds(), 3),
            "beat": t.meta.get("beat_id") if t.role == TurnRole.CUSTOMER.value else None,
        }
        for t in turns
        if t.kind == TurnKind.MESSAGE.value and t.role in (TurnRole.CUSTOMER.value, TurnRole.AGENT.value)
    ]
    return Transcript.model_validate(
        {
            "id": row.id,
            "turns": items,
            "scenario": row.scenario_id,
            "complete": row.status == SessionStatus.FINISHED.value,
            "outcome": row.outcome,
        }
    )


def flatten_findings(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every finding that lost points plus every red line, in transcript order."""
    out: list[dict[str, Any]] = []
    for dim in (result.get("dimensions") or {}).values():
        for crit in dim.get("criteria", []):
            for f in crit.get("findings", []):
                if (f.get("points") or 0) > 0:
                    out.append({**f, "criterion_title": crit.get("title", "")})
    for f in result.get("red_lines") or []:
        out.append({**f, "red_line": f.get("red_line") or f.get("criterion")})
    return sorted(out, key=lambda f: (f.get("turn") is None, f.get("turn") or 0))


def _aware(dt: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt
