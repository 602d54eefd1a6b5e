"""The fact-check vocabulary: negation cues, concepts, entities — the words :mod:`simulator.facts` reads facts with.

One trainer-editable file for both languages (trainees mix them), ``facts.yaml`` in the rules folder
(``Settings.rules_dir``, next to the service-rule lexicons). Entries follow the lexicon's conventions: a
case-insensitive substring, or a regular expression after ``re:``; a plain ASCII word matches only as a whole word
(so ``hi`` never matches inside "within"). Loading validates everything and reports every problem as
``path:line:col``.

The customer (``ActDetector.wrong_facts``) and the grader (the knowledge dimension) read facts with the same
vocabulary, so the customer reacts to exactly the wrong facts the grader marks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.errors import ConfigError
from simulator.scenario.yamlsource import read_model

FILE_NAME = "facts.yaml"
SHIPPED = Path(__file__).resolve().parent.parent / "scenarios" / "rules" / FILE_NAME

Entry = Annotated[str, Field(min_length=1, max_length=300)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]


def compile_word(entry: str) -> re.Pattern[str]:
    """One entry as a case-insensitive pattern: ``re:`` regular expression, else a literal substring.

    A literal made of ASCII letters (and spaces, hyphens, apostrophes) only matches whole words.
    """
    if entry.startswith("re:"):
        return re.compile(entry[3:], re.IGNORECASE)
    body = re.escape(entry)
    if re.fullmatch(r"[A-Za-z][A-Za-z' -]*", entry):
        body = rf"(?<![a-z]){body}(?![a-z])"
    return re.compile(body, re.IGNORECASE)


def _valid(entries: list[str]) -> list[str]:
    for e in entries:
        if e.startswith("re:"):
            try:
                re.compile(e[3:])
            except re.error as exc:
                raise ValueError(f"{e!r} is not a valid regular expression: {exc}") from None
    return entries


class Concept(BaseModel):
    """Something a fact can assert or deny: machine washing, pilling, a lining, who pays the postage."""

    model_config = ConfigDict(extra="forbid")

    id: Name = Field(description="Unique concept id (shown in nothing a trainee reads).")
    words: list[Entry] = Field(min_length=1, description="Words that assert it (机洗, machine wash).")
    opposite: list[Entry] = Field(
        default_factory=list, description="Words that assert its opposite (免费 ↔ 您承担, free ↔ at your cost)."
    )

    _check = field_validator("words", "opposite")(_valid)


class Implied(BaseModel):
    """A fact that asserts one of ``by`` and says nothing of ``denies`` denies it (手洗或干洗 → not machine wash)."""

    model_config = ConfigDict(extra="forbid")

    denies: Name = Field(description="The concept denied.")
    by: list[Name] = Field(min_length=1, description="Concepts that, asserted alone, deny it.")


class RelativeDays(BaseModel):
    """Words that name a number of days without a numeral (当天 = 0, 次日 / next day = 1)."""

    model_config = ConfigDict(extra="forbid")

    days: int = Field(ge=0, le=60, description="The number of days the words mean.")
    words: list[Entry] = Field(min_length=1, description="The words, in both languages.")

    _check = field_validator("words")(_valid)


class Scope(BaseModel):
    """Words that narrow what a clause's concepts apply to: the return leg, the outgoing leg, both ways."""

    model_config = ConfigDict(extra="forbid")

    id: Name = Field(description="Unique scope id.")
    words: list[Entry] = Field(min_length=1, description="Words of the scope, in both languages.")
    covers: list[Name] = Field(
        default_factory=list, description="Other scopes this one stands for (来回 = the return and outgoing legs)."
    )

    _check = field_validator("words")(_valid)


class Topic(BaseModel):
    """Words that say what a clause is about (退/return, 发货/dispatch) without asserting anything."""

    model_config = ConfigDict(extra="forbid")

    id: Name = Field(description="Unique topic id.")
    words: list[Entry] = Field(min_length=1, description="Words of the topic, in both languages.")
    anchor: bool = Field(
        default=False,
        description="A point in time a window counts from (签收, 付款): weaker evidence of the topic than 退 or 发货.",
    )

    _check = field_validator("words")(_valid)


class EntityValue(BaseModel):
    """One value of an entity kind (cotton, a special VAT invoice, SF Express)."""

    model_config = ConfigDict(extra="forbid")

    id: Name = Field(description="Unique within its kind.")
    words: list[Entry] = Field(min_length=1, description="How it is written, in both languages.")

    _check = field_validator("words")(_valid)


class EntityKind(BaseModel):
    """A kind of thing whose value must match the fact's (materials, invoice types, couriers)."""

    model_config = ConfigDict(extra="forbid")

    kind: Name = Field(description="The kind (material, invoice-type …).")
    role: Literal["subject", "attribute"] = Field(
        description="subject: a different value means the clause is about something else (a 普票 clause says "
        "nothing about a 专票 fact); attribute: a different value on the fact's topic is a wrong fact "
        "(纯棉 for a nylon shirt)."
    )
    values: list[EntityValue] = Field(min_length=2, description="The values; a reply naming one, the fact another.")


class Charges(BaseModel):
    """A money amount next to a shipping word is a charge the buyer pays ("shipping is $6.95")."""

    model_config = ConfigDict(extra="forbid")

    concept: Name = Field(description="The concept such a charge denies (the 'free' concept).")
    subjects: list[Entry] = Field(min_length=1, description="What is charged for (运费, shipping, postage).")
    except_: list[Entry] = Field(
        default_factory=list,
        alias="except",
        description="Words that make the amount money the buyer gets back, not pays (退, 赔, refund, credit).",
    )

    _check = field_validator("subjects", "except_")(_valid)


class FactWordsFile(BaseModel):
    """``facts.yaml`` as written."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    negation: list[Entry] = Field(description="Cues that negate the concept right after them (不能机洗, not lined).")
    negation_after: list[Entry] = Field(
        default_factory=list,
        description="Cues that negate the concept before them when none follows (机洗不行, 毛球是不会有的).",
    )
    not_negation: list[Entry] = Field(
        default_factory=list, description="Words that contain a cue but negate nothing (不错, 非常, 无理由, 没问题)."
    )
    hedges: list[Entry] = Field(
        default_factory=list,
        description="Softened claims that are neither for nor against (不太会, 不容易, rarely): never contradictions.",
    )
    warnings: list[Entry] = Field(
        default_factory=list,
        description="Harm words: 'X 会拉长变形' / 'X will shrink it' warns against X, so it denies X.",
    )
    concepts: list[Concept] = Field(default_factory=list, description="Things a fact asserts or denies.")
    implied: list[Implied] = Field(
        default_factory=list, description="Concepts a fact denies by naming only the alternatives (手洗或干洗)."
    )
    topics: list[Topic] = Field(default_factory=list, description="What a clause is about (for matching topics).")
    scopes: list[Scope] = Field(
        default_factory=list,
        description="What a clause's concepts apply to (寄回 / 来回): 'both ways free' contradicts 'the buyer pays "
        "the return', 'we pay the new item's postage' does not.",
    )
    entities: list[EntityKind] = Field(default_factory=list, description="Kinds whose value must match.")
    charges: Charges | None = Field(default=None, description="Amounts that are charges to the buyer.")
    ratings: list[Entry] = Field(
        default_factory=list, description="Labels glued to a number that must match (UPF, SPF, IPX): UPF30 ≠ UPF50."
    )
    relative_days: list[RelativeDays] = Field(
        default_factory=list, description="Days named without a numeral (当天 = 0, 第二天 / next day = 1)."
    )
    many: list[Entry] = Field(
        default_factory=list,
        description="Counts with no number that mean 'more than once' (换几次都行, as many times as you like).",
    )
    size_words: list[Entry] = Field(
        default_factory=list, description="Words that put a size letter in context (码, 号, size)."
    )

    _check = field_validator("negation", "negation_after", "not_negation", "hedges", "warnings", "many", "size_words")(
        _valid
    )

    @model_validator(mode="after")
    def _unique(self) -> FactWordsFile:
        ids = [c.id for c in self.concepts]
        topics = [t.id for t in self.topics]
        dupes = sorted({i for i in topics if topics.count(i) > 1})
        if dupes:
            raise ValueError(f"topic id(s) used twice: {', '.join(dupes)} — give each topic a unique id")
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"concept id(s) used twice: {', '.join(dupes)} — give each concept a unique id")
        kinds = [k.kind for k in self.entities]
        dupes = sorted({k for k in kinds if kinds.count(k) > 1})
        if dupes:
            raise ValueError(f"entity kind(s) used twice: {', '.join(dupes)}")
        for k in self.entities:
            vids = [v.id for v in k.values]
            if len(set(vids)) != len(vids):
                raise ValueError(f"entity kind '{k.kind}' lists a value id twice")
        scope_ids = {sc.id for sc in self.scopes}
        for sc in self.scopes:
            unknown_scopes = sorted(set(sc.covers) - scope_ids)
            if unknown_scopes:
                raise ValueError(f"scope '{sc.id}' covers unknown scope(s): {', '.join(unknown_scopes)}")
        for rule in self.implied:
            unknown = [c for c in [rule.denies, *rule.by] if c not in ids]
            if unknown:
                raise ValueError(f"implied: unknown concept id(s) {', '.join(unknown)}")
        if self.charges is not None and self.charges.concept not in ids:
            raise ValueError(f"charges.concept '{self.charges.concept}' is not a concept id")
        return self


class Words:
    """Compiled entries: ``find`` gives (start, end) of every non-empty hit."""

    def __init__(self, entries: list[str]):
        self.patterns = [compile_word(e) for e in entries]
        # One alternation answers "any hit?" in a single pass (most texts hit none of a list's entries).
        try:
            self._any: re.Pattern[str] | None = (
                re.compile("|".join(f"(?:{p.pattern})" for p in self.patterns), re.IGNORECASE)
                if self.patterns
                else None
            )
        except re.error:  # an entry with inline flags cannot be embedded: ask the entries one by one
            self._any = None

    def find(self, text: str) -> list[tuple[int, int]]:
        """Every hit, longest first at a position, overlapping hits of shorter entries dropped."""
        if not self(text):
            return []
        hits = sorted(
            {(m.start(), m.end()) for p in self.patterns for m in p.finditer(text) if m.end() > m.start()},
            key=lambda h: (h[0], -h[1]),
        )
        out: list[tuple[int, int]] = []
        for h in hits:
            if out and h[0] < out[-1][1]:
                continue
            out.append(h)
        return out

    def __call__(self, text: str) -> bool:
        if self._any is not None:
            return self._any.search(text) is not None
        return any(p.search(text) for p in self.patterns)


@dataclass(frozen=True)
class CompiledConcept:
    """A concept ready to search: its words (+) and its opposite (−)."""

    id: str
    words: Words
    opposite: Words


@dataclass(frozen=True)
class CompiledKind:
    """An entity kind ready to search."""

    kind: str
    role: str
    values: tuple[tuple[str, Words], ...]


class FactWords:
    """The validated, compiled vocabulary."""

    def __init__(self, data: FactWordsFile, path: str = ""):
        self.data = data
        self.path = path
        self.negation = Words(data.negation)
        self.negation_after = Words(data.negation_after)
        self.not_negation = Words(data.not_negation)
        self.hedges = Words(data.hedges)
        self.concepts = tuple(CompiledConcept(c.id, Words(c.words), Words(c.opposite)) for c in data.concepts)
        self.topics = tuple((t.id, Words(t.words), t.anchor) for t in data.topics)
        # One pass each tells whether a text names any concept, entity, topic or scope at all: most clauses name
        # few, and the per-item lists are only searched when the gate opens.
        self.concept_gate = Words([e for c in data.concepts for e in (*c.words, *c.opposite)])
        self.entity_gate = Words([e for k in data.entities for v in k.values for e in v.words])
        self.topic_gate = Words([e for t in data.topics for e in t.words])
        self.scope_gate = Words([e for sc in data.scopes for e in sc.words])
        self.implied = tuple((r.denies, frozenset(r.by)) for r in data.implied)
        self.scopes = tuple((sc.id, Words(sc.words), frozenset(sc.covers) or frozenset({sc.id})) for sc in data.scopes)
        harm = "|".join(e[3:] if e.startswith("re:") else re.escape(e) for e in data.warnings)
        self.warnings = (
            re.compile(rf"(会|容易|可能|就会|会被|\bwill\b|\bwould\b|\bcould\b|\bmay\b|\bcan\b)\s*({harm})", re.I)
            if harm
            else None
        )
        self.entities = tuple(
            CompiledKind(k.kind, k.role, tuple((v.id, Words(v.words)) for v in k.values)) for k in data.entities
        )
        self.charge_concept = data.charges.concept if data.charges else None
        self.charge_subjects = Words(data.charges.subjects if data.charges else [])
        self.charge_except = Words(data.charges.except_ if data.charges else [])
        labels = "|".join(e[3:] if e.startswith("re:") else re.escape(e) for e in data.ratings)
        self.ratings = re.compile(rf"(?<![a-z])({labels})\s?(\d+(?:\.\d+)?)\s?(\+?)", re.IGNORECASE) if labels else None
        self.size_words = Words(data.size_words)
        self.relative_days = tuple((r.days, Words(r.words)) for r in data.relative_days)
        self.many = (
            re.compile("|".join(e[3:] if e.startswith("re:") else re.escape(e) for e in data.many), re.I)
            if data.many
            else None
        )


def load_fact_words(path: Path | str) -> FactWords:
    """Read and validate a ``facts.yaml``.

    Raises:
        ValidationFailed: with every problem, each pointing at ``path:line:col``.
    """
    data, source = read_model(path, FactWordsFile, "facts.yaml is a mapping (negation:, concepts: …)")
    return FactWords(data, source)


@lru_cache(maxsize=8)
def _cached(path: str, mtime: float) -> FactWords:
    return load_fact_words(path)


def fact_words_for(rules_dir: Path | None = None) -> FactWords:
    """The vocabulary in ``rules_dir`` (reloaded when the file changes); the shipped one when it has none."""
    path = Path(rules_dir) / FILE_NAME if rules_dir is not None else SHIPPED
    if not path.is_file():
        path = SHIPPED
    if not path.is_file():
        raise ConfigError(f"no fact-check vocabulary at {path} — restore scenarios/rules/{FILE_NAME}")
    return _cached(str(path), path.stat().st_mtime)
