"""The customer's state between turns: mood, patience, what has been said and revealed.

With the transcript, this is everything a customer needs to continue a conversation in any process after any
restart (the customer itself keeps nothing between calls). The session holds it; only customers change it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Mood


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
