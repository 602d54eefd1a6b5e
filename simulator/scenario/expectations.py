"""What the grader checks in a conversation on this scenario: weights, required facts, steps, authority, red lines."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from simulator.scenario.base import Authored, Id
from simulator.scenario.vocabulary import Act, RedLineKind, Technique

# ---------------------------------------------------------------------------------------------------------
# Expectations: what the grader checks


class Weights(Authored):
    """Relative weight of each dimension in the overall score (they need not sum to 100)."""

    service: float = Field(default=25, ge=0, le=100, description="Weight of service (服务).")
    technique: float = Field(default=25, ge=0, le=100, description="Weight of technique (技巧).")
    knowledge: float = Field(default=25, ge=0, le=100, description="Weight of knowledge (知识).")
    process: float = Field(default=25, ge=0, le=100, description="Weight of process (流程).")

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if self.service + self.technique + self.knowledge + self.process <= 0:
            raise ValueError("at least one weight must be above 0")
        return self


class RequiredFact(Authored):
    """A fact the trainee must state correctly, backed by a knowledge document."""

    id: Id = Field(description="Unique within the scenario.")
    statement: str = Field(min_length=1, max_length=500, description="The fact as a correct reply would state it.")
    source: str = Field(min_length=1, description="Knowledge document id the fact comes from (checked).")
    keywords: list[str] = Field(
        default_factory=list,
        description="Words any correct statement contains (any one suffices; English ones match whole words, a "
        "keyword of several words also in another order).",
    )
    numbers: list[str] = Field(
        default_factory=list,
        description="Numbers or sizes that must appear (e.g. '7', 'M', '299'), read by value and unit (七天, a week "
        "and 7天 are all 7 days); a different number for the same thing is a knowledge error.",
    )
    wrong: list[str] = Field(
        default_factory=list,
        description="Common wrong answers a reply must not give (e.g. 从付款那天算 for a window that runs from "
        "signing); one in a reply, not negated, is a knowledge error. Matched like keywords.",
    )
    when_beat: str | None = Field(
        default=None,
        description="Beat id after which the fact is due: a conversation that never reaches it (and never comes to "
        "the fact's topic) does not owe the fact. Default: due any time.",
    )
    points: float = Field(default=10, gt=0, le=100, description="Weight of this fact within knowledge.")


class Step(Authored):
    """A process step the trainee must take; steps are checked in the order listed."""

    id: Id = Field(description="Unique within the scenario.")
    description: str = Field(min_length=1, max_length=300, description="The step in words (shown in reports).")
    act: Act = Field(description="The act that performs the step (e.g. verify-order).")
    keywords: list[str] = Field(default_factory=list, description="Words that show the step was done.")
    before: list[str] = Field(
        default_factory=list, description="Step ids that must NOT happen before this one (ordering)."
    )
    required: bool = Field(default=True, description="Missing it costs points; false = only order is checked.")
    source: str | None = Field(default=None, description="Knowledge document (SOP) that prescribes the step.")
    points: float = Field(default=10, gt=0, le=100, description="Weight of this step within process.")


class Authority(Authored):
    """What the trainee's role may decide alone; anything beyond must be escalated."""

    max_discount_yuan: float = Field(default=0, ge=0, description="Largest discount or coupon they may give.")
    max_compensation_yuan: float = Field(default=0, ge=0, description="Largest compensation (红包/补偿).")
    max_refund_yuan: float = Field(default=0, ge=0, description="Largest refund they may approve alone.")
    may_exchange: bool = Field(default=True, description="May arrange an exchange.")
    may_refund: bool = Field(default=True, description="May arrange a return/refund.")
    source: str | None = Field(default=None, description="Knowledge document with the authority table.")


class RedLine(Authored):
    """Something that must never happen; crossing it fails an exam regardless of points."""

    id: Id = Field(description="Unique within the scenario.")
    kind: RedLineKind = Field(description="What kind of red line.")
    description: str = Field(min_length=1, max_length=300, description="The rule in words.")
    patterns: list[str] = Field(
        default_factory=list,
        description="Phrases or regular expressions that cross the line (e.g. 好评返现, 100%退).",
    )
    source: str | None = Field(default=None, description="Knowledge document (policy) behind the rule.")

    @field_validator("patterns")
    @classmethod
    def _valid_regex(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regular expression: {exc}") from None
        return v


class Expectations(Authored):
    """What the grader expects, per dimension."""

    weights: Weights = Field(default_factory=Weights, description="Dimension weights in the overall score.")
    facts: list[RequiredFact] = Field(default_factory=list, description="Knowledge: facts to state correctly.")
    steps: list[Step] = Field(default_factory=list, description="Process: steps in the required order.")
    techniques: list[Technique] = Field(default_factory=list, description="Technique: what should be used.")
    authority: Authority = Field(default_factory=Authority, description="Process: the agent's authority.")
    red_lines: list[RedLine] = Field(default_factory=list, description="Red lines specific to this scenario.")
    forbidden_phrases: list[str] = Field(
        default_factory=list, description="Extra phrases that cost service points (on top of the shop lexicon)."
    )
