"""What a reply clause is about, for the fact check: a fact's keywords, the wording it shares with the statement
(Chinese character pairs, English stems, the concepts, entities and topics of ``facts.yaml``), and whether it names
another subject (a 普票 clause says nothing about a 专票 fact).

:class:`TopicMatcher` is the base of :class:`simulator.contradiction.ContradictionFinder` and
:class:`simulator.facts.FactChecker`; :class:`Fact` is a required fact as they read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from simulator.clause import EN_STOP, NUM, WORD, Clause, ClauseReader, Value
from simulator.factwords import FactWords
from simulator.text import CJK, CJK_RUN

COVER_MIN = 3  # shared topic weight for a clause to state a fact clause in other words
COVER_SHARE = 0.5  # … and the share of the fact clause's topic weight it must carry
Matchers = tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...]


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


class TopicMatcher:
    """Decides what a clause is about with the fact-check vocabulary.

    Args:
        words: The vocabulary (``facts.yaml``).
    """

    def __init__(self, words: FactWords):
        self.words = words
        self.reader = ClauseReader(words)

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
            if is_ascii(k):
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
            c.memo[key] = matched(c, fact.matchers) is not None
        return c.memo[key]

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

    def _covers(self, c: Clause, fact: Fact) -> bool:
        """The clause says most of one of the fact's clauses in its own words."""
        for fc in fact.clauses:
            weight = sum(2 if t[0] in "@#%" else 1 for t in fc.terms)
            shared = self._overlap(c, fact, fc)
            if shared >= COVER_MIN and shared >= COVER_SHARE * weight:
                return True
        return False

    def _denies(self, c: Clause, fact: Fact) -> bool:
        """The clause says the opposite of the fact about one of its concepts (it cannot be stating the fact)."""
        for concept, marks in c.concepts.items():
            held = set().union(*(fc.concepts.get(concept, set()) for fc in fact.clauses))
            if marks in ({"+"}, {"-"}) and held and held <= {"+", "-"} and not marks & held:
                return True
        return False

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

    def _topic_score(self, c: Clause, fact: Fact, fc: Clause) -> int:
        """How much a reply clause is about one clause of a fact: a keyword, the wording of the whole statement
        (a figure is often in a clause of its own: "ships by standard delivery, 3–5 business days") and of the
        clause itself."""
        return (3 if self._keyword(c, fact) else 0) + self._overlap(c, fact) + self._overlap(c, fact, fc)


def units_of(text: str, stem: Callable[[str], str]) -> set[str]:
    """Chinese character pairs (figures left out) and English word stems: what a denied phrase is recognised by."""
    out = {run[i : i + 2] for run in CJK_RUN.findall(NUM.sub("", text)) for i in range(len(run) - 1)}
    return out | {stem(w) for w in WORD.findall(text) if len(w) > 2 and w not in EN_STOP}


def matched(c: Clause, matchers: tuple[tuple[re.Pattern[str] | None, str, tuple[str, ...]], ...]) -> str | None:
    """The first keyword-style matcher found in the clause, as written in the matcher."""
    for pattern, k, stems in matchers:
        if pattern is not None:
            if pattern.search(c.norm) or (stems and all(x in c.stems for x in stems)):
                return k
        elif k in c.norm or k in c.digits:
            return k
    return None


def other_topic(c: Clause, fc: Clause) -> bool:
    """Both clauses name what they are about (退 / 发货) and it is not the same thing: a figure for one is not a
    claim about the other."""
    mine = {t for t in c.terms if t[0] == "%"}
    theirs = {t for t in fc.terms if t[0] == "%"}
    return bool(mine) and bool(theirs) and not mine & theirs


def is_ascii(text: str) -> bool:
    return not CJK.search(text)
