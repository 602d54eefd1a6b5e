"""A trainer's review of a grade: which finding is which (a stable key), and the grade after the trainer's
overrides — what the dashboards count, while the grader's own grade stays stored untouched for calibration.

A finding's key is ``(criterion, turn, ordinal)``: its criterion id, the transcript turn it is about (-1 for the
whole conversation) and its position among the findings of that criterion on that turn, in the grade's order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from simulator.grading.result import Finding, Grade
from simulator.store.reviews import FindingOverride, OverrideAction

FindingKey = tuple[str, int, int]


@dataclass(frozen=True)
class KeyedFinding:
    """A finding that lost points, with its key."""

    key: FindingKey
    finding: Finding


def keyed_findings(grade: Grade) -> list[KeyedFinding]:
    """Every finding that lost points, in the grade's order (dimension, criterion, finding), with its key."""
    seen: dict[tuple[str, int], int] = {}
    out: list[KeyedFinding] = []
    for dim in grade.dimensions.values():
        for crit in dim.criteria:
            for f in crit.findings:
                if f.points <= 0:
                    continue
                turn = -1 if f.turn is None else f.turn
                n = seen.get((f.criterion, turn), 0)
                seen[(f.criterion, turn)] = n + 1
                out.append(KeyedFinding((f.criterion, turn, n), f))
    return out


def key_of(override: FindingOverride) -> FindingKey:
    """The key of the finding an override is about."""
    return (override.criterion, override.turn, override.ordinal)


def effective_grade(grade: Grade, overrides: Iterable[FindingOverride]) -> Grade:
    """The grade with the trainer's decisions applied: a rejected finding gives its points back, an adjusted one
    costs what the trainer said; rejecting a red-line marker also withdraws the red lines of its dimension.
    Scores follow (they are computed from the criteria)."""
    decided = {key_of(o): o for o in overrides}
    if not decided:
        return grade
    out = Grade.from_dict(grade.to_dict())
    seen: dict[tuple[str, int], int] = {}
    cleared: set[str] = set()
    for dim in out.dimensions.values():
        for crit in dim.criteria:
            kept: list[Finding] = []
            for f in crit.findings:
                if f.points <= 0:
                    kept.append(f)
                    continue
                turn = -1 if f.turn is None else f.turn
                n = seen.get((f.criterion, turn), 0)
                seen[(f.criterion, turn)] = n + 1
                o = decided.get((f.criterion, turn, n))
                if o is None:
                    kept.append(f)
                    continue
                if o.action == OverrideAction.REJECTED.value:
                    if crit.earned is not None:
                        crit.earned += f.points
                    if f.criterion == "red-line":
                        cleared.add(dim.dimension.value)
                    continue
                new_points = max(0.0, float(o.points if o.points is not None else f.points))
                if crit.earned is not None:
                    crit.earned += f.points - new_points
                f.points = new_points
                kept.append(f)
            crit.findings = kept
    if cleared:
        out.red_lines = [r for r in out.red_lines if r.dimension.value not in cleared]
    return out


def find(grade: Grade, key: FindingKey) -> Finding | None:
    """The finding with this key."""
    return next((k.finding for k in keyed_findings(grade) if k.key == key), None)


def overrides_by_key(overrides: Sequence[FindingOverride]) -> dict[FindingKey, FindingOverride]:
    """Overrides by the key of their finding."""
    return {key_of(o): o for o in overrides}
