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
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from simulator.clause import (
    CODE,
    DURATIONS,
    EN_STOP,
    NUM,
    PREREQUISITE_UNITS,
    SIZE,
    WORD,
    Clause,
    ClauseReader,
    Echoes,
    Value,
    blank,
    fmt,
    raw_number,
    units,
    written_numbers,
)
from simulator.factwords import FactWords, fact_words_for
from simulator.quantities import plain_numbers, to_digits
from simulator.scenario.base import VAR_RE
from simulator.scenario.expectations import RequiredFact
from simulator.text import CJK, CJK_RUN, char_bigrams, normalise_text

Similarity = Callable[[str, str], float]

_LOOKAROUND = re.compile(r"\(\?<?[!=][^)]*\)")
_REGEX_META = re.compile(r"[\\\[\](){}|.*+?^$]")
_FILLER = re.compile(r"[会是的都能了也就可以呢哦啊呀啦亲\s,，。!！~～]|\b(it|they|is|are|will|be|all|the)\b", re.I)
COVER_MIN = 3  # shared topic weight for a clause to state a fact clause in other words
_MODAL = re.compile(r"^\s*(能够|能|可以|可|会|应该|要|得|to be|be|to)\b\s*|^\s*(能够|能|可以|可|会|应该|要|得)")
DENIAL_SHARE = 0.75  # share of a denied phrase's units a clause must carry to assert it
COVER_SHARE = 0.5  # … and the share of the fact clause's topic weight it must carry
_CACHE_SIZE = 256  # compiled fact sets kept (one per scenario and variable draw)


class Verdict(StrEnum):
    """What a reply does with a fact."""

    STATED = "stated"
    CONTRADICTED = "contradicted"
    SILENT = "silent"


@dataclass(frozen=True)
class Fact:
    """A required fact, compiled for reading (see :meth:`FactChecker.compile`)."""

    id: str
    statement: str
    keywords: tuple[str, ...]
    numbers: tuple[str, ...]
    clauses: tuple[Clause, ...]
    typed: tuple[tuple[str, Value | None], ...]  # each number with the statement value it belongs to
    sizes: frozenset[str]
    inputs: frozenset[str]  # measurements the customer must have given before the fact can be judged
    codes: frozenset[str]
    terms: frozenset[str]
    named: Mapping[str, frozenset[str]] = field(default_factory=dict)  # entity kind -> values the statement names
    matchers: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...] = ()  # compiled keywords
    wrong: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...] = ()  # compiled wrong answers
    denials: tuple[tuple[frozenset[str], str], ...] = ()  # what the statement says must not be, as topic units
    grams: frozenset[str] = frozenset()  # character pairs of the statement (meaning without an embedder)

    def entities(self, kind: str) -> frozenset[str]:
        """The values of an entity kind the statement names."""
        return self.named.get(kind, frozenset())


@dataclass(frozen=True)
class Contradiction:
    """Where a reply contradicts a fact."""

    span: tuple[int, int]
    evidence: str
    said: str
    expected: str
    kind: str  # number | size | polarity | entity | rating


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


class FactChecker:
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
        self.words = words or fact_words_for()
        self.meaning_threshold = meaning_threshold
        self.lexical_threshold = lexical_threshold
        self.reader = ClauseReader(self.words)
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
            units = _units_of(to_digits(rest), self.reader.stem)
            if len(units) >= 2:
                out.append((frozenset(units), c.raw))
        return tuple(out)

    def _cues(self, text: str) -> list[tuple[int, int]]:
        """Negation cues in ``text`` that negate (not the 不 of 不错, the 无 of 无理由), the longest at a place."""
        kept = {i for s, e in self.words.not_negation.find(text) for i in range(s, e)}
        found = sorted(
            self.words.negation.find(text) + self.words.negation_after.find(text), key=lambda h: (h[0], -h[1])
        )
        out: list[tuple[int, int]] = []
        for s, e in found:
            if (out and s < out[-1][1]) or kept & set(range(s, e)):
                continue
            out.append((s, e))
        return out

    def _matchers(self, keywords: tuple[str, ...]) -> tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...]:
        """Each keyword as (whole-word pattern for English, substring for Chinese, stems of a multi-word one)."""
        out: list[tuple[re.Pattern[str] | None, str, tuple[str, ...]]] = []
        for k in keywords:
            if _ascii(k):
                words = WORD.findall(k)
                stems = tuple(self.reader.stem(x) for x in words if x not in EN_STOP)
                negated = any(x in ("not", "no", "never") or x.endswith("n't") for x in words)
                loose = stems if len(stems) >= 2 and not negated else ()
                out.append((re.compile(rf"(?<![a-z0-9]){re.escape(k)}(?![a-z0-9])"), k, loose))
            else:
                out.append((None, k, ()))
        return tuple(out)

    def _keyword(self, c: Clause, fact: Fact) -> bool:
        """A keyword of the fact in the clause: English ones as whole words (a keyword of several words also with
        its words in another order or apart), Chinese ones as written or with numbers in digits."""
        key = ("kw", fact.id, fact.statement)
        if key not in c.memo:
            c.memo[key] = _matched(c, fact.matchers) is not None
        return c.memo[key]

    def _denied(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        """The reply asserts what the fact itself says must not be (the fact: "不能按原价开"; the reply:
        "可以按原价599开"; "not to other retailers" / "we can match other retailers")."""
        if not fact.denials or self._cues(c.norm) or self.words.hedges(c.norm):
            return None
        units = _units_of(c.digits, self.reader.stem)
        for denied, text in fact.denials:
            if len(denied & units) >= max(2, DENIAL_SHARE * len(denied)):
                return c.raw, text, "polarity"
        return None

    def _wrong_answer(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        """One of the fact's known wrong answers, not negated ("不是从付款那天算" corrects it)."""
        hit = _matched(c, fact.wrong)
        if hit is None:
            return None
        at = c.norm.find(hit)
        before = c.norm[max(0, at - 12) : at] if at >= 0 else ""
        cues = self.words.negation.find(before) if before else []
        if any(units(before[e:]) <= 2 for _s, e in cues) and not self.words.not_negation(before):
            return None
        return hit, fact.statement, "wrong-answer"

    def _about(self, c: Clause, fact: Fact) -> bool:
        """The clause may speak about the fact: no product code or subject of another thing."""
        if fact.codes and c.codes and not (c.codes & fact.codes):
            return False
        for kind in self.words.entities:
            mine = c.entities.get(kind.kind)
            theirs = fact.entities(kind.kind)
            if mine and theirs and not (mine & theirs) and (kind.role == "subject" or c.leading.get(kind.kind)):
                return False
        return True

    def _overlap(self, c: Clause, fact: Fact, fc: Clause | None = None) -> int:
        """How much wording a reply clause shares with the fact (or one of its clauses); concepts count twice."""
        terms = fc.terms if fc is not None else fact.terms
        shared = c.terms & terms
        return sum(2 if t[0] in "@#%" else 1 for t in shared)

    def mentions(self, text: str, fact: Fact) -> bool:
        """Whether ``text`` (a customer's question, say) is about the fact: a keyword, or most of a fact clause's
        wording."""
        return any(
            self._about(c, fact) and (self._keyword(c, fact) or self._covers(c, fact)) for c in self.clauses(text)
        )

    def _denies(self, c: Clause, fact: Fact) -> bool:
        """The clause says the opposite of the fact about one of its concepts (it cannot be stating the fact)."""
        for concept, marks in c.concepts.items():
            held = set().union(*(fc.concepts.get(concept, set()) for fc in fact.clauses))
            if marks in ({"+"}, {"-"}) and held and held <= {"+", "-"} and not marks & held:
                return True
        return False

    def _covers(self, c: Clause, fact: Fact) -> bool:
        """The clause says most of one of the fact's clauses in its own words."""
        for fc in fact.clauses:
            weight = sum(2 if t[0] in "@#%" else 1 for t in fc.terms)
            shared = self._overlap(c, fact, fc)
            if shared >= COVER_MIN and shared >= COVER_SHARE * weight:
                return True
        return False

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

    def _names_subjects(self, clauses: list[Clause], fact: Fact) -> bool:
        """A reply matched by meaning alone must name the fact's subject entities (a special VAT invoice)."""
        for kind in self.words.entities:
            if kind.role != "subject":
                continue
            theirs = fact.entities(kind.kind)
            if theirs and not any(c.entities.get(kind.kind, set()) & theirs for c in clauses):
                return False
        return not fact.codes or any(c.codes & fact.codes for c in clauses) or not any(c.codes for c in clauses)

    # -- numbers -----------------------------------------------------------------------------------------------

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

    def _contradiction(
        self,
        about: list[Clause],
        fact: Fact,
        facts: Sequence[Fact],
        echoed: Echoes,
        echoed_sizes: set[str],
        prompt_on_topic: bool,
    ) -> Contradiction | None:
        for c in about:
            if c.question:
                continue
            keyword = self._keyword(c, fact)
            found = (
                self._wrong_answer(c, fact)
                or self._denied(c, fact)
                or self._wrong_value(c, fact, facts, echoed, keyword)
                or self._wrong_bare(c, fact, facts, echoed, keyword)
                or self._wrong_size(c, fact, facts, echoed_sizes, keyword)
                or self._wrong_rating(c, fact)
                or self._wrong_polarity(c, fact, facts)
                or self._wrong_entity(c, fact, facts, keyword or prompt_on_topic)
            )
            if found is not None:
                said, expected, kind = found
                start, end = c.start, c.end
                at = c.raw.lower().find(said.lower()) if kind != "polarity" else -1
                if at >= 0:  # the evidence is the wrong figure itself when it is written as shown
                    start, end = c.start + at, c.start + at + len(said)
                return Contradiction((start, end), c.raw[start - c.start : end - c.start], said, expected, kind)
        return None

    def _topic_score(self, c: Clause, fact: Fact, fc: Clause) -> int:
        """How much a reply clause is about one clause of a fact: a keyword, the wording of the whole statement
        (a figure is often in a clause of its own: "ships by standard delivery, 3–5 business days") and of the
        clause itself."""
        return (3 if self._keyword(c, fact) else 0) + self._overlap(c, fact) + self._overlap(c, fact, fc)

    def _wrong_value(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed: Echoes, keyword: bool
    ) -> tuple[str, str, str] | None:
        for v in c.values:
            # A figure the customer said (or a fact gives without a unit) claims nothing new — but the event a
            # window counts from still can be wrong ("七天无理由" said by her, "从付款那天开始算7天" by the agent).
            repeated = echoed.repeats(v) or self._mentioned(c, v, facts)
            # Every statement value of a comparable unit, in any fact, with how much the clause is about it.
            scored = [
                (self._topic_score(c, f, fc), f, fc, fv)
                for f in facts
                for fc in f.clauses
                for fv in fc.values
                if fv.comparable(v) and self._about(c, f) and not _other_topic(c, fc)
            ]
            scored = [x for x in scored if x[0] >= 1]
            if not scored:
                continue
            best = max(x[0] for x in scored)
            owner = next(f for sc, f, _, _ in scored if sc == best)  # one fault, one fact: the first that fits best
            # A figure another fact gives a topic this clause is (nearly as much) about is not wrong — unless the
            # window is counted from another event ("从付款起7天" for "签收起7天").
            agreeing = [(sc, f, fc) for sc, f, fc, fv in scored if sc * 2 >= best and v.agrees(fv)]
            if repeated and not agreeing:
                continue
            if agreeing:
                # The figure says which fact the clause is about: the best-fitting one that gives it.
                top = max(sc for sc, _, _ in agreeing)
                _, home, fc = next(x for x in agreeing if x[0] == top)
                counted_from_elsewhere = c.anchors and fc.anchors and not c.anchors.keys() & fc.anchors.keys()
                if home.id == fact.id and v.unit in DURATIONS and counted_from_elsewhere:
                    return "、".join(c.anchors.values()), "、".join(fc.anchors.values()), "anchor"
                continue
            mine = [fv for sc, f, _, fv in scored if f.id == fact.id and sc == best]
            if owner.id != fact.id or not mine or (best < 2 and not keyword):
                continue
            return v.written, mine[0].written, "number"
        return None

    def _wrong_bare(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed: Echoes, keyword: bool
    ) -> tuple[str, str, str] | None:
        """A number without a unit (a shoe size, EU 42.5) where the fact gives one of the same magnitude."""
        expected = [float(n) for n, v in fact.typed if v is None and NUM.fullmatch(n)]
        if not expected or not c.bare:
            return None
        given = {x for f in facts for fc in f.clauses for x in fc.bare} | {
            fmt(x) for f in facts for fc in f.clauses for v in fc.values for x in written_numbers(v)
        }
        for number in sorted(c.bare - echoed.bare - given):
            x = float(number)
            near = [e for e in expected if e and 0.5 <= x / e <= 2]
            if not near or x in expected:
                continue
            home = [fc for fc in fact.clauses if any(fmt(e) in fc.bare for e in near)]
            if keyword or any(self._overlap(c, fact, fc) >= 2 for fc in home) or self._overlap(c, fact) >= 2:
                return number, fmt(near[0]), "number"
        return None

    def _mentioned(self, c: Clause, v: Value, facts: Sequence[Fact]) -> bool:
        """A single number that a fact clause on the same topic gives without a unit ("− 10 专属券" backs
        "10元专属券")."""
        if v.shape != "point":
            return False
        number = fmt(raw_number(v))
        return any(number in fc.bare and c.terms & fc.terms for f in facts for fc in f.clauses)

    def _wrong_size(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed_sizes: set[str], keyword: bool
    ) -> tuple[str, str, str] | None:
        if not fact.sizes or not (keyword or c.size_context):
            return None
        said = c.sizes - echoed_sizes
        others = set().union(*(f.sizes for f in facts if f.id != fact.id))
        if said and not said & fact.sizes and not said & others:
            return sorted(said)[0].upper(), "/".join(sorted(s.upper() for s in fact.sizes)), "size"
        return None

    def _wrong_rating(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        for label, values in c.ratings.items():
            expected = set().union(*(fc.ratings.get(label, set()) for fc in fact.clauses))
            if expected and not values & expected:
                return f"{label.upper()}{fmt(min(values))}", f"{label.upper()}{fmt(min(expected))}", "rating"
        return None

    def _wrong_polarity(self, c: Clause, fact: Fact, facts: Sequence[Fact]) -> tuple[str, str, str] | None:
        for concept, marks in c.concepts.items():
            if marks != {"+"} and marks != {"-"}:
                continue
            mark = next(iter(marks))
            scoped = [
                (self._topic_score(c, f, fc), self._overlap(c, f, fc) - 2, f, fc.concepts[concept], fc.scope)
                for f in facts
                for fc in f.clauses
                if concept in fc.concepts and self._about(c, f) and (not c.scope or not fc.scope or c.scope & fc.scope)
            ]
            if not scoped:
                continue
            # Agreeing means a fact clause about (nearly) the same thing — its own wording, the shared concept aside —
            # says the same about everything the clause covers: "来回运费我们包" is not backed by "the shop pays the new
            # item's postage" when the buyer pays the return leg, "直播间的也能价保" not by "价保15天" when 直播间专属价
            # is excluded.
            near = max(x[1] for x in scoped)
            if any(
                mark in m and (not c.scope or not sc or c.scope <= sc) and same * 2 >= near
                for _, same, _, m, sc in scoped
            ):
                continue
            held = [(s, f, m) for s, _, f, m, _ in scoped]
            best = max(s for s, _, _ in held)
            owner = next(f for s, f, _ in held if s == best)
            if owner.id == fact.id and any(
                f.id == fact.id and s == best and ({"+", "-"} - {mark}) & m for s, f, m in held
            ):
                return c.raw, next(fc.raw for fc in fact.clauses if concept in fc.concepts), "polarity"
        return None

    def _wrong_entity(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], on_topic: bool
    ) -> tuple[str, str, str] | None:
        if not (on_topic or self._overlap(c, fact) >= 1):
            return None
        for kind in self.words.entities:
            if kind.role != "attribute":
                continue
            mine = c.entities.get(kind.kind, set())
            theirs = fact.entities(kind.kind)
            if not mine or not theirs or mine & theirs:
                continue
            # Another fact on the same topic may name it (a scarf's silk next to a coat's wool).
            if any(mine & f.entities(kind.kind) and self._overlap(c, f) > self._overlap(c, fact) for f in facts):
                continue
            said = "、".join(c.surface[v] for v in sorted(mine))
            named = {v: fc.surface[v] for fc in fact.clauses for v in fc.surface if v in theirs}
            return said, "、".join(named[v] for v in sorted(named)), "entity"
        return None


# ---------------------------------------------------------------------------------------------------------------
# helpers


def _units_of(text: str, stem: Callable[[str], str]) -> set[str]:
    """Chinese character pairs (figures left out) and English word stems: what a denied phrase is recognised by."""
    out = {run[i : i + 2] for run in CJK_RUN.findall(NUM.sub("", text)) for i in range(len(run) - 1)}
    return out | {stem(w) for w in WORD.findall(text) if len(w) > 2 and w not in EN_STOP}


def _matched(c: Clause, matchers: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...]) -> str | None:
    """The first keyword-style matcher found in the clause, as written in the matcher."""
    for pattern, k, stems in matchers:
        if pattern is not None:
            if pattern.search(c.norm) or (stems and all(x in c.stems for x in stems)):
                return k
        elif k in c.norm or k in c.digits:
            return k
    return None


def _other_topic(c: Clause, fc: Clause) -> bool:
    """Both clauses name what they are about (退 / 发货) and it is not the same thing: a figure for one is not a
    claim about the other."""
    mine = {t for t in c.terms if t[0] == "%"}
    theirs = {t for t in fc.terms if t[0] == "%"}
    return bool(mine) and bool(theirs) and not mine & theirs


def _ascii(text: str) -> bool:
    return not CJK.search(text)


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
