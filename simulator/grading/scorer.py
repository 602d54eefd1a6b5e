"""The ``Scorer`` protocol every dimension implements, and the finding helpers they share."""

from __future__ import annotations

from typing import Protocol

from simulator.grading.context import GradingContext
from simulator.grading.lexicon import CompiledRule, Hit
from simulator.grading.result import CriterionResult, Finding, Source
from simulator.scenario.vocabulary import Dimension


class Scorer(Protocol):
    """Scores one dimension of a transcript.

    A scorer returns one :class:`CriterionResult` per criterion it knows; a criterion it cannot decide for this
    transcript is returned *unscored* with the reason, never as 0.
    """

    dimension: Dimension

    def score(self, ctx: GradingContext) -> list[CriterionResult]:
        """Criteria with their findings."""
        ...


def evidence_finding(
    ctx: GradingContext,
    dimension: Dimension,
    criterion: str,
    points: float,
    message: str,
    turn: int,
    hit: Hit | None = None,
    *,
    source: Source | None = None,
    suggestion_fallback: str = "",
    topic: str = "",
    red_line: str | None = None,
) -> Finding:
    """A finding whose evidence is the trainee's exact words (the hit, or the whole reply)."""
    original = ctx.transcript.turns[turn].text
    if hit is not None:
        span = (hit.start, hit.end)
        evidence = original[hit.start : hit.end]
    else:
        span = (0, len(original))
        evidence = original
    return Finding(
        dimension=dimension,
        criterion=criterion,
        points=points,
        message=message,
        turn=turn,
        evidence=evidence,
        span=span,
        source=source,
        suggestion=ctx.suggestion(turn, topic=topic, fallback=suggestion_fallback),
        red_line=red_line,
    )


def rule_hits(
    ctx: GradingContext, rules: list[CompiledRule], turns: list[int], *, said: bool = False
) -> list[tuple[int, CompiledRule, Hit]]:
    """Every (turn, rule, hit) for the rules over the given turns (masked text). ``said``: only hits not refused
    by a negation earlier in the clause (:meth:`CompiledRule.said`, the customer's reading of the same rules)."""
    out: list[tuple[int, CompiledRule, Hit]] = []
    for i in turns:
        for r in rules:
            out.extend((i, r, h) for h in (r.said(ctx.texts[i]) if said else r.find(ctx.texts[i])))
    return out


def rule_source(ctx: GradingContext, rule: CompiledRule) -> Source:
    """The lexicon rule as a finding source."""
    return Source("rule", rule.id, f"{rule.note} ({ctx.lexicon.path})" if ctx.lexicon.path else rule.note)
