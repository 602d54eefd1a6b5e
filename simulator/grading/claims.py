"""Numeric claims in text: "7天无理由", "运费险赔付8–25元", "5 business days" → value, unit, anchor words.

The knowledge check compares a reply's claims with the claims of the passage retrieved for the question. A
claim is compared only with passage claims that carry the same unit and share an anchor word (无理由,
退款, 发货 … from the lexicon) in the same clause — a false accusation of a wrong fact destroys a trainer's
trust, so anything ambiguous is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.grading.lexicon import Lexicon
from simulator.quantities import quantities, to_digits
from simulator.text import char_bigrams, dice

_CLAUSE_RE = re.compile(r"[，,。！!？?；;\n]|\s/\s|(?<=[a-z])\.\s")
_UPPER_BEFORE = re.compile(r"(≤|<=|<|不超过|不高于|最多|至多|最高|上限|up to|max\.?|maximum|within)\s*$", re.I)
_UPPER_AFTER = re.compile(r"\s*(以内|以下|之内|内|封顶|or less|max)", re.I)
_LOWER_BEFORE = re.compile(r"(≥|>=|>|超过|高于|至少|最少|不低于|over|at least|more than)\s*$", re.I)
_LOWER_AFTER = re.compile(r"\s*(以上|起|or more|\+)", re.I)
_QUESTION_RE = re.compile(r"[?？]|吗|么|是否|多少")


@dataclass(frozen=True)
class Claim:
    """A number with its unit and the anchor words of its clause.

    Attributes:
        lo: The value (lower end for a range).
        hi: Upper end of a range (equal to ``lo`` for a single value).
        unit: The unit family (day, workday, hour, month, yuan, usd, pct …); values are in its base unit, so
            "a week" and "7天" are the same claim.
        anchors: Lexicon anchor words in the same clause.
        text: The clause, as written (after numeral normalisation).
        number: The number as written.
        asserted: False when the clause is a question or negated (then it is not compared).
    """

    lo: float
    hi: float
    unit: str
    anchors: frozenset[str]
    text: str
    number: str
    asserted: bool = True

    def agrees_with(self, other: Claim) -> bool:
        """True when this value lies within the other claim's value or range."""
        return other.lo - 1e-9 <= self.lo <= other.hi + 1e-9 and other.lo - 1e-9 <= self.hi <= other.hi + 1e-9


def clauses(text: str) -> list[str]:
    """Split text into clauses at punctuation and " / " message separators."""
    return [c for c in _CLAUSE_RE.split(text) if c and c.strip()]


def extract_claims(text: str, lexicon: Lexicon) -> list[Claim]:
    """Every number with a unit in ``text``; numbers without a unit are ignored."""
    out: list[Claim] = []
    negation = lexicon.cue("negation")
    for raw_clause in clauses(text):
        clause = to_digits(raw_clause)
        anchors = frozenset(name for name, pat in lexicon.anchors if pat.search(clause))
        is_question = bool(_QUESTION_RE.search(raw_clause))
        for q in quantities(clause):
            lo, hi = q.lo, q.hi
            # Bounds: "≤ ¥20", "不超过20元", "20元以内", "7天内" are ranges from 0; "100元以上" is open above.
            before, after = clause[max(0, q.start - 4) : q.start], clause[q.end : q.end + 3]
            if _UPPER_BEFORE.search(before) or _UPPER_AFTER.match(after):
                lo = 0.0
            elif _LOWER_BEFORE.search(before) or _LOWER_AFTER.match(after):
                hi = float("inf")
            negated = bool(negation.find(clause[: q.start]))
            out.append(Claim(lo, hi, q.unit, anchors, clause.strip(), q.number, not (is_question or negated)))
    return out


@dataclass(frozen=True)
class Contradiction:
    """A reply claim that disagrees with every comparable claim of a passage."""

    claim: Claim
    expected: tuple[Claim, ...]


_DIGITS = re.compile(r"[\d.,%％~–\-]+")


def about_the_same(a: Claim, b: Claim) -> bool:
    """Two claims talk about the same thing: they share an anchor word, or — when neither clause has one — the
    clauses read almost the same apart from the numbers (character-bigram Dice ≥ 0.6)."""
    if a.anchors or b.anchors:
        return bool(a.anchors & b.anchors)
    return dice(_pairs(a.text), _pairs(b.text)) >= 0.6


def _pairs(text: str) -> set[str]:
    return char_bigrams(_DIGITS.sub("", text.lower()))


def contradictions(reply: list[Claim], passage: list[Claim]) -> list[Contradiction]:
    """Reply claims that contradict the passage.

    A reply claim is checked only when it is asserted; it contradicts when the passage has claims with the same
    unit about the same thing (a shared anchor word, or nearly the same clause), none of them agrees with it,
    and no number with that unit anywhere in the passage agrees with it either (so a figure the passage states
    in another clause is never called wrong).
    """
    out: list[Contradiction] = []
    for c in reply:
        if not c.asserted:
            continue
        comparable = tuple(p for p in passage if p.unit == c.unit and about_the_same(c, p))
        if not comparable:
            continue
        if any(c.agrees_with(p) for p in passage if p.unit == c.unit):
            continue
        out.append(Contradiction(c, comparable))
    return out
