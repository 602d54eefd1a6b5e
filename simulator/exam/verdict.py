"""The verdict, decided by code: overall ≥ pass mark AND every floor met (dimensions, parts) AND no red line.

Everything here is a pure function of the graded parts — the same inputs give the same verdict — so a verdict can
be recomputed and audited at any time: after an exam owner's override of a finding, after an upheld appeal, after
an explicit re-grade. Scores:

* a written part scores 0–100 over its drawn questions (an unanswered question counts 0); a wrong answer to a
  *critical* question is a red line;
* a role-play part scores the mean of its conversations' overall grades; a conversation in which the trainee
  never replied scores 0 in every dimension (timed out or abandoned before a word is a failed conversation, not
  an unscored one);
* each dimension is the mean over the role-plays that scored it (an unscored dimension in one conversation is left
  out, never counted as 0); a dimension with a floor that no role-play could score makes the verdict ``review``
  — decided by a person (re-grade or override), never by guessing;
* overall is the weighted mean of the part scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simulator.exam.definition import ExamDefinition, PartKind
from simulator.grading.result import DIMENSIONS, CriterionResult, DimensionScore, Finding, Grade

DIMENSION_IDS = tuple(d.value for d in DIMENSIONS)


class VerdictStatus(StrEnum):
    """The outcome of an attempt."""

    PASSED = "passed"
    FAILED = "failed"
    REVIEW = "review"  # something the verdict depends on could not be scored: a person decides


@dataclass
class Reason:
    """Why the verdict is what it is, as a code the pages translate plus its figures."""

    code: str  # overall-below | dimension-below | part-below | red-line | critical-question | unscored-dimension
    subject: str = ""  # dimension or part id, red-line id, question key
    score: float | None = None
    needed: float | None = None
    detail: str = ""  # a red line's description, the session it happened in

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "code": self.code,
            "subject": self.subject,
            "score": self.score,
            "needed": self.needed,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        """The inverse of :meth:`to_dict`."""
        return cls(data["code"], data.get("subject", ""), data.get("score"), data.get("needed"), data.get("detail", ""))


@dataclass
class PartScore:
    """One part's score against its floor."""

    id: str
    kind: str
    title: str
    score: float | None
    weight: float
    floor: float | None

    @property
    def ok(self) -> bool | None:
        """Whether the floor is met (None: no floor, or no score)."""
        if self.floor is None:
            return None
        return None if self.score is None else self.score >= self.floor


@dataclass
class DimensionResult:
    """One dimension's score over the role-plays, against its floor."""

    id: str
    score: float | None
    floor: float | None

    @property
    def ok(self) -> bool | None:
        """Whether the floor is met (None: no floor, or unscored)."""
        if self.floor is None:
            return None
        return None if self.score is None else self.score >= self.floor


@dataclass
class Verdict:
    """The decided outcome of an attempt, with every figure it was decided on."""

    status: VerdictStatus
    overall: float | None
    pass_mark: float
    parts: list[PartScore] = field(default_factory=list)
    dimensions: list[DimensionResult] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    red_lines: list[Reason] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        """True passed, False failed, None under review."""
        return None if self.status is VerdictStatus.REVIEW else self.status is VerdictStatus.PASSED

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the attempt)."""
        return {
            "status": self.status.value,
            "overall": self.overall,
            "pass_mark": self.pass_mark,
            "parts": [
                {"id": p.id, "kind": p.kind, "title": p.title, "score": p.score, "weight": p.weight, "floor": p.floor}
                for p in self.parts
            ],
            "dimensions": [{"id": d.id, "score": d.score, "floor": d.floor} for d in self.dimensions],
            "reasons": [r.to_dict() for r in self.reasons],
            "red_lines": [r.to_dict() for r in self.red_lines],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        """The inverse of :meth:`to_dict`."""
        return cls(
            status=VerdictStatus(data["status"]),
            overall=data.get("overall"),
            pass_mark=float(data["pass_mark"]),
            parts=[
                PartScore(p["id"], p["kind"], p["title"], p["score"], p["weight"], p["floor"]) for p in data["parts"]
            ],
            dimensions=[DimensionResult(d["id"], d["score"], d["floor"]) for d in data["dimensions"]],
            reasons=[Reason.from_dict(r) for r in data.get("reasons", [])],
            red_lines=[Reason.from_dict(r) for r in data.get("red_lines", [])],
        )


@dataclass
class WrittenOutcome:
    """A graded written part."""

    part_id: str
    score: float | None
    critical_wrong: list[str] = field(default_factory=list)  # question keys


@dataclass
class RolePlayOutcome:
    """One graded conversation of a role-play part (the grade with the exam owner's overrides applied)."""

    part_id: str
    session_id: str
    scenario_id: str
    grade: Grade | None
    replies: int  # the trainee's messages

    @property
    def silent(self) -> bool:
        """The trainee never replied: the conversation scores 0."""
        return self.replies == 0

    def overall(self) -> float | None:
        """The conversation's overall score for the exam: 0 when the trainee never replied, or gave up after too
        little for practice to grade it (an exam grades what it got — never unscored)."""
        if self.silent or (self.grade is not None and self.grade.unscored_reason is not None):
            return 0.0
        return None if self.grade is None else self.grade.overall

    def dimension(self, dim: str) -> float | None:
        """One dimension's score for the exam (0 when the trainee never replied; None when unscored)."""
        if self.silent:
            return 0.0
        if self.grade is None:
            return None
        for d, s in self.grade.dimensions.items():
            if d.value == dim:
                return s.score
        return None


def decide(exam: ExamDefinition, written: Sequence[WrittenOutcome], roleplays: Sequence[RolePlayOutcome]) -> Verdict:
    """The verdict of one attempt (see the module docstring for every rule)."""
    by_part: dict[str, list[RolePlayOutcome]] = {}
    for r in roleplays:
        by_part.setdefault(r.part_id, []).append(r)
    written_by = {w.part_id: w for w in written}
    parts: list[PartScore] = []
    reasons: list[Reason] = []
    red: list[Reason] = []
    undecided = False
    for p in exam.parts:
        if p.kind is PartKind.WRITTEN:
            w = written_by.get(p.id)
            score = w.score if w is not None else 0.0
            for key in w.critical_wrong if w is not None else []:
                red.append(Reason("critical-question", key, detail=p.id))
        else:
            convs = by_part.get(p.id, [])
            scores = [c.overall() for c in convs]
            if any(s is None for s in scores) or not convs:
                undecided = True
                score = None
            else:
                score = round(sum(s for s in scores if s is not None) / len(scores), 1)
        parts.append(PartScore(p.id, p.kind.value, p.title, score, p.weight, p.floor))
    dims: list[DimensionResult] = []
    floors = dict(exam.floors.items())
    has_roleplay = any(p.kind is PartKind.ROLEPLAY for p in exam.parts)
    for dim in DIMENSION_IDS if has_roleplay else ():
        values = [v for r in roleplays if (v := r.dimension(dim)) is not None]
        score = round(sum(values) / len(values), 1) if values else None
        dims.append(DimensionResult(dim, score, floors.get(dim)))
    for r in roleplays:
        if r.grade is None or r.silent:
            continue
        for f in r.grade.red_lines:
            red.append(Reason("red-line", f.red_line or f.criterion, detail=f"{r.scenario_id}: {f.message}"))
    weighted = [(ps.score, ps.weight) for ps in parts if ps.weight > 0]
    overall = None
    if weighted and all(s is not None for s, _ in weighted):
        total = sum(w for _, w in weighted)
        overall = round(sum((s or 0.0) * w for s, w in weighted) / total, 1)
    if overall is not None and overall < exam.pass_mark:
        reasons.append(Reason("overall-below", "overall", overall, exam.pass_mark))
    for d in dims:
        if d.floor is None:
            continue
        if d.score is None:
            undecided = True
            reasons.append(Reason("unscored-dimension", d.id, None, d.floor))
        elif d.score < d.floor:
            reasons.append(Reason("dimension-below", d.id, d.score, d.floor))
    for ps in parts:
        if ps.floor is not None and ps.score is not None and ps.score < ps.floor:
            reasons.append(Reason("part-below", ps.id, ps.score, ps.floor))
    reasons += red
    failing = [r for r in reasons if r.code != "unscored-dimension"]
    if failing:
        status = VerdictStatus.FAILED
    elif undecided or overall is None:
        status = VerdictStatus.REVIEW
    else:
        status = VerdictStatus.PASSED
    return Verdict(status, overall, exam.pass_mark, parts, dims, reasons, red)


# ---------------------------------------------------------------------------------------------------------
# Findings and the exam owner's overrides


def finding_keys(grade: Grade) -> list[tuple[str, Finding]]:
    """Every finding an exam owner can override or a trainee can appeal, with a key stable for this grade:
    ``criterion@turn`` (``-`` for the whole conversation), ``#n`` for repeats; red lines as
    ``red-line:<id>@turn``."""
    out: list[tuple[str, Finding]] = []
    seen: dict[str, int] = {}

    def add(base: str, f: Finding) -> None:
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append((base if n == 0 else f"{base}#{n}", f))

    for f in grade.findings():
        add(f"{f.criterion}@{'-' if f.turn is None else f.turn}", f)
    for f in grade.red_lines:
        add(f"red-line:{f.red_line or f.criterion}@{'-' if f.turn is None else f.turn}", f)
    return out


def apply_overrides(grade: Grade, dismissed: Iterable[str]) -> Grade:
    """The grade with the dismissed findings taken out: their points given back to their criterion, a dismissed
    red line removed (and the dimension's red-line deduction with it when no red line is left there). The stored
    grade is never changed; this is recomputed from it and the override log."""
    drop = set(dismissed)
    if not drop:
        return grade
    keyed = finding_keys(grade)
    gone = [f for k, f in keyed if k in drop]
    gone_ids = {id(f) for f in gone}
    red_left = [f for f in grade.red_lines if id(f) not in gone_ids]
    red_dims = {f.dimension for f in red_left}
    dims: dict[Any, DimensionScore] = {}
    for d, score in grade.dimensions.items():
        criteria: list[CriterionResult] = []
        for c in score.criteria:
            if c.id == "red-line" and d not in red_dims and any(f.dimension is d for f in grade.red_lines):
                criteria.append(
                    CriterionResult(c.dimension, c.id, c.title, c.points, c.points, c.reason, [], c.decided_by)
                )
                continue
            kept = [f for f in c.findings if id(f) not in gone_ids]
            if len(kept) != len(c.findings) and c.earned is not None:
                back = sum(f.points for f in c.findings if id(f) in gone_ids)
                earned = min(c.points, c.earned + back)
                criteria.append(
                    CriterionResult(c.dimension, c.id, c.title, c.points, earned, c.reason, kept, c.decided_by)
                )
            else:
                criteria.append(c)
        dims[d] = DimensionScore(d, criteria, score.weight)
    return Grade(
        transcript_id=grade.transcript_id,
        scenario_id=grade.scenario_id,
        dimensions=dims,
        pass_mark=grade.pass_mark,
        red_lines=red_left,
        notes=grade.notes,
        questions=grade.questions,
        metrics=grade.metrics,
        judge=grade.judge,
    )
