"""A practice or exam attempt: the transcript with timing, the customer's state, and the outcome.

A :class:`Session` is a plain pydantic model — JSON in, JSON out, no I/O — so the web app can store it after
every turn and any server instance can load it and continue. The live collaborators (the customer engine and a
clock) are attached with :meth:`Session.bind` and are never serialised. The customer is a pure function of
(state, transcript, reply): everything it needs to continue is in :attr:`Session.state` and :attr:`Session.turns`.

Typical use::

    session = Session.create(scenario, kind=SessionKind.PRACTICE, seed=7).bind(customer)
    session.start()                     # the customer's opening
    session.reply("亲，您好～请问您身高体重多少呀？")  # agent turn + customer turn(s)
    session.model_dump_json()           # store it; Session.model_validate_json(...).bind(customer) resumes
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from simulator.errors import SimulatorError
from simulator.scenario.model import Act, Locale, Mood, Outcome, Scenario

if TYPE_CHECKING:
    from simulator.customer.base import Customer, CustomerResponse

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: now, in UTC."""
    return datetime.now(UTC)


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
    """The session has no customer attached, or has not been started."""


# ---------------------------------------------------------------------------------------------------------
# The model


class SessionKind(StrEnum):
    """Why the conversation happens."""

    PRACTICE = "practice"
    EXAM = "exam"
    PLAYTEST = "playtest"
    REFERENCE = "reference"


class SessionStatus(StrEnum):
    """Whether replies are still accepted."""

    ACTIVE = "active"
    ENDED = "ended"


class Role(StrEnum):
    """Who a turn belongs to."""

    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


class TurnKind(StrEnum):
    """What a turn is: a chat message, a notice shown to the trainee, or (reserved) a workbench action."""

    MESSAGE = "message"
    NOTICE = "notice"
    ACTION = "action"


class TurnSource(StrEnum):
    """What produced a customer turn."""

    SCRIPTED = "scripted"
    LLM = "llm"
    LLM_FALLBACK = "llm-fallback"


class Usage(BaseModel):
    """Tokens the LLM calls of one customer turn used (scripted turns have no usage)."""

    prompt_tokens: int | None = Field(default=None, description="None when the endpoint did not report it.")
    completion_tokens: int | None = None
    cached_prompt_tokens: int | None = Field(default=None, description="Prompt tokens the provider served from cache.")
    calls: int = Field(default=1, description="Requests made for this turn (retries and guard re-asks included).")


class Turn(BaseModel):
    """One entry of the transcript."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(description="Position in the transcript, from 0.")
    role: Role
    kind: TurnKind = TurnKind.MESSAGE
    text: str
    at: datetime = Field(description="When the turn was sent (UTC).")
    response_seconds: float | None = Field(
        default=None, description="Agent turns: seconds since the customer's previous message."
    )
    acts: list[Act] = Field(default_factory=list, description="Agent turns: what the reply did (detected).")
    beat_id: str | None = Field(default=None, description="Customer turns: the scripted beat that fired, if any.")
    mood: Mood | None = Field(default=None, description="Customer turns: mood after this turn.")
    patience: int | None = Field(default=None, description="Customer turns: patience after this turn.")
    source: TurnSource | None = Field(default=None, description="Customer turns: scripted, llm or llm-fallback.")
    usage: Usage | None = Field(default=None, description="Customer turns by an LLM: tokens used.")


class CustomerState(BaseModel):
    """Everything the customer needs to continue — with the transcript, enough to resume after a restart.

    There is no random-generator state: variants are chosen by hashing (seed, what, counter), so counters are
    all the state randomness needs.
    """

    model_config = ConfigDict(extra="forbid")

    mood: int = Field(default=0, ge=-3, le=2, description="Mood level, furious -3 … delighted +2.")
    patience: int = Field(default=6, ge=0, description="Patience points left; 0 ends the conversation.")
    fired: dict[str, int] = Field(default_factory=dict, description="Beat id → times it fired.")
    revealed: list[str] = Field(default_factory=list, description="Known-fact keys the customer has given away.")
    turns: int = Field(default=0, description="Trainee replies processed.")
    fallbacks: int = Field(default=0, description="Replies that matched no beat.")
    llm_fallbacks: int = Field(default=0, description="Turns an LLM customer handed to the scripted engine.")
    guard_rejections: dict[str, int] = Field(
        default_factory=dict, description="LLM customer: guard rule id → model answers it rejected (re-asks included)."
    )

    @property
    def mood_name(self) -> Mood:
        """The mood as a name (neutral, annoyed …)."""
        return Mood.from_level(self.mood)

    @classmethod
    def initial(cls, scenario: Scenario) -> CustomerState:
        """The state at the start of a conversation, from the persona."""
        return cls(mood=scenario.persona.mood.level, patience=scenario.persona.patience)


class Session(BaseModel):
    """One conversation between a trainee and a simulated customer.

    Fields are plain data; :meth:`bind` attaches the customer engine and the clock before :meth:`start`,
    :meth:`reply` or :meth:`end` are called.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    kind: SessionKind = SessionKind.PRACTICE
    scenario_id: str
    scenario_digest: str = Field(default="", description="Hash of the scenario file the session was played on.")
    locale: Locale = Locale.ZH_CN
    seed: int = Field(description="Chooses line variants; the same seed and replies give the same conversation.")
    variables: dict[str, str] = Field(default_factory=dict, description="Resolved {variable} values.")
    trainee_id: str | None = None
    customer: str = Field(default="scripted", description="Customer engine: scripted or llm.")
    status: SessionStatus = SessionStatus.ACTIVE
    outcome: Outcome | None = None
    end_reason: str | None = Field(default=None, description="Why it ended: outcome, patience, max-turns, trainee …")
    created_at: datetime
    ended_at: datetime | None = None
    max_reply_chars: int = Field(default=2000, description="Longest trainee reply accepted.")
    state: CustomerState = Field(default_factory=CustomerState)
    turns: list[Turn] = Field(default_factory=list)

    _customer: Customer | None = PrivateAttr(default=None)
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
            clock: Returns "now" (UTC); tests inject a fake.
        """
        now = (clock or utc_now)()
        session = cls(
            kind=kind,
            scenario_id=scenario.id,
            scenario_digest=digest,
            locale=scenario.locale,
            seed=secrets.randbelow(2**31) if seed is None else seed,
            variables=scenario.variable_values(dict(variables or {})),
            trainee_id=trainee_id,
            created_at=now,
            max_reply_chars=max_reply_chars,
            state=CustomerState.initial(scenario),
        )
        if clock is not None:
            session._clock = clock
        return session

    def bind(self, customer: Customer, clock: Clock | None = None) -> Session:
        """Attach the customer engine (and optionally a clock); returns ``self`` for chaining."""
        self._customer = customer
        self.customer = customer.name
        if clock is not None:
            self._clock = clock
        return self

    # -- views -----------------------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """True once the conversation is over."""
        return self.status is SessionStatus.ENDED

    @property
    def started(self) -> bool:
        """True once the opening has been said."""
        return bool(self.turns)

    def messages(self, role: Role | None = None) -> list[Turn]:
        """Chat messages (no notices), optionally of one role."""
        return [t for t in self.turns if t.kind is TurnKind.MESSAGE and (role is None or t.role is role)]

    def transcript(self) -> list[dict[str, object]]:
        """The minimal transcript form the grader reads: role, text, seconds from the start."""
        t0 = self.created_at
        return [
            {"role": t.role.value, "text": t.text, "at": round((t.at - t0).total_seconds(), 3)} for t in self.messages()
        ]

    # -- the conversation ------------------------------------------------------------------------------------

    def start(self, *, on_delta: Callable[[str], None] | None = None) -> list[Turn]:
        """Say the customer's opening; returns the new turns."""
        customer = self._need_customer()
        if self.started:
            raise SessionError("the session has already started — send a reply instead")
        from simulator.customer.base import TurnContext

        ctx = TurnContext(
            seed=self.seed, variables=self.variables, state=self.state, transcript=(), reply=None, on_delta=on_delta
        )
        response = customer.open(ctx)
        return self._apply(response, at=self._now(), reason_at=None)

    def reply(
        self, text: str, at: datetime | None = None, *, on_delta: Callable[[str], None] | None = None
    ) -> list[Turn]:
        """Record the trainee's reply and the customer's answer; returns the new turns (agent turn first).

        Args:
            text: The trainee's message.
            at: When it was sent (UTC); default now from the clock. Simulated trainees pass it explicitly.
            on_delta: Receives the customer's text as it streams (provisional: a turn that falls back to the
                scripted customer replaces what was streamed).

        Raises:
            EmptyReply: ``text`` is blank.
            ReplyTooLong: ``text`` is longer than :attr:`max_reply_chars`.
            SessionEnded: the conversation is over.
            SessionNotReady: no customer is bound or the session was not started.
        """
        customer = self._need_customer()
        if not self.started:
            raise SessionNotReady("the session has not started — call start() to get the customer's opening first")
        if self.ended:
            raise SessionEnded(f"this conversation has ended ({self.outcome}) — start a new session to practise again")
        clean = text.strip()
        if not clean:
            raise EmptyReply("the reply is empty — type a message for the customer")
        if len(clean) > self.max_reply_chars:
            raise ReplyTooLong(
                f"the reply has {len(clean)} characters; the limit is {self.max_reply_chars} — shorten it or split it"
            )
        explicit = at is not None
        sent = _utc(at) if at is not None else self._now()
        last_customer = next((t for t in reversed(self.turns) if t.role is Role.CUSTOMER), None)
        seconds = max(0.0, (sent - last_customer.at).total_seconds()) if last_customer else None
        agent = Turn(
            seq=len(self.turns),
            role=Role.AGENT,
            text=clean,
            at=sent,
            response_seconds=None if seconds is None else round(seconds, 3),
        )
        from simulator.customer.base import TurnContext

        ctx = TurnContext(
            seed=self.seed,
            variables=self.variables,
            state=self.state,
            transcript=tuple(self.turns),
            reply=clean,
            response_seconds=seconds,
            on_delta=on_delta,
        )
        response = customer.respond(ctx)
        agent.acts = list(response.acts)
        self.turns.append(agent)
        new = self._apply(response, at=sent if explicit else self._now(), reason_at=sent)
        return [agent, *new]

    def end(self, reason: str = "trainee", outcome: Outcome = Outcome.ABANDONED) -> list[Turn]:
        """End the conversation from the trainee's side (they gave up, or a reference ran out of replies).

        Ending an already ended session does nothing and returns no turns.
        """
        if self.ended:
            return []
        now = self._now()
        self.status = SessionStatus.ENDED
        self.outcome = outcome
        self.end_reason = reason
        self.ended_at = now
        text = "对话已结束。" if self.locale is Locale.ZH_CN else "The conversation has ended."
        notice = Turn(seq=len(self.turns), role=Role.SYSTEM, kind=TurnKind.NOTICE, text=text, at=now)
        self.turns.append(notice)
        return [notice]

    # -- internals -------------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return _utc(self._clock()) if self._clock is not None else utc_now()

    def _need_customer(self) -> Customer:
        if self._customer is None:
            raise SessionNotReady("no customer is attached — call bind(customer) after creating or loading a session")
        return self._customer

    def _apply(self, response: CustomerResponse, *, at: datetime, reason_at: datetime | None) -> list[Turn]:
        self.state = response.state
        new: list[Turn] = []
        for m in response.messages:
            role = Role.SYSTEM if m.notice else Role.CUSTOMER
            turn = Turn(
                seq=len(self.turns),
                role=role,
                kind=TurnKind.NOTICE if m.notice else TurnKind.MESSAGE,
                text=m.text,
                at=at,
                beat_id=m.beat_id,
                mood=None if m.notice else self.state.mood_name,
                patience=None if m.notice else self.state.patience,
                source=None if m.notice else m.source,
                usage=m.usage,
            )
            self.turns.append(turn)
            new.append(turn)
        if response.outcome is not None:
            self.status = SessionStatus.ENDED
            self.outcome = response.outcome
            self.end_reason = response.end_reason or "outcome"
            self.ended_at = at
        return new


def _utc(at: datetime) -> datetime:
    # Naive datetimes are taken as UTC so callers cannot store local times by accident.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
