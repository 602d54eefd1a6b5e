"""The ``Customer`` protocol: what a simulated buyer must do, and the values passed in and out.

A customer is a pure function of (state, transcript, reply): it keeps nothing between calls that is not in
:class:`~simulator.customer.state.CustomerState` or the transcript, so any process can continue any session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from simulator.customer.state import CustomerState
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, Outcome
from simulator.turn import Turn, TurnSource, Usage


@dataclass(frozen=True)
class TurnContext:
    """What the customer gets for one turn.

    Attributes:
        seed: The session's seed (variants are chosen by hashing it).
        variables: Resolved ``{variable}`` values.
        state: The customer's state before this turn (never mutated; return a new one).
        transcript: Every turn so far, not including the trainee's new reply.
        reply: The trainee's new reply; ``None`` for the opening.
        response_seconds: How long the trainee took to reply.
        on_delta: Receives streamed customer text (LLM customers); provisional until the turn is returned.
    """

    seed: int
    variables: Mapping[str, str]
    state: CustomerState
    transcript: Sequence[Turn]
    reply: str | None
    response_seconds: float | None = None
    on_delta: Callable[[str], None] | None = None


@dataclass
class CustomerMessage:
    """One thing the customer (or, for notices, the system) says."""

    text: str
    source: TurnSource = TurnSource.SCRIPTED
    beat_id: str | None = None
    usage: Usage | None = None
    notice: bool = False


@dataclass
class CustomerResponse:
    """The customer's answer to one trainee reply (or the opening).

    Attributes:
        messages: What is said, in order (a line, then maybe a leaving line; notices for fallbacks).
        state: The state after this turn.
        acts: What the trainee's reply did (empty for the opening).
        outcome: Set when the conversation ends with this turn.
        end_reason: Why it ended: ``outcome`` (a beat), ``patience``, ``max-turns`` or ``llm``.
    """

    messages: list[CustomerMessage]
    state: CustomerState
    acts: list[Act] = field(default_factory=list)
    outcome: Outcome | None = None
    end_reason: str | None = None


@runtime_checkable
class Customer(Protocol):
    """A simulated buyer for one scenario."""

    @property
    def name(self) -> str:
        """``scripted`` or ``llm`` (stored with the session)."""
        ...

    @property
    def scenario(self) -> Scenario:
        """The scenario being played."""
        ...

    def open(self, ctx: TurnContext) -> CustomerResponse:
        """The customer's first message."""
        ...

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        """The customer's answer to ``ctx.reply``."""
        ...
