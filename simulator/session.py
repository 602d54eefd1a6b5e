"""A practice or exam attempt: its turns with timing, the customer's state, and the outcome.

A :class:`Session` is plain data — JSON in, JSON out, no I/O — so it can be stored turn by turn and rebuilt by
any process. The customer that plays the buyer is passed to the calls that need it; the session only keeps its
:class:`~simulator.customer.state.CustomerState`. Time comes from a clock (UTC); every turn records seconds
since :attr:`Session.started_at`.

The trainee's turn and the customer's answer are two steps, so a server can commit the first before producing
the second (and answer a pending message after a restart)::

    session = Session.create(scenario, kind=SessionKind.PRACTICE, seed=7)
    session.start(customer)                               # the customer's opening
    session.add_reply("亲，您好～请问您身高体重多少呀？")     # the trainee's turn
    session.answer(customer)                               # the customer's turn(s)
    session.reply(customer, "…")                           # both at once
    session.transcript()                                   # what the grader reads
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from simulator.customer.base import Customer, CustomerResponse, TurnContext
from simulator.customer.state import CustomerState
from simulator.errors import SimulatorError
from simulator.scenario.base import VAR_RE
from simulator.scenario.model import ReferenceTrainee, Scenario
from simulator.scenario.vocabulary import Locale, Outcome
from simulator.transcript import Transcript
from simulator.turn import Speaker, Turn, TurnKind

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


def as_utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive datetime is taken as UTC (SQLite returns them), so local times never sneak in."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def scenario_digest(text: str | bytes) -> str:
    """Hash of a scenario file's content, stored with a session so a changed file is noticed on resume."""
    data = text.encode() if isinstance(text, str) else text
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Errors a trainee (or a caller acting for one) can cause


class SessionError(SimulatorError):
    """Something the session cannot do in its current state, or with this input."""


class EmptyReply(SessionError):
    """The trainee sent nothing (or only spaces)."""


class ReplyTooLong(SessionError):
    """The trainee's reply is longer than the limit (``Settings.max_message_chars``)."""


class SessionEnded(SessionError):
    """The conversation is over; no more replies are accepted."""


class SessionNotReady(SessionError):
    """The session has not been started, or has no trainee message waiting for an answer."""


class AwaitingAnswer(SessionError):
    """The trainee's previous message has not been answered yet."""


def clean_reply(text: str, max_chars: int) -> str:
    """The trainee's message as it is stored: control characters removed (newlines and tabs kept), trimmed.

    Raises:
        EmptyReply: nothing is left.
        ReplyTooLong: more than ``max_chars`` characters are left.
    """
    clean = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
    if not clean:
        raise EmptyReply("the reply is empty — type a message for the customer")
    if len(clean) > max_chars:
        raise ReplyTooLong(f"the reply has {len(clean)} characters; the limit is {max_chars} — shorten it or split it")
    return clean


# ---------------------------------------------------------------------------------------------------------
# The model


class SessionKind(StrEnum):
    """Why the conversation happens."""

    PRACTICE = "practice"
    EXAM = "exam"
    PLAYTEST = "playtest"
    REFERENCE = "reference"


class SessionStatus(StrEnum):
    """Whether replies are still accepted, and how the conversation ended."""

    ACTIVE = "active"
    FINISHED = "finished"
    ABANDONED = "abandoned"


class Session(BaseModel):
    """One conversation between a trainee and a simulated customer."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: SessionKind = SessionKind.PRACTICE
    scenario_id: str
    scenario_digest: str = Field(default="", description="Hash of the scenario file the session was played on.")
    locale: Locale = Locale.ZH_CN
    seed: int = Field(description="Chooses line variants; the same seed and replies give the same conversation.")
    variables: dict[str, str] = Field(default_factory=dict, description="Resolved {variable} values.")
    trainee_id: str | None = None
    exam_attempt_id: int | None = Field(default=None, description="The exam attempt this conversation belongs to.")
    customer: str = Field(default="scripted", description="Customer engine that played it: scripted or llm.")
    status: SessionStatus = SessionStatus.ACTIVE
    outcome: Outcome | None = None
    end_reason: str | None = Field(default=None, description="Why it ended: outcome, patience, max-turns, trainee …")
    started_at: datetime = Field(description="Wall-clock start (UTC); turn times are seconds since then.")
    ended_at: datetime | None = None
    max_reply_chars: int = Field(default=2000, description="Longest trainee reply accepted.")
    state: CustomerState = Field(default_factory=CustomerState)
    answered: int = Field(default=0, description="Turns the customer has seen (the rest await its answer).")
    turns: list[Turn] = Field(default_factory=list)

    _clock: Clock | None = PrivateAttr(default=None)

    # -- construction ----------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        scenario: Scenario,
        *,
        kind: SessionKind = SessionKind.PRACTICE,
        seed: int | None = None,
        variables: Mapping[str, str] | None = None,
        trainee_id: str | None = None,
        digest: str = "",
        max_reply_chars: int = 2000,
        clock: Clock | None = None,
        exam_attempt_id: int | None = None,
    ) -> Session:
        """A new, not yet started session for ``scenario``.

        Args:
            scenario: The scenario to play.
            kind: practice, exam, playtest or reference.
            seed: Chooses line variants; a random one when not given.
            variables: Overrides of the scenario's variable defaults (an exam's randomised draw).
            trainee_id: Who is practising.
            digest: :func:`scenario_digest` of the scenario file.
            max_reply_chars: Longest trainee reply accepted.
            clock: Returns "now" (UTC); tests and simulated trainees inject their own.
            exam_attempt_id: The exam attempt it belongs to (exam role-plays).
        """
        session = cls(
            kind=kind,
            scenario_id=scenario.id,
            scenario_digest=digest,
            locale=scenario.locale,
            seed=secrets.randbelow(2**31) if seed is None else seed,
            variables=scenario.variable_values(dict(variables or {})),
            trainee_id=trainee_id,
            exam_attempt_id=exam_attempt_id,
            started_at=as_utc((clock or utc_now)()),
            max_reply_chars=max_reply_chars,
            state=CustomerState.initial(scenario),
        )
        return session.use_clock(clock) if clock is not None else session

    def use_clock(self, clock: Clock) -> Session:
        """Take "now" from ``clock`` from here on (a loaded session starts with the system clock); returns self."""
        self._clock = clock
        return self

    # -- views -----------------------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """True once the conversation is over."""
        return self.status is not SessionStatus.ACTIVE

    @property
    def started(self) -> bool:
        """True once the opening has been said."""
        return bool(self.turns)

    @property
    def awaiting_answer(self) -> bool:
        """True while a trainee message waits for the customer's answer."""
        return not self.ended and self.answered < len(self.turns)

    def messages(self, role: Speaker | None = None) -> list[Turn]:
        """Chat messages (no notices), optionally of one speaker."""
        return [t for t in self.turns if t.is_message and (role is None or t.role is role)]

    def time_of(self, turn: Turn) -> datetime:
        """The wall-clock time of a turn."""
        return self.started_at + timedelta(seconds=turn.at or 0.0)

    def transcript(self, *, complete: bool | None = None) -> Transcript:
        """What the grader reads: the chat messages with their times, the scenario and the outcome.

        Args:
            complete: Whether the conversation ran to its end, so what was never done counts (default: it has
                ended — given up or not; a conversation still going is cut off).
        """
        return Transcript(
            id=self.id,
            turns=self.messages(),
            scenario=self.scenario_id,
            complete=self.ended if complete is None else complete,
            outcome=self.outcome.value if self.outcome is not None else None,
        )

    # -- the conversation ------------------------------------------------------------------------------------

    def start(self, customer: Customer, *, on_delta: Callable[[str], None] | None = None) -> list[Turn]:
        """Say the customer's opening; returns the new turns."""
        if self.started:
            raise SessionError("the session has already started — send a reply instead")
        self.customer = customer.name
        ctx = TurnContext(
            seed=self.seed, variables=self.variables, state=self.state, transcript=(), reply=None, on_delta=on_delta
        )
        return self._apply(customer.open(ctx))

    def add_reply(self, text: str, *, sent_at: datetime | None = None) -> Turn:
        """Record the trainee's message (not yet answered); returns the new turn.

        Args:
            text: The trainee's message (see :func:`clean_reply`).
            sent_at: When it was sent (UTC); default now.

        Raises:
            EmptyReply: ``text`` is blank.
            ReplyTooLong: ``text`` is longer than :attr:`max_reply_chars`.
            SessionEnded: the conversation is over.
            SessionNotReady: the session was not started.
            AwaitingAnswer: the previous message has not been answered yet.
        """
        if not self.started:
            raise SessionNotReady("the session has not started — call start() to get the customer's opening first")
        if self.ended:
            raise SessionEnded(f"this conversation has ended ({self.outcome}) — start a new session to practise again")
        if self.awaiting_answer:
            raise AwaitingAnswer("the customer has not answered the previous message yet")
        clean = clean_reply(text, self.max_reply_chars)
        at = self._seconds(as_utc(sent_at) if sent_at is not None else self._now())
        last_customer = next((t for t in reversed(self.turns) if t.role is Speaker.CUSTOMER), None)
        waited = None if last_customer is None else round(max(0.0, at - (last_customer.at or 0.0)), 3)
        turn = Turn(role=Speaker.AGENT, text=clean, at=at, seq=len(self.turns) + 1, response_seconds=waited)
        self.turns.append(turn)
        return turn

    def answer(self, customer: Customer, *, on_delta: Callable[[str], None] | None = None) -> list[Turn]:
        """The customer's answer to the waiting trainee message; returns the new turns.

        Args:
            customer: Plays the buyer.
            on_delta: Receives the customer's text as it streams (provisional: a turn that falls back to the
                scripted customer replaces what was streamed).

        Raises:
            SessionNotReady: no trainee message is waiting.
        """
        if not self.awaiting_answer or self.turns[-1].role is not Speaker.AGENT:
            raise SessionNotReady("no trainee message is waiting for an answer — send a reply first")
        reply = self.turns[-1]
        ctx = TurnContext(
            seed=self.seed,
            variables=self.variables,
            state=self.state,
            transcript=tuple(self.turns[:-1]),
            reply=reply.text,
            response_seconds=reply.response_seconds,
            on_delta=on_delta,
        )
        response = customer.respond(ctx)
        self.turns[-1] = reply.model_copy(update={"acts": tuple(response.acts)})
        return self._apply(response)

    def reply(
        self,
        customer: Customer,
        text: str,
        *,
        sent_at: datetime | None = None,
        on_delta: Callable[[str], None] | None = None,
    ) -> list[Turn]:
        """:meth:`add_reply` and :meth:`answer` in one call; returns the new turns (the trainee's first)."""
        self.add_reply(text, sent_at=sent_at)
        new = self.answer(customer, on_delta=on_delta)
        return [self.turns[-len(new) - 1], *new]

    def end(
        self, reason: str = "trainee", outcome: Outcome = Outcome.ABANDONED, *, abandoned: bool = False
    ) -> list[Turn]:
        """End the conversation from the trainee's side (closed the chat, gave up, or ran out of replies).

        Args:
            reason: Stored as :attr:`end_reason`.
            outcome: How it ended for the customer.
            abandoned: The trainee gave up (status ``abandoned``, and the transcript counts as cut off).

        Returns:
            The "conversation ended" notice; nothing when it had already ended.
        """
        if self.ended:
            return []
        now = self._now()
        self.status = SessionStatus.ABANDONED if abandoned else SessionStatus.FINISHED
        self.outcome = outcome
        self.end_reason = reason
        self.ended_at = now
        text = "对话已结束。" if self.locale is Locale.ZH_CN else "The conversation has ended."
        notice = Turn(role=Speaker.SYSTEM, kind=TurnKind.NOTICE, text=text, at=self._seconds(now), seq=self._next())
        self.turns.append(notice)
        self.answered = len(self.turns)
        return [notice]

    # -- internals -------------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return as_utc((self._clock or utc_now)())

    def _seconds(self, at: datetime) -> float:
        return round(max(0.0, (at - self.started_at).total_seconds()), 3)

    def _next(self) -> int:
        return len(self.turns) + 1

    def _apply(self, response: CustomerResponse) -> list[Turn]:
        # The customer's words exist from the moment they are produced, not from when the trainee pressed send.
        now = self._now()
        at = self._seconds(now)
        self.state = response.state
        new: list[Turn] = []
        for m in response.messages:
            turn = Turn(
                role=Speaker.SYSTEM if m.notice else Speaker.CUSTOMER,
                kind=TurnKind.NOTICE if m.notice else TurnKind.MESSAGE,
                text=m.text,
                at=at,
                seq=self._next(),
                beat=m.beat_id,
                mood=None if m.notice else self.state.mood_name,
                patience=None if m.notice else self.state.patience,
                source=None if m.notice else m.source,
                usage=m.usage,
            )
            self.turns.append(turn)
            new.append(turn)
        self.answered = len(self.turns)
        if response.outcome is not None:
            self.status = SessionStatus.FINISHED
            self.outcome = response.outcome
            self.end_reason = response.end_reason or "outcome"
            self.ended_at = now
        return new


# ---------------------------------------------------------------------------------------------------------
# Scripted trainees: a scenario's reference replies, or a replies file


REFERENCE_START = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


def play_replies(
    scenario: Scenario,
    customer: Customer,
    replies: Sequence[str],
    *,
    reply_seconds: float = 15.0,
    seed: int = 0,
    kind: SessionKind = SessionKind.REFERENCE,
    variables: Mapping[str, str] | None = None,
    start: datetime = REFERENCE_START,
    digest: str = "",
) -> Session:
    """Play ``replies`` in order on a simulated clock; returns the finished session.

    Each reply is sent ``reply_seconds`` after the customer's last message, and the customer answers at once.
    ``{variable}`` in a reply is filled in with the session's value (a reference trainee answering an exam's
    drawn variant says the drawn size). Replies left over when the customer ends are ignored; running out of
    replies before an outcome ends the session with outcome ``abandoned``.
    """
    now = [start]
    session = Session.create(scenario, kind=kind, seed=seed, variables=variables, digest=digest, clock=lambda: now[0])
    session.start(customer)
    for text in replies:
        if session.ended:
            break
        now[0] = session.time_of(session.turns[-1]) + timedelta(seconds=reply_seconds)
        session.reply(customer, fill_variables(text, session.variables))
    if not session.ended:
        session.end(reason="no more replies", outcome=Outcome.ABANDONED)
    return session


def play_reference(
    scenario: Scenario,
    trainee: ReferenceTrainee,
    customer: Customer,
    *,
    seed: int = 0,
    variables: Mapping[str, str] | None = None,
) -> Session:
    """Play a reference trainee (``scenario.references.good`` or ``.bad``) with its own reply time (on a drawn
    exam variant when ``variables`` are given)."""
    return play_replies(
        scenario, customer, trainee.replies, reply_seconds=trainee.reply_seconds, seed=seed, variables=variables
    )


def fill_variables(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with each ``{name}`` replaced by its value (unknown names are left as written)."""
    if not variables or "{" not in text:
        return text
    return VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)
