"""Red lines: things that fail an exam regardless of points (abuse, review cash-back, data leaks, authority …).

Sources: the lexicon's red lines (every conversation in the locale), the scenario's ``red_lines`` (patterns),
an 11-digit phone number the agent sends that the customer never gave, and findings other scorers marked
with ``red_line`` (authority exceeded).
"""

from __future__ import annotations

import re

from simulator.facts import FactChecker
from simulator.grading.context import GradingContext
from simulator.grading.lexicon import Hit, LexiconRedLine, compile_entry
from simulator.grading.result import Finding, Source
from simulator.grading.scorer import evidence_finding
from simulator.scenario.vocabulary import Dimension, RedLineKind

_KIND_DIMENSION = {
    RedLineKind.ABUSE: Dimension.SERVICE,
    RedLineKind.FORBIDDEN_PHRASE: Dimension.SERVICE,
    RedLineKind.DATA_LEAK: Dimension.SERVICE,
    RedLineKind.OVER_PROMISE: Dimension.TECHNIQUE,
    RedLineKind.AUTHORITY: Dimension.PROCESS,
    RedLineKind.CASHBACK: Dimension.PROCESS,
    RedLineKind.INVENTED_FACT: Dimension.KNOWLEDGE,
}
_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_CLAUSE_END = re.compile(r"[，,。！!？?；;\n]|\.\s")
_NEGATED = re.compile(
    r"不能|不可以|不会|无法|没法|禁止|不允许|不支持|不提供|不参与|违反|违规"
    r"|\b(can't|cannot|can not|won't|not|never|no)\b",
    re.I,
)


# Naming a red line to refuse it: "好评返现属于违规操作，我们不做", "返现是平台禁止的", "…is against our policy".
_REFUSED_AFTER = re.compile(
    r"违规|违反|禁止|不允许|不可以|不能做|不做|不提供|不参与|没有的|是不行的"
    r"|\b(not allowed|against (the|our|platform) (rules|policy)|not permitted|can't do|don't do|we don't)\b",
    re.I,
)
_SENTENCE_END = re.compile(r"[。！!？?\n]|\.\s")


def _refused_after(text: str, end: int) -> bool:
    """The rest of the sentence (within 20 characters) refuses what was just named."""
    rest = _SENTENCE_END.split(text[end : end + 20], maxsplit=1)[0]
    return bool(_REFUSED_AFTER.search(rest))


def _negated_before(text: str, start: int) -> bool:
    """A negation earlier in the same clause, within 30 characters ("I can't offer credit for a review")."""
    window = text[max(0, start - 30) : start]
    parts = _CLAUSE_END.split(window)
    return bool(_NEGATED.search(parts[-1] if parts else ""))


def _in_other_words(ctx: GradingContext, rid: str, kind: RedLineKind, origin: str, text: str) -> tuple[int, int] | None:
    if origin != "scenario" or kind not in (RedLineKind.INVENTED_FACT, RedLineKind.OVER_PROMISE) or not ctx.scenario:
        return None
    rl = next((r for r in ctx.scenario.expectations.red_lines if r.id == rid), None)
    checker = getattr(ctx.acts, "facts", None)
    if rl is None or not isinstance(checker, FactChecker):
        return None
    return checker.crosses(rl.patterns, text)


def red_line_findings(ctx: GradingContext) -> list[Finding]:
    """Every red line crossed, as zero-point findings (the points are lost by the dimension scorers)."""
    agents = ctx.agent_indices()
    out: list[Finding] = []
    rules: list[tuple[str, RedLineKind, str, list[re.Pattern[str]], str]] = [
        (r.id, r.rule.kind, r.note, r.patterns, "rule")
        for r in ctx.lexicon.red_lines
        if isinstance(r.rule, LexiconRedLine)
    ]
    if ctx.scenario:
        for rl in ctx.scenario.expectations.red_lines:
            pats = [compile_entry("re:" + p) for p in rl.patterns]
            rules.append((rl.id, rl.kind, rl.description, pats, "scenario"))
    for rid, kind, description, patterns, origin in rules:
        for i in agents:
            text = ctx.texts[i]
            for pat in patterns:
                m = pat.search(text)
                if not m or m.end() == m.start():
                    continue
                if _negated_before(text, m.start()) or _refused_after(text, m.end()):
                    continue  # "好评返现是违规的，我们不能…" states the rule, it does not cross it
                f = evidence_finding(
                    ctx,
                    _KIND_DIMENSION[kind],
                    rid,
                    0.0,
                    ctx.say("red-line", description=description),
                    i,
                    Hit(m.start(), m.end(), m.group(0)),
                    source=Source(origin, rid, description),
                    red_line=rid,
                )
                out.append(f)
                break
            else:
                # A claim red line (an invented fact, an over-promise) crossed in other words: the same concept
                # with the same polarity as one of its patterns ("毛球是不会有的" for "不会起球").
                span = _in_other_words(ctx, rid, kind, origin, text)
                if span is not None:
                    out.append(
                        evidence_finding(
                            ctx,
                            _KIND_DIMENSION[kind],
                            rid,
                            0.0,
                            ctx.say("red-line", description=description),
                            i,
                            Hit(span[0], span[1], ctx.transcript.turns[i].text[span[0] : span[1]]),
                            source=Source(origin, rid, description),
                            red_line=rid,
                        )
                    )
    customer_text = " ".join(ctx.texts[i] for i in ctx.customer_indices())
    for i in agents:
        for m in _PHONE.finditer(ctx.texts[i]):
            if m.group(0) not in customer_text:
                out.append(
                    evidence_finding(
                        ctx,
                        Dimension.SERVICE,
                        "phone-leak",
                        0.0,
                        ctx.say("red-line.phone"),
                        i,
                        Hit(m.start(), m.end(), m.group(0)),
                        source=Source("rule", "phone-leak", "never share another customer's data"),
                        red_line="phone-leak",
                    )
                )
    return out
