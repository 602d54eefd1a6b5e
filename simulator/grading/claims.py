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
from simulator.text import char_bigrams, dice

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUM_RE = re.compile(r"[零〇一二两三四五六七八九十百]+")

# Unit spellings → canonical unit. Longer spellings first so 个工作日 wins over 天-less matches.
_UNITS: list[tuple[str, str]] = [
    ("个工作日", "workday"),
    ("工作日", "workday"),
    ("business days", "workday"),
    ("business day", "workday"),
    ("working days", "workday"),
    ("个小时", "hour"),
    ("小时", "hour"),
    ("hours", "hour"),
    ("hour", "hour"),
    ("h", "hour"),
    ("天", "day"),
    ("日", "day"),
    ("days", "day"),
    ("day", "day"),
    ("元", "yuan"),
    ("块", "yuan"),
    ("rmb", "yuan"),
    ("公斤", "kg"),
    ("kg", "kg"),
    ("斤", "jin"),
    ("厘米", "cm"),
    ("cm", "cm"),
    ("mm", "mm"),
    ("%", "pct"),
    ("％", "pct"),
    ("percent", "pct"),
    ("个月", "month"),
    ("月", "month"),
    ("months", "month"),
    ("年", "year"),
    ("years", "year"),
    ("year", "year"),
    ("周", "week"),
    ("weeks", "week"),
    ("星期", "week"),
    ("分钟", "minute"),
    ("minutes", "minute"),
    ("次", "times"),
    ("times", "times"),
    ("g", "gram"),
    ("克", "gram"),
    ("km", "km"),
    ("inches", "inch"),
    ("折", "discount-tenth"),
    ("件", "piece"),
]
_UNIT_ALT = "|".join(re.escape(u) for u, _ in sorted(_UNITS, key=lambda x: -len(x[0])))
_UNIT_MAP = {u.lower(): c for u, c in _UNITS}
_NUM = r"\d+(?:\.\d+)?"
_CLAIM_RE = re.compile(
    rf"(?P<cur>[¥￥$])?\s?(?P<lo>{_NUM})\s?(?:(?:[-–~〜至到]|to)\s?[¥￥$]?\s?(?P<hi>{_NUM}))?\s?(?P<unit>{_UNIT_ALT})?"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
_CLAUSE_RE = re.compile(r"[，,。！!？?；;\n]|\s/\s|(?<=[a-z])\.\s")
_UPPER_BEFORE = re.compile(r"(≤|<=|<|不超过|不高于|最多|至多|最高|上限|up to|max\.?|maximum|within)\s*$", re.I)
_UPPER_AFTER = re.compile(r"\s*(以内|以下|之内|内|封顶|or less|max)", re.I)
_LOWER_BEFORE = re.compile(r"(≥|>=|>|超过|高于|至少|最少|不低于|over|at least|more than)\s*$", re.I)
_LOWER_AFTER = re.compile(r"\s*(以上|起|or more|\+)", re.I)
_QUESTION_RE = re.compile(r"[?？]|吗|么|是否|多少")


def cn_to_arabic(text: str) -> str:
    """Replace Chinese numerals (七, 十五, 两百) with digits, keeping everything else.

    The result may differ in length from the input; use it for matching numbers, not for evidence spans.
    """

    def conv(m: re.Match[str]) -> str:
        s = m.group(0)
        if "十" not in s and "百" not in s:
            return "".join(str(_CN_DIGITS[ch]) for ch in s)
        total, current = 0, 0
        for ch in s:
            if ch == "十":
                total += (current or 1) * 10
                current = 0
            elif ch == "百":
                total += (current or 1) * 100
                current = 0
            else:
                current = _CN_DIGITS[ch]
        return str(total + current)

    return _CN_NUM_RE.sub(conv, text)


@dataclass(frozen=True)
class Claim:
    """A number with its unit and the anchor words of its clause.

    Attributes:
        lo: The value (lower end for a range).
        hi: Upper end of a range (equal to ``lo`` for a single value).
        unit: Canonical unit (day, workday, hour, yuan, pct …).
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
        clause = cn_to_arabic(raw_clause)
        anchors = frozenset(name for name, pat in lexicon.anchors if pat.search(clause))
        is_question = bool(_QUESTION_RE.search(raw_clause))
        for m in _CLAIM_RE.finditer(clause):
            unit_word = m.group("unit")
            cur = m.group("cur")
            unit = _UNIT_MAP.get(unit_word.lower()) if unit_word else None
            if cur == "$":
                unit = "usd"
            elif cur and unit is None:
                unit = "yuan"
            if unit is None:
                continue
            lo = float(m.group("lo"))
            hi = float(m.group("hi")) if m.group("hi") else lo
            if hi < lo:
                continue
            # Bounds: "≤ ¥20", "不超过20元", "20元以内", "7天内" are ranges from 0; "100元以上" is open above.
            before, after = clause[max(0, m.start() - 4) : m.start()], clause[m.end() : m.end() + 3]
            if _UPPER_BEFORE.search(before) or _UPPER_AFTER.match(after):
                lo = 0.0
            elif _LOWER_BEFORE.search(before) or _LOWER_AFTER.match(after):
                hi = float("inf")
            negated = bool(negation.find(clause[: m.start()]))
            out.append(Claim(lo, hi, unit, anchors, clause.strip(), m.group(0).strip(), not (is_question or negated)))
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
