"""Plain-text rendering of a grade for the terminal (``simulator grade`` without ``--json``)."""

from __future__ import annotations

from simulator.grading.reaction import Reaction
from simulator.grading.result import Grade

_NAMES = {
    "service": "服务 service",
    "technique": "技巧 technique",
    "knowledge": "知识 knowledge",
    "process": "流程 process",
}


_STATES = {
    "satisfied": "满意 satisfied",
    "neutral": "一般 neutral",
    "dissatisfied": "不满 dissatisfied",
    "angry": "生气 angry",
}
_TRENDS = {"rising": "好转 rising", "falling": "变差 falling", "steady": "平稳 steady"}
_CUES = {
    "anger": "生气 anger",
    "complaint": "投诉 complaint",
    "sarcasm": "讽刺 sarcasm",
    "leaving": "放弃 leaving",
    "unresolved": "没解决 unresolved",
    "urgency": "催促 urgency",
    "doubt": "质疑 doubt",
    "repeated": "重复提问 asked again",
    "thanks": "感谢 thanks",
    "acceptance": "接受 accepts",
    "praise": "称赞 praise",
}


def _reaction(grade: Grade, reaction: Reaction) -> list[str]:
    """The customer's trajectory: the state, the trend, and each message that showed a cue, with its words."""
    share = f"{grade.reaction_weight:.0%} of the overall, criteria {_fmt(grade.criteria_overall).strip()}"
    sim = []
    if reaction.outcome:
        sim.append(f"outcome {reaction.outcome}")
    if reaction.mood is not None:
        sim.append(f"mood {reaction.mood:+d}")
    state, trend = _STATES.get(reaction.state, reaction.state), _TRENDS.get(reaction.trend, reaction.trend)
    lines = [
        f"  顾客 customer    {state}, {trend}"
        f"  satisfaction {reaction.satisfaction:+.1f} (score {reaction.score:g}; {share})"
        + (f"  [{', '.join(sim)}]" if sim else "")
    ]
    for m in reaction.messages:
        if m.cues:
            cues = ", ".join(f"{_CUES.get(c.kind, c.kind)}「{c.words[:30]}」" for c in m.cues)
            lines.append(f"      turn {m.turn} {m.satisfaction:+.1f}: {cues}")
    return lines


def _fmt(score: float | None) -> str:
    return "unscored" if score is None else f"{score:5.1f}"


def render(grade: Grade) -> str:
    """A compact, specific report: scores, red lines, each deduction with evidence, source and a better reply."""
    verdict = {True: "PASS", False: "FAIL", None: "UNSCORED"}[grade.passed]
    lines = [
        f"== {grade.transcript_id}" + (f"  [scenario {grade.scenario_id}]" if grade.scenario_id else ""),
        f"overall {_fmt(grade.overall)}  {verdict} (pass mark {grade.pass_mark:g})"
        + (f"  judge {grade.judge}" if grade.judge else ""),
    ]
    if grade.calibration:
        lines.append(f"  calibrated by {grade.calibration}; the grader's own overall {_fmt(grade.raw_overall)}")
    for d, s in grade.dimensions.items():
        unscored = [c.id for c in s.criteria if not c.scored]
        extra = f"  (unscored: {', '.join(unscored)})" if unscored else ""
        own = f" (own {_fmt(s.raw_score).strip()})" if s.score != s.raw_score else ""
        lines.append(f"  {_NAMES[d.value]:<16} {_fmt(s.score)}{own}  weight {s.weight:g}{extra}")
    if grade.reaction is not None:
        lines += _reaction(grade, grade.reaction)
    for f in grade.red_lines:
        lines.append(f"  RED LINE {f.red_line}: {f.message}  turn {f.turn}: 「{f.evidence}」")
    for f in grade.findings():
        where = f"turn {f.turn}" if f.turn is not None else "whole conversation"
        lines.append(f"  -{f.points:g} {f.dimension.value}/{f.criterion} ({where}): {f.message}")
        if f.evidence:
            lines.append(f"      said: 「{f.evidence[:120]}」")
        if f.source and f.source.text:
            lines.append(f"      rule: {f.source.kind}:{f.source.id} — {f.source.text[:120]}")
        if f.suggestion:
            lines.append(f"      better: {f.suggestion.text[:160]}  ({f.suggestion.source})")
    for n in grade.notes:
        lines.append(f"  note turn {n.turn}: {n.message}")
    return "\n".join(lines)
