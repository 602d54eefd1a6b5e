"""Who the customer is: the persona, what they know and say when asked, what they don't know, their goal."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from simulator.scenario.base import Authored, Id, Line
from simulator.scenario.vocabulary import Act, AgeGroup, Mood, Outcome

# ---------------------------------------------------------------------------------------------------------
# Persona and facts


class Reaction(Authored):
    """Something the trainee can do that changes this customer's mood and patience."""

    act: Act = Field(description="The trainee act that triggers the reaction.")
    mood: int = Field(default=0, ge=-3, le=3, description="Mood change, -3 … +3 (negative = angrier).")
    patience: int = Field(
        default=0, ge=-10, le=10, description="Patience change; the customer gives up when patience reaches 0."
    )
    note: str = Field(default="", description="Why (shown to trainers and used to brief an LLM customer).")


class Persona(Authored):
    """Who the customer is and how they behave.

    Built-in reactions apply to every customer unless ``angrier_when`` / ``calmer_when`` lists the same act,
    which then replaces the default: ``curt`` mood -1 patience -1; ``rude`` mood -2 patience -3; ``blame``
    mood -2 patience -2; ``slow`` (reply slower than ``end.slow_reply_seconds``) mood -1 patience -1; a reply
    that matches no beat costs patience 1; ``apologise`` or ``empathise`` while mood is below neutral: mood +1.
    """

    name: str = Field(min_length=1, max_length=40, description="What the customer is called (display name).")
    age_group: AgeGroup = Field(description="Age bracket.")
    gender: str | None = Field(default=None, max_length=20, description="Optional, e.g. 女 / male.")
    occupation: str | None = Field(default=None, max_length=60, description="Optional, e.g. 上班族, retired teacher.")
    traits: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        min_length=1,
        max_length=12,
        description="Personality traits, e.g. 犹豫, 爱砍价, 急躁, detail-obsessed.",
    )
    speaking_style: str = Field(
        min_length=1,
        max_length=400,
        description="How they type: length, slang, emoji, typos, formality — guides the LLM customer.",
    )
    mood: Mood = Field(default=Mood.NEUTRAL, description="Mood at the start of the conversation.")
    patience: int = Field(
        default=6,
        ge=1,
        le=20,
        description="Patience points at the start; irritations cost points and the customer ends the "
        "conversation (see end.on_patience_exhausted) when they run out.",
    )
    angrier_when: list[Reaction] = Field(
        default_factory=list, description="Trainee acts that make this customer angrier or less patient."
    )
    calmer_when: list[Reaction] = Field(
        default_factory=list, description="Trainee acts that calm this customer or win patience back."
    )
    background: str = Field(
        default="", max_length=1000, description="Backstory an LLM customer may use; never shown to the trainee."
    )


class KnownFact(Authored):
    """A fact the customer knows but only reveals when the trainee asks for it."""

    key: Id = Field(description="Name used by beats and triggers, e.g. height, order_id.")
    value: str = Field(min_length=1, max_length=200, description="The value, e.g. 165cm; may use {variables}.")
    ask_keywords: list[str] = Field(
        default_factory=list,
        description="Words in the trainee's reply that mean they asked for this fact (身高, 多高, order number).",
    )
    say: list[Line] = Field(
        default_factory=list,
        description="How the customer states it when asked (variants). Default: the value itself.",
    )


class UnknownFact(Authored):
    """Something the customer does not know and must never invent (an LLM customer is checked for it)."""

    key: Id = Field(description="Name of the unknown fact.")
    description: str = Field(min_length=1, max_length=300, description="What they do not know.")
    ask_keywords: list[str] = Field(
        default_factory=list,
        description="Words in the trainee's reply that mean they asked for it (胸围, chest size); the offline "
        "customer then answers with a 'say' line instead of ignoring the question.",
    )
    say: list[Line] = Field(
        default_factory=list, description="What they answer if asked (e.g. 不记得了, 我看看… 找不到)."
    )


class Goal(Authored):
    """What the customer wants from this conversation."""

    description: str = Field(min_length=1, max_length=500, description="The goal in one or two sentences.")
    success: list[Outcome] = Field(
        min_length=1, description="Outcomes that count as the trainee succeeding (e.g. [bought])."
    )
