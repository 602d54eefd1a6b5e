"""Pydantic models of a scenario file — what trainers write, what the customer plays and the grader checks.

Every model forbids unknown keys and every field carries a ``description``: that text is what trainers see
as autocomplete help in their editor through the generated JSON Schema (``scenarios/scenario.schema.json``).
"""

from __future__ import annotations

import difflib
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
VAR_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

Id = Annotated[
    str,
    Field(
        pattern=ID_PATTERN,
        min_length=2,
        max_length=80,
        description="Identifier: lower-case letters, digits, '-' and '_', starting with a letter or digit.",
    ),
]
Line = Annotated[str, Field(min_length=1, max_length=1000, description="One chat message.")]


class Authored(BaseModel):
    """Base for everything a person writes: unknown keys are errors, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)


# ---------------------------------------------------------------------------------------------------------
# Enumerations (values are what authors type in YAML)


class Locale(StrEnum):
    """Language of the conversation."""

    ZH_CN = "zh-CN"
    EN = "en"


class Category(StrEnum):
    """Kind of service situation."""

    PRE_SALES = "pre-sales"
    AFTER_SALES = "after-sales"
    COMPLAINT = "complaint"
    LOGISTICS = "logistics"
    BAD_REVIEW = "bad-review"


class ScriptCategory(StrEnum):
    """话术 categories a shop keeps reply scripts for."""

    PRODUCT = "product"
    SIZE = "size"
    BARGAINING = "bargaining"
    RETURNS_EXCHANGE = "returns-exchange"
    INVOICE = "invoice"
    REVIEW_CASHBACK = "review-cashback"
    MATCHING = "matching"
    LOGISTICS = "logistics"
    BAD_REVIEW = "bad-review"
    COMPLAINT = "complaint"
    AFTER_SALES = "after-sales"
    PAYMENT = "payment"
    GREETING = "greeting"


class Difficulty(StrEnum):
    """How hard the customer is to serve well."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"
    EXPERT = "expert"


class Tier(StrEnum):
    """Knowledge tier: 必会 must know before going live, 掌握 needed daily, 了解 look up when needed."""

    MUST_KNOW = "必会"
    MASTER = "掌握"
    AWARE = "了解"


class AgeGroup(StrEnum):
    """Customer's age bracket (different ages need different handling)."""

    TEEN = "under-18"
    YOUNG = "18-24"
    ADULT = "25-34"
    MIDDLE = "35-49"
    SENIOR = "50-64"
    ELDER = "65+"


class Mood(StrEnum):
    """Customer mood, from furious to delighted. The engine tracks it as a level from -3 to +2."""

    FURIOUS = "furious"
    ANGRY = "angry"
    ANNOYED = "annoyed"
    NEUTRAL = "neutral"
    PLEASED = "pleased"
    DELIGHTED = "delighted"

    @property
    def level(self) -> int:
        """Numeric level: furious -3 … delighted +2."""
        return _MOOD_LEVELS[self]

    @classmethod
    def from_level(cls, level: int) -> Mood:
        """The mood for a numeric level, clamped to the range."""
        level = max(-3, min(2, level))
        return next(m for m, v in _MOOD_LEVELS.items() if v == level)


_MOOD_LEVELS: dict[Mood, int] = {
    Mood.FURIOUS: -3,
    Mood.ANGRY: -2,
    Mood.ANNOYED: -1,
    Mood.NEUTRAL: 0,
    Mood.PLEASED: 1,
    Mood.DELIGHTED: 2,
}


class Act(StrEnum):
    """What a trainee's reply does. The customer engine detects these (keywords + meaning) to pick beats;
    the grader uses the same vocabulary for process steps."""

    GREET = "greet"
    ASK = "ask"
    ANSWER = "answer"
    RECOMMEND = "recommend"
    EXPLAIN_PRODUCT = "explain-product"
    STATE_POLICY = "state-policy"
    OFFER_DISCOUNT = "offer-discount"
    OFFER_GIFT = "offer-gift"
    OFFER_COMPENSATION = "offer-compensation"
    OFFER_EXCHANGE = "offer-exchange"
    OFFER_RETURN = "offer-return"
    OFFER_REFUND = "offer-refund"
    REFUSE = "refuse"
    APOLOGISE = "apologise"
    EMPATHISE = "empathise"
    REASSURE = "reassure"
    PRAISE = "praise"
    VERIFY_ORDER = "verify-order"
    CHECK_LOGISTICS = "check-logistics"
    PROMISE_ACTION = "promise-action"
    ESCALATE = "escalate"
    URGE_PAYMENT = "urge-payment"
    CLOSE = "close"
    NOTE = "note"
    CURT = "curt"
    RUDE = "rude"
    BLAME = "blame"
    OVER_PROMISE = "over-promise"
    CASHBACK = "cashback"
    WRONG_INFO = "wrong-info"
    SLOW = "slow"
    ANY = "any"


class Outcome(StrEnum):
    """How a conversation ends."""

    BOUGHT = "bought"
    RESOLVED = "resolved"
    INFORMED = "informed"
    LEFT = "left"
    ESCALATED = "escalated"
    BAD_REVIEW = "bad-review"
    ABANDONED = "abandoned"
    TIMED_OUT = "timed-out"


class Dimension(StrEnum):
    """The four grade dimensions (problem attributes)."""

    SERVICE = "service"
    TECHNIQUE = "technique"
    KNOWLEDGE = "knowledge"
    PROCESS = "process"


class Technique(StrEnum):
    """Communication techniques a scenario expects."""

    NEEDS_DISCOVERY = "needs-discovery"
    FABE = "fabe"
    ASK_ANSWER_PRAISE_RECOMMEND = "ask-answer-praise-recommend"
    MATCHING = "matching"
    OBJECTION_HANDLING = "objection-handling"
    CLOSING = "closing"
    EMPATHY_SANDWICH = "empathy-sandwich"
    REASSURANCE = "reassurance"
    DE_ESCALATION = "de-escalation"
    EXPECTATION_SETTING = "expectation-setting"


class RedLineKind(StrEnum):
    """Kinds of red line: crossing one fails an exam regardless of points."""

    ABUSE = "abuse"
    FORBIDDEN_PHRASE = "forbidden-phrase"
    OVER_PROMISE = "over-promise"
    AUTHORITY = "authority"
    DATA_LEAK = "data-leak"
    CASHBACK = "cashback"
    INVENTED_FACT = "invented-fact"


class VariableKind(StrEnum):
    """How an exam randomises a variable."""

    CHOICE = "choice"
    INTEGER = "integer"
    DIGITS = "digits"


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
        default_factory=list, description="Words any correct statement contains (any one suffices)."
    )
    numbers: list[str] = Field(
        default_factory=list,
        description="Numbers or sizes that must appear exactly (e.g. '7', 'M', '299'); a different number "
        "for the same thing is a knowledge error.",
    )
    when_beat: str | None = Field(default=None, description="Beat id after which the fact is due (default: any time).")
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


# ---------------------------------------------------------------------------------------------------------
# Variables and reference trainees


class Variable(Authored):
    """A value an exam can randomise per attempt; use it in text as {name}."""

    kind: VariableKind = Field(default=VariableKind.CHOICE, description="How it is randomised.")
    default: str = Field(min_length=1, max_length=100, description="Value used in practice mode.")
    choices: list[str] = Field(default_factory=list, description="For kind 'choice': the values to draw from.")
    min: int | None = Field(default=None, description="For kind 'integer': lowest value.")
    max: int | None = Field(default=None, description="For kind 'integer': highest value.")
    length: int | None = Field(default=None, ge=1, le=40, description="For kind 'digits': number of digits.")

    @model_validator(mode="after")
    def _kind_fields(self) -> Variable:
        if self.kind is VariableKind.CHOICE and not self.choices:
            raise ValueError("a 'choice' variable needs choices")
        if self.kind is VariableKind.INTEGER:
            if self.min is None or self.max is None:
                raise ValueError("an 'integer' variable needs min and max")
            if self.min > self.max:
                raise ValueError("min must not be above max")
        if self.kind is VariableKind.DIGITS and self.length is None:
            raise ValueError("a 'digits' variable needs length")
        return self


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


Loc = tuple[str | int, ...]


def internal_problems(s: Scenario) -> list[tuple[Loc, str]]:
    """Consistency problems inside one scenario: duplicate ids, references between its own parts, variables.

    Returns ``(location, message)`` pairs; the location is a path into the document such as
    ``("beats", 2, "after", 0)`` so the loader can point at the exact line.
    """
    out: list[tuple[Loc, str]] = []
    ex = s.expectations
    groups: list[tuple[str, Loc, list[str], str]] = [
        ("beat id", ("beats",), [b.id for b in s.beats], "id"),
        ("known fact key", ("known_facts",), [f.key for f in s.known_facts], "key"),
        ("unknown fact key", ("unknown_facts",), [f.key for f in s.unknown_facts], "key"),
        ("required fact id", ("expectations", "facts"), [f.id for f in ex.facts], "id"),
        ("step id", ("expectations", "steps"), [st.id for st in ex.steps], "id"),
        ("red line id", ("expectations", "red_lines"), [r.id for r in ex.red_lines], "id"),
    ]
    for label, base, ids, field in groups:
        seen: set[str] = set()
        for i, ident in enumerate(ids):
            if ident in seen:
                out.append(((*base, i, field), f"duplicate {label} '{ident}' — give each a unique id"))
            seen.add(ident)
    beat_ids = [b.id for b in s.beats]
    fact_keys = [f.key for f in s.known_facts]
    for bi, b in enumerate(s.beats):
        for ai, a in enumerate(b.after):
            if a == b.id:
                out.append((("beats", bi, "after", ai), f"beat '{b.id}' cannot come after itself"))
            elif a not in beat_ids:
                out.append((("beats", bi, "after", ai), f"unknown beat '{a}'{suggest(a, beat_ids)}"))
        for ri, r in enumerate(b.reveals):
            if r not in fact_keys:
                out.append((("beats", bi, "reveals", ri), f"unknown known-fact key '{r}'{suggest(r, fact_keys)}"))
        for ti, t in enumerate(b.when):
            if t.act is Act.ASK and t.about and t.about not in fact_keys and not t.keywords and not t.examples:
                out.append(
                    (
                        ("beats", bi, "when", ti, "about"),
                        f"asks about '{t.about}', which is not a known fact, and gives no keywords or "
                        f"examples to recognise the question{suggest(t.about, fact_keys)}",
                    )
                )
    for fi, f in enumerate(ex.facts):
        if f.when_beat and f.when_beat not in beat_ids:
            out.append(
                (
                    ("expectations", "facts", fi, "when_beat"),
                    f"unknown beat '{f.when_beat}'{suggest(f.when_beat, beat_ids)}",
                )
            )
    step_ids = [st.id for st in ex.steps]
    for si, st in enumerate(ex.steps):
        for bi2, bf in enumerate(st.before):
            if bf not in step_ids:
                out.append(
                    (("expectations", "steps", si, "before", bi2), f"unknown step '{bf}'{suggest(bf, step_ids)}")
                )
    for loc, text in _texts(s):
        for name in VAR_RE.findall(text):
            if name not in s.variables:
                out.append((loc, f"uses {{{name}}} but no variable '{name}' is defined — add it under variables"))
    return out


def playability_problems(s: Scenario) -> list[tuple[Loc, str, str]]:
    """Problems that would make a valid-looking scenario unplayable: ``(location, message, severity)``.

    Errors: a cycle in ``after`` (those beats can never fire), no way to reach a success outcome, reference
    trainees whose expected outcomes contradict the goal. Warnings: known facts no beat ever reveals.
    """
    out: list[tuple[Loc, str, str]] = []
    after = {b.id: set(b.after) for b in s.beats}
    for bi, b in enumerate(s.beats):
        # Depth-first search back through 'after' from this beat; meeting it again is a cycle.
        stack, seen = list(after.get(b.id, ())), set()
        while stack:
            cur = stack.pop()
            if cur == b.id:
                out.append(
                    (
                        ("beats", bi, "after"),
                        f"beat '{b.id}' waits for itself through 'after' — it can never fire",
                        "error",
                    )
                )
                break
            if cur not in seen:
                seen.add(cur)
                stack.extend(after.get(cur, ()))
    success = set(s.goal.success)
    if not any(b.outcome in success for b in s.beats) and s.end.on_max_turns not in success:
        wanted = ", ".join(o.value for o in s.goal.success)
        out.append(
            (
                ("goal", "success"),
                f"no beat ends with a success outcome ({wanted}) — add `outcome:` to the beat "
                "where the customer is satisfied",
                "error",
            )
        )
    revealed = {r for b in s.beats for r in b.reveals}
    for fi, f in enumerate(s.known_facts):
        if f.key not in revealed:
            out.append(
                (
                    ("known_facts", fi, "key"),
                    f"no beat reveals '{f.key}' — the customer can never tell it (add it to a beat's reveals)",
                    "warning",
                )
            )
    if s.references:
        for oi, o in enumerate(s.references.good.expect_outcome):
            if o not in success:
                out.append(
                    (
                        ("references", "good", "expect_outcome", oi),
                        f"'{o.value}' is not a success outcome of this "
                        "scenario (goal.success) — the good reference must succeed",
                        "error",
                    )
                )
        for oi, o in enumerate(s.references.bad.expect_outcome):
            if o in success:
                out.append(
                    (
                        ("references", "bad", "expect_outcome", oi),
                        f"'{o.value}' is a success outcome — the bad reference must not succeed",
                        "error",
                    )
                )
    return out


def _texts(s: Scenario) -> list[tuple[Loc, str]]:
    out: list[tuple[Loc, str]] = [(("opening", i), t) for i, t in enumerate(s.opening)]
    for i, f in enumerate(s.known_facts):
        out.append((("known_facts", i, "value"), f.value))
        out += [(("known_facts", i, "say", j), t) for j, t in enumerate(f.say)]
    for i, b in enumerate(s.beats):
        out += [(("beats", i, "say", j), t) for j, t in enumerate(b.say)]
    out += [(("end", "fallback", j), t) for j, t in enumerate(s.end.fallback)]
    if s.references:
        for side in ("good", "bad"):
            ref: ReferenceTrainee = getattr(s.references, side)
            out += [(("references", side, "replies", j), t) for j, t in enumerate(ref.replies)]
    out += [(("expectations", "facts", i, "statement"), f.statement) for i, f in enumerate(s.expectations.facts)]
    return out


def suggest(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    """`` — did you mean 'x'?`` for the closest candidate, or an empty string."""
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""
