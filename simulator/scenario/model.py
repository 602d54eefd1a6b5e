"""Pydantic models of a scenario file — what trainers write, what the customer plays and the grader checks.

Every model forbids unknown keys and every field carries a ``description``: that text is what trainers see
as autocomplete help in their editor through the generated JSON Schema (``scenarios/scenario.schema.json``).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator, model_validator

from simulator.scenario.base import Authored, Id, Line
from simulator.scenario.beats import Beat, EndConditions
from simulator.scenario.expectations import Expectations
from simulator.scenario.persona import Goal, KnownFact, Persona, UnknownFact
from simulator.scenario.vocabulary import (
    AuthorityLimit,
    AuthoritySide,
    Category,
    Difficulty,
    Locale,
    Outcome,
    ScriptCategory,
    Technique,
    Tier,
    VariableKind,
)

# ---------------------------------------------------------------------------------------------------------
# Variables and reference trainees


class Variable(Authored):
    """A value an exam can randomise per attempt; use it in text as {name}."""

    kind: VariableKind = Field(default=VariableKind.CHOICE, description="How it is randomised.")
    default: str = Field(min_length=1, max_length=100, description="Value used in practice mode.")
    choices: list[str] = Field(default_factory=list, description="For kind 'choice': the values to draw from.")
    min: int | None = Field(
        default=None, description="For kind 'integer': lowest value; for 'date': earliest day relative to the exam day."
    )
    max: int | None = Field(
        default=None, description="For kind 'integer': highest value; for 'date': latest day relative to the exam day."
    )
    length: int | None = Field(default=None, ge=1, le=40, description="For kind 'digits': number of digits.")
    format: str = Field(
        default="%Y-%m-%d",
        max_length=40,
        description="For kind 'date': how the date is written (strftime, e.g. '%m月%d日' or '%B %d').",
    )
    in_knowledge: str | None = Field(
        default=None,
        description="Knowledge document every value must appear in (a size in the size chart, a product code); "
        "checked by `simulator validate`.",
    )
    authority: AuthorityLimit | None = Field(
        default=None,
        description="For amounts: the authority limit (expectations.authority) every value is checked against.",
    )
    side: AuthoritySide = Field(
        default=AuthoritySide.WITHIN,
        description="within = at most the limit (the agent may decide alone); above = more than the limit "
        "(the agent must escalate).",
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Variable:
        if self.kind is VariableKind.CHOICE and not self.choices:
            raise ValueError("a 'choice' variable needs choices")
        if self.kind in (VariableKind.INTEGER, VariableKind.DATE):
            if self.min is None or self.max is None:
                article = "an" if self.kind is VariableKind.INTEGER else "a"
                raise ValueError(f"{article} '{self.kind.value}' variable needs min and max")
            if self.min > self.max:
                raise ValueError("min must not be above max")
        if self.kind is VariableKind.DIGITS and self.length is None:
            raise ValueError("a 'digits' variable needs length")
        if self.authority is not None and self.kind not in (VariableKind.INTEGER, VariableKind.CHOICE):
            raise ValueError("'authority' applies to amounts: use it with kind 'integer' or 'choice'")
        return self


class VariantCase(Authored):
    """A consistent set of variable values drawn together for an exam (a height and weight and the size they call
    for; an amount and whether it is inside the agent's authority)."""

    id: Id = Field(description="Unique within the scenario; stored with the attempt.")
    values: dict[str, str] = Field(min_length=1, description="Variable name → value for this case.")
    edge: bool = Field(
        default=False, description="An edge case (unusual but legitimate); an exam part can leave edge cases out."
    )
    weight: float = Field(default=1.0, gt=0, le=1000, description="Relative chance of being drawn.")
    note: str = Field(default="", max_length=300, description="What makes this case different (shown to reviewers).")

    @field_validator("values")
    @classmethod
    def _non_empty(cls, v: dict[str, str]) -> dict[str, str]:
        for name, value in v.items():
            if not str(value).strip():
                raise ValueError(f"value of '{name}' is empty")
        return v


class ReferenceTrainee(Authored):
    """A scripted trainee used to prove the scenario and rubric work (good must pass, bad must fail)."""

    replies: list[Line] = Field(min_length=1, description="The trainee's replies, in order.")
    expect_outcome: list[Outcome] = Field(
        min_length=1, description="Acceptable outcomes when played against the scripted customer."
    )
    expect_findings: list[str] = Field(
        default_factory=list,
        description="Criterion, step, fact or red-line ids the grader must report as lost points.",
    )
    reply_seconds: float = Field(default=15, gt=0, le=3600, description="Simulated response time per reply.")


class References(Authored):
    """Reference trainees for this scenario."""

    good: ReferenceTrainee = Field(description="A trainee who does it right: good outcome, passing grade.")
    bad: ReferenceTrainee = Field(description="A trainee who does it wrong: bad outcome or failing grade.")


# ---------------------------------------------------------------------------------------------------------
# The scenario


class Scenario(Authored):
    """A customer scenario: who the customer is, what they want, how they react, how the trainee is judged."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        json_schema_extra={"title": "Customer-service training scenario"},
    )

    id: Id = Field(description="Unique across all packs; also the file name without .yaml by convention.")
    title: str = Field(min_length=1, max_length=120, description="Short title shown in the catalogue.")
    locale: Locale = Field(description="Language of the conversation: zh-CN or en.")
    shop: str = Field(default="", max_length=80, description="Which shop's knowledge applies (e.g. qinghe).")
    category: Category = Field(description="pre-sales, after-sales, complaint, logistics or bad-review.")
    skills: list[Technique] = Field(default_factory=list, description="Skills the scenario trains.")
    script_categories: list[ScriptCategory] = Field(
        min_length=1, description="话术 categories the scenario exercises (product, size, bargaining …)."
    )
    difficulty: Difficulty = Field(description="easy, medium, hard or expert.")
    tier: Tier = Field(default=Tier.MUST_KNOW, description="Knowledge tier it trains: 必会, 掌握 or 了解.")
    summary: str = Field(default="", max_length=600, description="Briefing shown to the trainee before starting.")
    tags: list[str] = Field(default_factory=list, description="Free labels for search and filtering.")
    prerequisites: list[str] = Field(
        default_factory=list, description="Scenario ids to practise first (checked to exist)."
    )
    knowledge: list[str] = Field(
        default_factory=list, description="Knowledge document ids relevant to the scenario (checked to exist)."
    )

    persona: Persona = Field(description="Who the customer is.")
    goal: Goal = Field(description="What the customer wants.")
    known_facts: list[KnownFact] = Field(
        default_factory=list, description="What the customer knows but only says when asked."
    )
    unknown_facts: list[UnknownFact] = Field(
        default_factory=list, description="What the customer does not know and must never invent."
    )
    opening: list[Line] = Field(
        min_length=1, description="The customer's first message (variants; one is chosen per session)."
    )
    beats: list[Beat] = Field(min_length=1, description="Scripted reactions for the offline customer.")
    end: EndConditions = Field(default_factory=EndConditions, description="Stop conditions and timing.")
    expectations: Expectations = Field(default_factory=Expectations, description="What the grader checks.")
    variables: dict[str, Variable] = Field(
        default_factory=dict, description="Values an exam randomises; refer to them in text as {name}."
    )
    variants: list[VariantCase] = Field(
        default_factory=list,
        description="Cases of variable values that belong together, drawn as a whole for an exam; the variables' "
        "defaults are what practice uses.",
    )
    references: References | None = Field(
        default=None, description="Good and bad reference trainees (required for scenarios in scenarios/)."
    )

    def beat(self, beat_id: str) -> Beat:
        """The beat with this id."""
        return next(b for b in self.beats if b.id == beat_id)

    def variable_values(self, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """Default variable values, with overrides (e.g. an exam's randomised draw) applied."""
        values = {k: v.default for k, v in self.variables.items()}
        values.update(overrides or {})
        return values
