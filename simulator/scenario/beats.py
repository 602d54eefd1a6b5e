"""The offline script of the customer: triggers on the trainee's reply, beats that fire on them, when it ends."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from simulator.scenario.base import Authored, Id, Line
from simulator.scenario.vocabulary import Act, Outcome

# ---------------------------------------------------------------------------------------------------------
# Beats: the offline script


class Trigger(Authored):
    """A condition on the trainee's latest reply.

    How it matches (predictable for authors):

    * ``keywords`` / ``examples`` given → they decide: any keyword in the reply (case-insensitive substring)
      or the reply close in meaning to any example. ``act`` then only documents intent.
    * neither given → ``act`` decides, using the engine's built-in detector for that act (for ``ask`` with
      ``about`` naming a known fact: the reply contains one of that fact's ``ask_keywords``).
    * ``not_keywords`` always veto the match.
    """

    act: Act = Field(default=Act.ANY, description="The act the reply performs; 'any' = no act required.")
    about: str | None = Field(
        default=None,
        max_length=80,
        description="A known-fact key (for act 'ask') or a topic label (policy name, product id).",
    )
    keywords: list[str] = Field(
        default_factory=list, description="Any of these words or phrases in the reply (case-insensitive)."
    )
    examples: list[str] = Field(
        default_factory=list,
        description="Example trainee replies; a reply close in meaning to one of them matches (embedder).",
    )
    not_keywords: list[str] = Field(
        default_factory=list, description="None of these may appear (e.g. exclude '不能' from a promise)."
    )

    @model_validator(mode="after")
    def _something_to_match(self) -> Trigger:
        if self.act is Act.ANY and not (self.keywords or self.examples or self.about):
            raise ValueError("a trigger needs an act, keywords, examples or about — otherwise it matches everything")
        return self


def _when_schema(schema: dict[str, Any]) -> None:
    # A single trigger may be written as a mapping instead of a one-item list (see Beat._single_trigger).
    when = schema["properties"]["when"]
    items = when.pop("items")
    array = {"type": "array", "items": items, "minItems": when.pop("minItems", 1)}
    when["anyOf"] = [items, array]
    when.pop("type", None)


class Beat(Authored):
    """One scripted step: when the trainee does something, the customer says one of the lines."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True, json_schema_extra=_when_schema
    )

    id: Id = Field(description="Unique within the scenario; other beats refer to it in 'after'.")
    when: list[Trigger] = Field(
        min_length=1, description="The beat fires when ANY of these triggers matches the trainee's reply."
    )
    after: list[str] = Field(default_factory=list, description="Beat ids that must have fired before this one can.")
    say: list[Line] = Field(
        min_length=1, description="Customer lines (variants; one is chosen per session by the seed)."
    )
    reveals: list[str] = Field(
        default_factory=list, description="Known-fact keys this beat gives away (mark them as revealed)."
    )
    mood: int = Field(default=0, ge=-3, le=3, description="Mood change when the beat fires.")
    patience: int = Field(default=0, ge=-10, le=10, description="Patience change when the beat fires.")
    once: bool = Field(default=True, description="Fire at most once per conversation.")
    priority: int = Field(
        default=0, description="When several beats match, the highest priority wins (then file order)."
    )
    outcome: Outcome | None = Field(
        default=None, description="End the conversation with this outcome after saying the line."
    )
    guidance: str = Field(default="", max_length=500, description="Intent of the beat in words, for the LLM customer.")

    @field_validator("when", mode="before")
    @classmethod
    def _single_trigger(cls, v: Any) -> Any:
        # Authors may write one trigger as a mapping instead of a one-item list.
        return [v] if isinstance(v, dict) else v


class EndConditions(Authored):
    """When the conversation stops."""

    max_turns: int = Field(default=12, ge=1, le=100, description="Trainee replies before the customer leaves.")
    on_max_turns: Outcome = Field(default=Outcome.LEFT, description="Outcome when max_turns is reached.")
    on_patience_exhausted: Outcome = Field(
        default=Outcome.LEFT, description="Outcome when patience runs out (left, escalated, bad-review)."
    )
    target_reply_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Target response time per reply (首响 ≈ 30 s is common)."
    )
    slow_reply_seconds: float = Field(
        default=90.0, gt=0, le=3600, description="A reply slower than this irritates the customer (act 'slow')."
    )
    fallback: list[Line] = Field(
        default_factory=list,
        description="What the customer says when no beat matches (e.g. 所以呢？ / 你还没回答我的问题).",
    )

    @model_validator(mode="after")
    def _slow_after_target(self) -> EndConditions:
        if self.slow_reply_seconds < self.target_reply_seconds:
            raise ValueError("slow_reply_seconds must not be below target_reply_seconds")
        return self
