"""One entry of a conversation — the one turn model the customer, the session, the grader and the store share.

A turn is a chat message from the customer or the agent (the trainee, or a real agent in an imported chat), a
notice the system showed (the customer left, a fallback happened), or — reserved for the workbench — an
action. Times are seconds since the conversation started, so a transcript file, a practice session and an
imported chat read the same; the session keeps the wall-clock start.

The minimal form anyone can write is ``{"role": "customer", "text": "在吗"}``; every other field is optional and
is filled in by whoever knows it (the engine for practice, an importer for real chats).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from simulator.scenario.vocabulary import Act, Mood

MAX_TURN_CHARS = 20_000


class Speaker(StrEnum):
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
    """One message, notice or action of a conversation."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: Speaker = Field(description="Who wrote it: 'customer', 'agent' (the trainee) or 'system' (notices).")
    text: str = Field(max_length=MAX_TURN_CHARS, description="The message text.")
    kind: TurnKind = Field(default=TurnKind.MESSAGE, description="message, notice or action.")
    at: float | None = Field(default=None, ge=0, description="Seconds since the conversation started.")
    seq: int | None = Field(
        default=None, description="Position in the stored conversation, from 1 (notices included); None in files."
    )
    response_seconds: float | None = Field(
        default=None, description="Agent turns: seconds since the customer's previous message."
    )
    acts: tuple[Act, ...] = Field(default=(), description="Agent turns: what the reply did (detected).")
    beat: str | None = Field(default=None, description="Customer turns: the scenario beat the line came from.")
    mood: Mood | None = Field(default=None, description="Customer turns of a simulation: mood after this turn.")
    patience: int | None = Field(default=None, description="Customer turns of a simulation: patience left.")
    source: TurnSource | None = Field(default=None, description="Customer turns: scripted, llm or llm-fallback.")
    usage: Usage | None = Field(default=None, description="Customer turns by an LLM: tokens used.")

    @property
    def is_message(self) -> bool:
        """A chat message from the customer or the agent (what the grader reads)."""
        return self.kind is TurnKind.MESSAGE and self.role is not Speaker.SYSTEM
