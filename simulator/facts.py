"""One fact check for the simulated customer and the grader: what does a reply say about a scenario's facts?

For each required fact a reply is read clause by clause (split at punctuation) and the fact is **stated**,
**contradicted** or left alone (**silent**), with the clause as evidence:

* **Topic.** A clause is about a fact when it carries one of the fact's keywords (whole words for English, so
  ``hi`` never matches inside "within"; a keyword of several words also matches with its words in another order
  or with words between), or shares topic words with the fact's statement (Chinese character pairs, English word
  stems, concepts and entities from ``facts.yaml``). A whole reply also states a fact when it is close in meaning
  to the statement (embedder cosine when there is one, character-pair overlap without).
* **Numbers** are read by value and unit (:mod:`simulator.quantities`: 三个工作日 = 3 workdays, a week = 7 days,
  一天之内 = 24 hours, "two-year" = 24 months). A number contradicts a fact only when it has a comparable unit
  (days and workdays; hours and days), sits in a clause on the fact's topic, and agrees with no value any fact
  gives that clause's topic; a count (一次) is never a duration; numbers the customer said are echoes.
* **Polarity.** Concepts (机洗, pilling, a lining, who pays the postage …) are read with the negation cues of
  both languages: "整件丢洗衣机洗就行" asserts machine washing, "不可机洗" denies it. A clause that asserts what
  every fact denies (or the reverse) contradicts the fact whose wording it shares most. Hedges (不太会, rarely)
  are neither.
* **Entities** must match: a subject kind (invoice type, product code) in the clause that differs from the fact's
  means the clause is about something else; an attribute (material, courier, shipping service) that differs on the
  fact's topic is a wrong fact. A fact matched by meaning alone must name its subject ("VAT" does not earn a
  special-VAT-invoice fact). Sizes (S/M/L) and rated labels (UPF50+) must match too.

The customer (``ActDetector.wrong_facts``) and the grader (``KnowledgeScorer``) both call :meth:`FactChecker.read`,
so the customer reacts to exactly the wrong facts the grader marks.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from simulator.clause import (
    CODE,
    NUM,
    PREREQUISITE_UNITS,
    SIZE,
    Clause,
    Echoes,
    Value,
    blank,
    fmt,
    raw_number,
    written_numbers,
)
from simulator.contradiction import Contradiction, ContradictionFinder
from simulator.factwords import FactWords, fact_words_for
from simulator.quantities import plain_numbers, to_digits
from simulator.scenario.base import VAR_RE
from simulator.scenario.expectations import RequiredFact
from simulator.text import char_bigrams, normalise_text
from simulator.topic import Fact, units_of

Similarity = Callable[[str, str], float]

_LOOKAROUND = re.compile(r"\(\?<?[!=][^)]*\)")
_REGEX_META = re.compile(r"[\\\[\](){}|.*+?^$]")
_FILLER = re.compile(r"[会是的都能了也就可以呢哦啊呀啦亲\s,，。!！~～]|\b(it|they|is|are|will|be|all|the)\b", re.I)
_MODAL = re.compile(r"^\s*(能够|能|可以|可|会|应该|要|得|to be|be|to)\b\s*|^\s*(能够|能|可以|可|会|应该|要|得)")
_CACHE_SIZE = 256  # compiled fact sets kept (one per scenario and variable draw)


class Verdict(StrEnum):
    """What a reply does with a fact."""

    STATED = "stated"
    CONTRADICTED = "contradicted"
    SILENT = "silent"


@dataclass(frozen=True)
class Reading:
    """What one reply says about one fact.

    Attributes:
        fact: The fact.
        on_topic: The reply talks about the fact (keyword, shared wording or meaning).
        span: The clause that states it, when a keyword or shared wording shows it.
        numbers: The fact's numbers the reply contains (by value and unit).
        contradiction: Set when the reply contradicts the fact.
    """

    fact: Fact
    on_topic: bool
    span: tuple[int, int] | None
    numbers: frozenset[str]
    contradiction: Contradiction | None = None

    @property
    def verdict(self) -> Verdict:
        if self.contradiction is not None:
            return Verdict.CONTRADICTED
        if self.on_topic and len(self.numbers) == len(self.fact.numbers):
            return Verdict.STATED
        return Verdict.SILENT


def substitute(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``{name}`` with the variable's value; unknown names are left as they are."""
    if not variables or "{" not in text:
        return text
    return VAR_RE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


class FactChecker(ContradictionFinder):
    """Reads replies against a scenario's required facts.

    Args:
        words: The vocabulary (``facts.yaml``); the one in ``rules_dir``, else the shipped one.
        meaning_threshold: Embedder cosine at or above which a reply states a fact in other words.
        lexical_threshold: The same as character-pair Dice, without an embedder.
    """

    def __init__(
        self,
        words: FactWords | None = None,
        *,
        meaning_threshold: float = 0.6,
        lexical_threshold: float = 0.5,
    ):
        super().__init__(words or fact_words_for())
        self.meaning_threshold = meaning_threshold
        self.lexical_threshold = lexical_threshold
        self._cache: dict[tuple, tuple[Fact, ...]] = {}
        self._claims_cache: dict[str, frozenset[tuple[str, str]] | None] = {}
        self._lock = threading.Lock()  # a server's checker reads replies from many request threads

    def clauses(self, text: str) -> list[Clause]:
        """The clauses of ``text`` as the check reads them (see :class:`simulator.clause.ClauseReader`)."""
        return self.reader.clauses(text)

    # -- compiling --------------------------------------------------------------------------------------------

    def compile(self, facts: Sequence[RequiredFact], variables: Mapping[str, str] | None = None) -> list[Fact]:
        """The facts with variables filled in, read once (cached by content)."""
        vars_ = dict(variables or {})
        key = (
            tuple((f.id, f.statement, tuple(f.keywords), tuple(f.numbers), tuple(f.wrong)) for f in facts),
            tuple(sorted(vars_.items())),
        )
        found = self._cache.get(key)
        if found is None:
            found = self._compile(key[0], vars_)
            with self._lock:
                if len(self._cache) >= _CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = found
        return list(found)

    def _compile(
        self, key: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...], variables: dict
    ) -> tuple:
        out = []
        for fid, statement, keywords, numbers, wrong in key:
            text = substitute(statement, variables)
            clauses = tuple(copy.deepcopy(c) for c in self.reader.read_clauses(text))
            for denies, by in self.words.implied:
                if any(denies in c.concepts for c in clauses):
                    continue
                for c in clauses:
                    if any(c.concepts.get(b) == {"+"} for b in by):
                        c.concepts[denies] = {"-"}
                        c.terms.add("@" + denies)
                        break
            nums = tuple(normalise_text(substitute(n, variables)).strip() for n in numbers)
            values = [v for c in clauses for v in c.values]
            typed = tuple((n, _value_of(n, values)) for n in nums)
            fact_values = {float(n) for n in nums if NUM.fullmatch(n)}
            for c in clauses:
                # The customer's measurements in a size fact ("165cm、104斤 → M") are its inputs, not claims.
                c.values = [
                    v for v in c.values if not (v.unit in PREREQUISITE_UNITS and raw_number(v) not in fact_values)
                ]
            sizes = frozenset(n for n in nums if SIZE.fullmatch(n))
            inputs = frozenset(
                fmt(raw_number(v)) for v in values if v.unit in PREREQUISITE_UNITS and raw_number(v) not in fact_values
            )
            keywords_n = tuple(k for k in (normalise_text(substitute(k, variables)).strip() for k in keywords) if k)
            out.append(
                Fact(
                    id=fid,
                    statement=text,
                    keywords=keywords_n,
                    numbers=nums,
                    clauses=clauses,
                    typed=typed,
                    sizes=sizes,
                    inputs=inputs,
                    codes=frozenset(CODE.findall(text)),
                    terms=frozenset().union(*(c.terms for c in clauses)) if clauses else frozenset(),
                    named={
                        kind.kind: frozenset().union(*(c.entities.get(kind.kind, set()) for c in clauses))
                        for kind in self.words.entities
                    },
                    matchers=self._matchers(keywords_n),
                    denials=self._denials(clauses),
                    grams=_grams(text),
                    wrong=self._matchers(
                        tuple(k for k in (normalise_text(substitute(k, variables)).strip() for k in wrong) if k)
                    ),
                )
            )
        return tuple(out)

    # -- reading a text ----------------------------------------------------------------------------------------

    # -- the check ---------------------------------------------------------------------------------------------

    def read(
        self,
        reply: str,
        facts: Sequence[Fact],
        *,
        customer: Sequence[str] = (),
        known: Iterable[str] = (),
        prompt: str = "",
        similarity: Similarity | None = None,
    ) -> list[Reading]:
        """What ``reply`` says about each fact (in the order of ``facts``).

        Args:
            reply: The trainee's reply.
            facts: The scenario's facts (:meth:`compile`); all of them, since a figure another fact gives for the
                same topic is not wrong.
            customer: What the customer said before the reply: numbers and sizes there are echoes, and a fact
                that needs the customer's measurements is only judged once they were given.
            known: Values the agent may know without the customer saying them (the order's details).
            prompt: The customer message the reply answers (its topic counts for attributes such as materials).
            similarity: Meaning similarity of two texts (embedder cosine); None compares characters.
        """
        clauses = self.clauses(reply)
        said = [c for t in customer for c in self.clauses(t)]
        heard = said + [c for t in known for c in self.clauses(t)]
        echoed = Echoes([v for c in heard for v in c.values], set().union(*(c.bare for c in heard)) if heard else set())
        given = Echoes([v for c in said for v in c.values], set().union(*(c.bare for c in said)) if said else set())
        echoed_sizes = {m.group(1) for m in SIZE.finditer(normalise_text(" ".join(customer)))}
        asked = self.clauses(prompt) if prompt else []
        prompt_facts = {f.id for f in facts if any(self._keyword(c, f) for c in asked)}
        out: list[Reading] = []
        for fact in facts:
            due = not fact.inputs or bool(fact.inputs & given.plain())
            about = [c for c in clauses if self._about(c, fact)]
            agreeing = [c for c in about if not c.question and not self._denies(c, fact)]
            stating = [c for c in agreeing if self._keyword(c, fact)] or [c for c in agreeing if self._covers(c, fact)]
            on_topic = bool(stating)
            span = stating[0] if stating else None
            plain = [c for c in clauses if not c.question]
            if not on_topic and plain and not any(self._denies(c, fact) for c in about):
                on_topic = self._means(reply, clauses, plain, fact, similarity)
            numbers = frozenset(
                n for n, v in fact.typed if self._has_number(n, v, [c for c in clauses if not c.question])
            )
            contradiction = None
            if due:
                contradiction = self._contradiction(about, fact, facts, echoed, echoed_sizes, fact.id in prompt_facts)
            out.append(Reading(fact, on_topic, (span.start, span.end) if span else None, numbers, contradiction))
        return out

    def claims(self, pattern: str) -> frozenset[tuple[str, str]] | None:
        """What a red-line pattern claims, when it is nothing but concepts and negations ("不会起球" → pilling
        denied, "运费全包" → free postage); None for anything else ("绝对不透" also guarantees, "价保7天" has a
        figure): those only match as written."""
        if pattern in self._claims_cache:
            return self._claims_cache[pattern]
        found: frozenset[tuple[str, str]] | None = None
        literal = _LOOKAROUND.sub("", pattern)
        if not _REGEX_META.search(literal):
            clauses = self.reader.read_clauses(literal)
            if len(clauses) == 1 and clauses[0].concepts and not clauses[0].values and not clauses[0].bare:
                c = clauses[0]
                rest = c.norm
                spans = (
                    [(s, e) for concept in self.words.concepts for s, e in concept.words.find(rest)]
                    + [(s, e) for concept in self.words.concepts for s, e in concept.opposite.find(rest)]
                    + self.words.negation.find(rest)
                    + self.words.negation_after.find(rest)
                )
                rest = blank(rest, spans)
                for _tid, words, _anchor in self.words.topics:
                    rest = blank(rest, words.find(rest))
                if not _FILLER.sub("", rest).strip() and all(len(m) == 1 for m in c.concepts.values()):
                    found = frozenset((k, next(iter(m))) for k, m in c.concepts.items() if m != {"~"})
        with self._lock:
            self._claims_cache[pattern] = found or None
        return found or None

    def crosses(self, patterns: Iterable[str], reply: str) -> tuple[int, int] | None:
        """Where ``reply`` makes the claim of one of a red line's patterns in other words (see :meth:`claims`):
        "毛球是不会有的" for "不会起球", "运费我们全包的" for "运费全包". A question or a hedge claims nothing."""
        wanted = [c for c in (self.claims(p) for p in patterns) if c]
        if not wanted:
            return None
        for c in self.clauses(reply):
            if c.question:
                continue
            have = {(k, next(iter(m))) for k, m in c.concepts.items() if len(m) == 1 and m != {"~"}}
            if any(claim <= have for claim in wanted):
                return c.start, c.end
        return None

    def wrong(self, readings: Iterable[Reading]) -> list[Reading]:
        """The readings that contradict their fact."""
        return [r for r in readings if r.contradiction is not None]

    # -- topic -------------------------------------------------------------------------------------------------

    def _denials(self, clauses: tuple[Clause, ...]) -> tuple[tuple[frozenset[str], str], ...]:
        """What a statement negates, clause by clause: the words after a negation cue ("不能按原价开" → 按原价开,
        "not to other retailers" → other retailers), as topic units, when they say enough to be recognised."""
        out = []
        for c in clauses:
            cues = self._cues(c.norm)
            if len(cues) != 1 or self.words.hedges(c.norm):
                continue  # two negations cancel; a hedge negates nothing
            rest = _MODAL.sub("", c.norm[cues[0][1] :])
            units = units_of(to_digits(rest), self.reader.stem)
            if len(units) >= 2:
                out.append((frozenset(units), c.raw))
        return tuple(out)

    def mentions(self, text: str, fact: Fact) -> bool:
        """Whether ``text`` (a customer's question, say) is about the fact: a keyword, or most of a fact clause's
        wording."""
        return any(
            self._about(c, fact) and (self._keyword(c, fact) or self._covers(c, fact)) for c in self.clauses(text)
        )

    def _means(
        self, reply: str, clauses: list[Clause], plain: list[Clause], fact: Fact, similarity: Similarity | None
    ) -> bool:
        """The reply says the fact in other words: close in meaning to its statement, naming its subject.

        A question states nothing: without an embedder only the reply's other clauses are compared; with one, the
        reply as sent (its vector is already computed) when some other clause shares the statement's wording.
        """
        if not self._names_subjects(clauses, fact):
            return False
        if similarity is None:
            told = reply if len(plain) == len(clauses) else " ".join(c.raw for c in plain)
            grams = _grams(told)
            shared = 2 * len(fact.grams & grams) / (len(fact.grams) + len(grams)) if fact.grams and grams else 0.0
            return shared >= self.lexical_threshold  # character-pair Dice
        if len(plain) < len(clauses) and not any(self._overlap(c, fact) for c in plain):
            return False
        return similarity(fact.statement, reply) >= self.meaning_threshold

    def _has_number(self, number: str, value: Value | None, clauses: list[Clause]) -> bool:
        if value is not None:
            scale = value.lo / raw_number(value) if raw_number(value) else 1.0
            target = float(number) * scale
            f = value.compare_key()[1]
            for c in clauses:
                for v in c.values:
                    if v.comparable(value):
                        lo, hi = v.scaled()
                        if abs(lo - target * f) < 1e-6 * max(1, target * f) or abs(hi - target * f) < 1e-6 * max(
                            1, target * f
                        ):
                            return True
            return False
        if SIZE.fullmatch(number):
            return any(number in c.sizes for c in clauses)
        return any(number in c.bare or number in plain_numbers(c.norm) for c in clauses)

    # -- contradictions ----------------------------------------------------------------------------------------


def _value_of(number: str, values: list[Value]) -> Value | None:
    """The statement value a fact number belongs to ("7" → "7天内"), or None for a bare number or a size."""
    if not NUM.fullmatch(number):
        return None
    target = float(number)
    for v in values:
        if target in written_numbers(v):
            return v
    return None


@lru_cache(maxsize=4096)
def _grams(text: str) -> frozenset[str]:
    return frozenset(char_bigrams(normalise_text(text)))
