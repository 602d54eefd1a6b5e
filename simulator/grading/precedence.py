"""One finding per fault: when several criteria mark the same fault on the same agent turn, the most specific
one deducts and the others do not deduct again.

Two findings are **the same fault** when they sit on the same turn and either

* belong to the same *fault family* (:func:`family`): a missing acknowledgement (``empathy``, the first layer of
  the empathy sandwich / de-escalation, a scenario apologise/empathise step), an over-promise (the rule and
  the scenario's over-promise red line), acting beyond authority, refusing to escalate, a curt or cold reply, a
  wrong fact (the fact check and an invented-fact red line), a cash-back offer, a blind recommendation; or
* one of them has no family, both point at the trainee's words (evidence shorter than the whole reply) and
  their evidence overlaps (a scenario forbidden-phrase red line "经理不在" and the escalation check quoting the
  same words).

Two things a scenario asks for separately (two steps, two facts) are never the same fault.

**Precedence** (documented in docs/grading.md, "One finding per fault"), highest first:

1. a red line (it fails an exam) — a scenario's red line before a lexicon-wide one;
2. a scenario-specific finding (a scenario step, fact or forbidden phrase: it names what the shop expects);
3. a finding quoting the trainee's exact words (a lexicon rule hit);
4. a generic finding about the whole reply (no acknowledgement, a cold tone);

then the one that costs more points, then the earlier one. The finding that wins keeps its points; the others
are removed from their criteria (the criterion's ``reason`` says which finding counted instead) and a red line
that lost to another is dropped from the grade's red lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from simulator.grading.result import CriterionResult, Finding
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, RedLineKind

# Generic criteria → fault family.
_CRITERION_FAMILY: dict[str, str] = {
    "empathy": "acknowledge",
    "reassurance": "acknowledge",
    "no-over-promise": "promise",
    "authority": "authority",
    "escalation": "escalation",
    "no-curt-replies": "curt",
    "kb-consistent": "fact",
    "needs-discovery": "discovery",
    "verify-first": "verify",
    "no-flat-refusal": "alternative",
    "answers-question": "unanswered",
}
# Finding source ids that narrow a multi-fault criterion to one family.
_SOURCE_FAMILY: dict[str, str] = {
    "sandwich-feeling": "acknowledge",
    "sandwich-solution": "alternative",
    "polite-tone": "tone",
}
_KIND_FAMILY: dict[RedLineKind, str] = {
    RedLineKind.OVER_PROMISE: "promise",
    RedLineKind.AUTHORITY: "authority",
    RedLineKind.CASHBACK: "cashback",
    RedLineKind.INVENTED_FACT: "fact",
    RedLineKind.DATA_LEAK: "data-leak",
    RedLineKind.ABUSE: "abuse",
}
_STEP_FAMILY: dict[Act, str] = {
    Act.APOLOGISE: "acknowledge",
    Act.EMPATHISE: "acknowledge",
    Act.ESCALATE: "escalation",
    Act.VERIFY_ORDER: "verify",
    Act.ASK: "discovery",
}
# Red lines the grader raises itself (lexicon-wide or from a scorer), by id.
_GRADER_RED_LINES: dict[str, str] = {
    "authority-exceeded": "authority",
    "phone-leak": "data-leak",
    "off-platform-contact": "off-platform",
}
TONE = "tone"
# Criteria that judge the attitude of a reply; a missing courtesy on the same turn is part of their fault.
ATTITUDE = {"politeness", "forbidden-words", "no-curt-replies"}
# Criteria whose findings quote a phrase rule's hit: two of them quoting the very same words are one fault.
QUOTING = {"politeness", "forbidden-words"}
WHOLE_REPLY = 0.9  # evidence covering this share of the reply or more is about the whole reply, not its words


@dataclass(frozen=True)
class Ranked:
    """A finding with what precedence needs to know about it."""

    finding: Finding
    family: str | None
    rank: int  # lower wins
    pinpoint: tuple[int, int] | None  # the span when the evidence is the trainee's words, not the whole reply
    own: str | None  # the scenario step, fact or forbidden-phrase list it names (not a red line), if any


def family(f: Finding, scenario: Scenario | None, lexicon_kinds: dict[str, RedLineKind]) -> str | None:
    """The fault family of a finding, or None when only overlapping evidence can tie it to another."""
    if f.source is not None and f.source.id in _SOURCE_FAMILY:
        return _SOURCE_FAMILY[f.source.id]
    if f.red_line:
        if f.red_line in _GRADER_RED_LINES:
            return _GRADER_RED_LINES[f.red_line]
        kind = lexicon_kinds.get(f.red_line)
        if scenario is not None:
            rl = next((r for r in scenario.expectations.red_lines if r.id == f.red_line), None)
            kind = rl.kind if rl is not None else kind
        return _KIND_FAMILY.get(kind) if kind is not None else None
    if f.criterion in _CRITERION_FAMILY:
        return _CRITERION_FAMILY[f.criterion]
    if scenario is not None:
        step = next((s for s in scenario.expectations.steps if s.id == f.criterion), None)
        if step is not None:
            return _STEP_FAMILY.get(step.act)
        if any(x.id == f.criterion for x in scenario.expectations.facts):
            return "fact"
    return None


def _rank(f: Finding, scenario: Scenario | None) -> int:
    if f.red_line:
        from_scenario = scenario is not None and any(r.id == f.red_line for r in scenario.expectations.red_lines)
        return 0 if from_scenario else 1
    if f.source is not None and f.source.kind == "scenario" and f.turn is not None:
        return 2
    if scenario is not None and (
        any(s.id == f.criterion for s in scenario.expectations.steps)
        or any(x.id == f.criterion for x in scenario.expectations.facts)
    ):
        return 2
    return 3 if f.span is not None and f.evidence else 4


def _own(f: Finding, scenario: Scenario | None) -> str | None:
    if f.red_line or scenario is None:
        return None
    if any(s.id == f.criterion for s in scenario.expectations.steps) or any(
        x.id == f.criterion for x in scenario.expectations.facts
    ):
        return f.criterion
    if f.source is not None and f.source.kind == "scenario" and f.turn is not None:
        return f"{f.criterion}:{f.source.id}"
    return None


def _pinpoint(f: Finding, texts: Sequence[str]) -> tuple[int, int] | None:
    if f.span is None or f.turn is None or not (0 <= f.turn < len(texts)):
        return None
    lo, hi = f.span
    whole = max(1, len(texts[f.turn].strip()))
    return (lo, hi) if hi - lo < WHOLE_REPLY * whole else None


def _same_fault(a: Ranked, b: Ranked) -> bool:
    if a.finding.turn is None or a.finding.turn != b.finding.turn:
        return False
    if a.own is not None and b.own is not None and a.own != b.own:
        return False  # two things the scenario asks for separately (verify the order, check the condition)
    if TONE in (a.family, b.family):  # no courtesy at all is part of a rude, blaming or curt reply
        other = b if a.family == TONE else a
        return other.family != TONE and other.finding.criterion in ATTITUDE
    if a.family is not None and b.family is not None:
        return a.family == b.family
    if (
        a.finding.span is not None
        and a.finding.span == b.finding.span
        and {a.finding.criterion, b.finding.criterion} <= QUOTING
    ):
        return True  # the same words quoted by two phrase rules (a scenario's forbidden phrase and a lexicon rule)
    if a.pinpoint is None or b.pinpoint is None:
        return False
    return a.pinpoint[0] < b.pinpoint[1] and b.pinpoint[0] < a.pinpoint[1]


def one_per_fault(
    results: list[CriterionResult],
    red: list[Finding],
    scenario: Scenario | None,
    texts: Sequence[str],
    lexicon_kinds: dict[str, RedLineKind],
) -> tuple[list[CriterionResult], list[Finding]]:
    """The criteria and red lines with every fault deducted once (see the module docstring).

    Args:
        results: Every criterion's result.
        red: The red lines crossed (zero-point findings; some are also inside ``results``).
        scenario: The scenario, for its step, fact and red-line ids.
        texts: The turns' texts (to tell a quote from the whole reply).
        lexicon_kinds: Kind of each lexicon-wide red line, by id.
    """
    candidates: list[Ranked] = []
    seen: set[int] = set()
    for f in [*red, *(f for c in results for f in c.findings)]:
        if id(f) in seen or f.turn is None or (f.points <= 0 and not f.red_line):
            continue
        seen.add(id(f))
        candidates.append(
            Ranked(f, family(f, scenario, lexicon_kinds), _rank(f, scenario), _pinpoint(f, texts), _own(f, scenario))
        )
    order = sorted(
        range(len(candidates)),
        key=lambda k: (candidates[k].rank, -candidates[k].finding.points, k),
    )
    kept: list[Ranked] = []
    lost: dict[int, Finding] = {}  # id(loser) → the finding that counts instead
    for k in order:
        c = candidates[k]
        winner = next((w for w in kept if _same_fault(w, c)), None)
        if winner is None:
            kept.append(c)
        else:
            lost[id(c.finding)] = winner.finding
    if not lost:
        return results, red
    out: list[CriterionResult] = []
    for crit in results:
        dropped = [f for f in crit.findings if id(f) in lost]
        if not dropped:
            out.append(crit)
            continue
        findings = [f for f in crit.findings if id(f) not in lost]
        instead = ", ".join(dict.fromkeys(lost[id(f)].criterion for f in dropped))
        reason = (crit.reason + "; " if crit.reason else "") + f"same fault counted under {instead}"
        earned = None if crit.earned is None else crit.earned + sum(f.points for f in dropped)
        out.append(
            CriterionResult(crit.dimension, crit.id, crit.title, crit.points, earned, reason, findings, crit.decided_by)
        )
    return out, [f for f in red if id(f) not in lost]
