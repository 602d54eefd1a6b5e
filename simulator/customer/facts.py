"""Whether a customer line states a known fact — its values in any phrasing.

A known fact (``165cm``, ``NW-{order_no}``, ``周六太太生日``) can be said in many ways: ``一米六五``, ``165``,
``four days ago`` for ``4 days ago``, ``4829 13`` for ``482913``. The LLM customer's guards use this module to
check that a line for a beat that reveals facts really states them (else the trainee never saw them), and that a
line does not give away a fact nobody asked for.

Each fact has **forms**: its value and every ``say`` variant (authored alternatives such as ``52公斤`` for
``104斤``). A form's **signature** is what a line must contain to state it:

* its numbers (Chinese numerals and English number words are turned into digits first: 一百零四 → 104,
  four → 4, 一米六五 → 165), each as a whole number (``165`` is not in ``1650``);
* its codes — order numbers, tax ids, product codes (``P501``, ``NW-482913``) — compared without spaces,
  hyphens or case, and for a letter prefix and five or more digits the digits alone (``482913`` states
  ``NW-482913``);
* its sizes (``M``, ``XL``) when it has no number or code — with half its content words, if it has any;
* otherwise its content words (the knowledge base's keyword tokens: jieba for Chinese, stemmed English words):
  at least half of them must appear.

A line states a fact when it states any one of its forms completely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from simulator.acts import substitute
from simulator.knowledge.tokens import Tokenizer
from simulator.quantities import to_digits
from simulator.scenario.persona import KnownFact
from simulator.text import CJK, normalise_text

_NUMBER = re.compile(r"(?<![0-9.])\d+(?:\.\d+)?(?![0-9])")
# A code has a letter before a digit somewhere (P501, NW-482913, 91330106MA27…); "165cm" is a number and a unit.
_CODE = re.compile(r"(?<![a-z0-9])(?=[a-z0-9-]*[a-z][a-z0-9-]*\d)[a-z0-9]+(?:-[a-z0-9]+)*(?![a-z0-9])")
_LONG_DIGITS = re.compile(r"\d(?:[\s-]?\d){5,}")
_PREFIXED_NUMBER = re.compile(r"[a-z]*-?\d{5,}")  # NW-482913: the digits alone identify it
_SIZE = re.compile(r"(?<![a-z'’])(xxxl|xxl|xl|xs|[smlx]|[2-4]xl)(?![a-z])")
_TOKENS = Tokenizer(bigrams=False)
_HEIGHT = (
    re.compile(r"(?<![0-9.])1米(\d)(\d)?(?![0-9])"),  # 一米六五 → 1米65 → 165
    re.compile(r"(?<![0-9.])1\.(\d\d)\s*(?:m|米)(?![a-z])"),  # 1.65m → 165
)
_WEEKDAY = re.compile(r"(星期|礼拜|周)([一二三四五六日天1-7])")
_WEEKDAY_NAME = {"1": "一", "2": "二", "3": "三", "4": "四", "5": "五", "6": "六", "7": "日", "天": "日"}


def canonical(text: str) -> str:
    """NFKC, case-folded, Chinese numerals and English number words as digits, heights as centimetres."""
    norm = normalise_text(text)
    if CJK.search(norm):
        norm = _WEEKDAY.sub(lambda m: "周" + _WEEKDAY_NAME.get(m.group(2), m.group(2)), norm)
    norm = to_digits(norm, loose=True)
    norm = _HEIGHT[0].sub(lambda m: "1" + m.group(1) + (m.group(2) or "0"), norm)
    return _HEIGHT[1].sub(lambda m: "1" + m.group(1), norm)


def numbers(text: str) -> list[str]:
    """The numbers in ``text`` (canonical form: digits; words and Chinese numerals converted)."""
    return _NUMBER.findall(canonical(text))


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text)


def _join_groups(text: str) -> str:
    # "6597 9711 4710" → "659797114710", "nw-482 913" → "nw482913": codes are compared without separators.
    return re.sub(r"(?<=[0-9a-z])[\s-]+(?=[0-9])", "", text)


def _has_code(joined: str, code: str) -> bool:
    if code.isdigit():
        return re.search(rf"(?<!\d){code}(?!\d)", joined) is not None
    return re.search(rf"(?<![a-z0-9]){re.escape(code)}(?![a-z0-9])", joined) is not None


@dataclass(frozen=True)
class Signature:
    """What a line must contain to state one form of a fact."""

    numbers: frozenset[str]
    codes: frozenset[str]  # squashed (no separators); digit-only keys for long codes
    sizes: frozenset[str]
    terms: tuple[str, ...]

    @property
    def exact(self) -> bool:
        """True when the form has numbers or codes (so stating it is a matter of exact tokens)."""
        return bool(self.numbers or self.codes)


def signature(form: str) -> Signature:
    """The signature of one way of saying a fact."""
    text = canonical(form)
    codes: set[str] = set()
    rest = text
    for m in _CODE.finditer(text):
        code = m.group(0)
        digits = re.sub(r"\D", "", code)
        codes.add(digits if _PREFIXED_NUMBER.fullmatch(code) else _squash(code))
        rest = rest.replace(code, " ")
    for m in _LONG_DIGITS.finditer(rest):
        codes.add(re.sub(r"\D", "", m.group(0)))
        rest = rest.replace(m.group(0), " ")
    nums = frozenset(_NUMBER.findall(rest))
    sizes = frozenset(m.group(1) for m in _SIZE.finditer(rest)) if not nums and not codes else frozenset()
    return Signature(nums, frozenset(codes), sizes, tuple(_terms(rest)))


def _terms(text: str) -> list[str]:
    # The knowledge base's keyword tokens (jieba with shop words for Chinese, stemmed words for English), minus
    # numbers (checked exactly) and single characters.
    words = _TOKENS.tokens(re.sub(r"[0-9]+", " ", text))
    return list(dict.fromkeys(w for w in words if len(w) >= 2 and not (w.isascii() and len(w) < 3)))


class Line:
    """A customer line prepared for fact checks (canonical text, numbers, squashed text)."""

    def __init__(self, text: str):
        self.text = canonical(text)
        self.numbers = set(_NUMBER.findall(self.text))
        self.joined = _join_groups(self.text)
        self.terms = set(_terms(self.text))

    def has_term(self, term: str) -> bool:
        if CJK.search(term):
            return term in self.text
        return term in self.terms

    def states(self, sig: Signature, *, min_overlap: float = 0.5) -> bool:
        """Whether this line states the form ``sig`` describes."""
        if sig.exact:
            return sig.numbers <= self.numbers and all(
                _has_code(self.text, c) or _has_code(self.joined, c) for c in sig.codes
            )
        if sig.sizes:
            # "M" alone appears in many lines: a size fact ("不喜欢太紧，平时穿M") needs its words too.
            sized = any(re.search(rf"(?<![a-z'’]){s}(?![a-z])", self.text) for s in sig.sizes)
            if not sized or not sig.terms:
                return sized
        if not sig.terms:
            return False
        hits = sum(1 for t in sig.terms if self.has_term(t))
        return hits / len(sig.terms) >= min_overlap


@dataclass(frozen=True)
class FactForms:
    """A known fact with the signatures of its value and of every ``say`` variant."""

    key: str
    signatures: tuple[Signature, ...]

    def stated_in(self, line: Line, *, strict: bool = False) -> bool:
        """Whether ``line`` states the fact.

        Args:
            line: The prepared line.
            strict: For leak checks — only exact forms (numbers, codes) or three quarters of the content words
                count, so a line that merely touches the topic ("M码会不会小") does not give a fact away.
        """
        for sig in self.signatures:
            if strict and not sig.exact:
                if sig.sizes or not sig.terms or len(sig.terms) < 2:
                    continue
                if line.states(sig, min_overlap=0.75):
                    return True
                continue
            if line.states(sig):
                return True
        return False


def fact_forms(fact: KnownFact, variables: Mapping[str, str]) -> FactForms:
    """The forms of ``fact`` with ``{variables}`` filled in."""
    forms = [substitute(fact.value, variables), *(substitute(s, variables) for s in fact.say)]
    sigs = [signature(f) for f in forms]
    return FactForms(fact.key, tuple(s for s in sigs if s.exact or s.sizes or s.terms))


class FactBook:
    """Every known fact of a scenario (for one set of variables), ready to be looked for in lines."""

    def __init__(self, facts: Sequence[KnownFact], variables: Mapping[str, str]):
        self.facts = {f.key: fact_forms(f, variables) for f in facts}

    def stated(self, text: str, keys: Iterable[str] | None = None, *, strict: bool = False) -> list[str]:
        """Keys of the facts (all, or those in ``keys``) that ``text`` states."""
        line = Line(text)
        wanted = self.facts if keys is None else {k: self.facts[k] for k in keys if k in self.facts}
        return [k for k, forms in wanted.items() if forms.stated_in(line, strict=strict)]
