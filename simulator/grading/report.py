"""Plain-text rendering of a grade for the terminal (``simulator grade`` without ``--json``)."""

from __future__ import annotations

from simulator.grading.result import Grade

_NAMES = {
    "service": "服务 service",
    "technique": "技巧 technique",
    "knowledge": "知识 knowledge",
    "process": "流程 process",
}


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
