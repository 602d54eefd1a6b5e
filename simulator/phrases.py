"""The phrases the customer reacts to and the grader punishes — one list, read by both.

The rule files (``scenarios/rules/zh-CN.yaml``, ``en.yaml``; ``Settings.rules_dir``) hold the ``blame`` and
``over_promise`` rules. The grader (:mod:`simulator.grading.lexicon`) deducts points for a hit in its locale's
file; the customer's act detector (:mod:`simulator.acts`) performs :attr:`Act.BLAME` / :attr:`Act.OVER_PROMISE`
for a hit in either file (trainees mix languages). Both decide a hit the same way, here: the rule's pattern
matches, none of its ``except`` patterns matches within :data:`EXCEPT_WINDOW` characters, and no negation earlier
in the same clause turns it into an honest refusal ("不能保证", "I can't promise", "不是您的问题").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from simulator.scenario.vocabulary import Act
from simulator.scenario.yamlsource import read_yaml

EXCEPT_WINDOW = 8  # characters either side of a hit that an ``except`` pattern may look at
LOCALES = ("zh-CN", "en")
# Rule groups of the rule files that are also customer-facing acts.
SHARED: dict[str, Act] = {"blame": Act.BLAME, "over_promise": Act.OVER_PROMISE}
# A negation earlier in the same clause: the phrase is refused or denied, not said.
_NEGATED_BEFORE = re.compile(
    r"不能|无法|不敢|没法|没办法|不一定|不是|并非|\b(can't|cannot|can not|won't|not|never|no)\b", re.IGNORECASE
)
_CLAUSE_END = re.compile(r"[，,。！!？?；;\n]")


@lru_cache(maxsize=8192)
def compile_entry(entry: str) -> re.Pattern[str]:
    """A lexicon entry as a compiled, case-insensitive pattern.

    Literal ASCII words get word boundaries so that "hi" does not match inside "this".
    """
    if entry.startswith("re:"):
        return re.compile(entry[3:], re.IGNORECASE | re.MULTILINE)
    body = re.escape(entry)
    if re.fullmatch(r"[A-Za-z][A-Za-z' -]*", entry):
        body = rf"\b{body}\b"
    return re.compile(body, re.IGNORECASE)


@dataclass(frozen=True)
class Hit:
    """Where a pattern matched."""

    start: int
    end: int
    text: str


def negated_before(text: str, start: int) -> bool:
    """A negation in the same clause within 8 characters before ``start`` ("不能保证", "can't guarantee")."""
    before = _CLAUSE_END.split(text[max(0, start - 8) : start])[-1]
    return bool(_NEGATED_BEFORE.search(before))


class CompiledRule:
    """A rule ready to search text."""

    def __init__(self, rule: Any, patterns: list[str], excepts: list[str] | None = None):
        self.rule = rule
        self.id: str = rule.id
        self.note: str = getattr(rule, "note", "") or getattr(rule, "description", "")
        self.suggestion: str = getattr(rule, "suggestion", "")
        self.patterns = [compile_entry(p) for p in patterns]
        self._excepts = [compile_entry(p) for p in (excepts or [])]

    def find(self, text: str) -> list[Hit]:
        """Every acceptable hit in ``text``."""
        out: list[Hit] = []
        for pat in self.patterns:
            for m in pat.finditer(text):
                if m.end() == m.start():
                    continue
                lo, hi = max(0, m.start() - EXCEPT_WINDOW), min(len(text), m.end() + EXCEPT_WINDOW)
                window = text[lo:hi]
                if any(x.search(window) for x in self._excepts):
                    continue
                out.append(Hit(m.start(), m.end(), m.group(0)))
        return out

    def said(self, text: str) -> list[Hit]:
        """Hits that are said, not refused: :meth:`find` without those after a negation in the same clause."""
        return [h for h in self.find(text) if not negated_before(text, h.start)]


@dataclass(frozen=True)
class _RuleText:
    id: str
    note: str = ""
    suggestion: str = ""


class PhraseGroup(tuple[CompiledRule, ...]):
    """The rules of one shared group, with one combined pattern that rules out most texts in a single search."""

    prefilter: re.Pattern[str] | None

    def __new__(cls, rules: list[CompiledRule]) -> PhraseGroup:
        group = super().__new__(cls, rules)
        try:
            union = "|".join(f"(?:{p.pattern})" for r in rules for p in r.patterns)
            group.prefilter = re.compile(union, re.IGNORECASE | re.MULTILINE) if union else None
        except re.error:
            group.prefilter = None
        return group


@lru_cache(maxsize=8)
def shared_rules(rules_dir: Path) -> dict[Act, PhraseGroup]:
    """The shared rule groups of every locale's rule file in ``rules_dir``, by the act they perform.

    The files are validated by :func:`simulator.grading.lexicon.load_lexicon` (``simulator check``); here an
    unreadable file simply contributes nothing.
    """
    out: dict[Act, list[CompiledRule]] = {act: [] for act in SHARED.values()}
    for locale in LOCALES:
        path = Path(rules_dir) / f"{locale}.yaml"
        if not path.is_file():
            continue
        doc, _problems = read_yaml(path)
        data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
        for group, act in SHARED.items():
            for r in data.get(group) or []:
                if isinstance(r, dict) and isinstance(r.get("pattern"), str) and isinstance(r.get("id"), str):
                    out[act].append(CompiledRule(_RuleText(r["id"]), [r["pattern"]], list(r.get("except") or [])))
    return {act: PhraseGroup(rules) for act, rules in out.items()}


def performs(rules: tuple[CompiledRule, ...], text: str) -> bool:
    """Whether any of ``rules`` is said (not refused) in ``text``."""
    prefilter = getattr(rules, "prefilter", None)
    if prefilter is not None and not prefilter.search(text):
        return False
    return any(r.said(text) for r in rules)
