"""What the grader returns: findings with evidence, criteria, dimension scores and the overall grade.

A criterion the grader cannot decide is *unscored*: it is shown with its reason and left out of the
denominator, never counted as 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from simulator.grading.reaction import Reaction
from simulator.scenario.vocabulary import Dimension

# Something never done can be judged on the whole conversation only: on a cut-off one it may still come.
CUT_OFF = "the conversation was cut off before its end: what was not done yet may still come"

DIMENSIONS: tuple[Dimension, ...] = (Dimension.SERVICE, Dimension.TECHNIQUE, Dimension.KNOWLEDGE, Dimension.PROCESS)

# Service faults that make an unhappy customer's leaving the agent's doing: rudeness, forbidden words, curt replies.
RUDE_OR_CURT = frozenset({"politeness", "forbidden-words", "no-curt-replies"})


@dataclass
class Source:
    """Where a rule or fact comes from: a lexicon rule, a scenario item or a knowledge passage."""

    kind: str  # "rule" | "scenario" | "passage" | "llm"
    id: str
    text: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        """The inverse of :meth:`to_dict`."""
        return cls(data["kind"], data["id"], data.get("text", ""))


@dataclass
class Suggestion:
    """A better reply and where it came from."""

    text: str
    source: str  # "script:<passage id>", "reference", "fact:<id>", "rule:<id>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suggestion:
        """The inverse of :meth:`to_dict`."""
        return cls(data["text"], data["source"])


@dataclass
class Finding:
    """One deduction (or a zero-point note), tied to the trainee's own words.

    Attributes:
        dimension: Which grade dimension it belongs to.
        criterion: Criterion id (``forbidden-words``, a scenario step, fact or red-line id …).
        points: Points lost (0 for notes and red-line markers).
        turn: Index into the transcript's turns, or None for something missing from the whole conversation.
        evidence: The trainee's exact words (a span of the turn text), or "" when something is missing.
        span: (start, end) of the evidence in the turn text.
        message: What is wrong, in words.
        source: The rule or knowledge passage behind it.
        suggestion: A better reply.
        red_line: Red-line id when this finding crosses one.
    """

    dimension: Dimension
    criterion: str
    points: float
    message: str
    turn: int | None = None
    evidence: str = ""
    span: tuple[int, int] | None = None
    source: Source | None = None
    suggestion: Suggestion | None = None
    red_line: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "dimension": self.dimension.value,
            "criterion": self.criterion,
            "points": round(self.points, 2),
            "message": self.message,
            "turn": self.turn,
            "evidence": self.evidence,
            "span": list(self.span) if self.span else None,
            "source": self.source.to_dict() if self.source else None,
            "suggestion": self.suggestion.to_dict() if self.suggestion else None,
            "red_line": self.red_line,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """The inverse of :meth:`to_dict` (a stored grade read back)."""
        span = data.get("span")
        return cls(
            dimension=Dimension(data["dimension"]),
            criterion=data["criterion"],
            points=float(data["points"]),
            message=data["message"],
            turn=data.get("turn"),
            evidence=data.get("evidence", ""),
            span=(int(span[0]), int(span[1])) if span else None,
            source=Source.from_dict(data["source"]) if data.get("source") else None,
            suggestion=Suggestion.from_dict(data["suggestion"]) if data.get("suggestion") else None,
            red_line=data.get("red_line"),
        )


@dataclass
class CriterionResult:
    """One criterion: how many points it was worth and how many were earned.

    ``earned`` is None when the criterion is unscored; ``reason`` then says why.
    """

    dimension: Dimension
    id: str
    title: str
    points: float
    earned: float | None
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    decided_by: str = "rules"

    @property
    def scored(self) -> bool:
        """False when the grader could not decide."""
        return self.earned is not None

    @property
    def status(self) -> str:
        """passed, partial, failed or unscored."""
        if self.earned is None:
            return "unscored"
        if self.earned >= self.points - 1e-9:
            return "passed"
        return "failed" if self.earned <= 1e-9 else "partial"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "dimension": self.dimension.value,
            "id": self.id,
            "title": self.title,
            "points": round(self.points, 2),
            "earned": None if self.earned is None else round(self.earned, 2),
            "status": self.status,
            "reason": self.reason,
            "decided_by": self.decided_by,
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriterionResult:
        """The inverse of :meth:`to_dict`."""
        earned = data.get("earned")
        return cls(
            dimension=Dimension(data["dimension"]),
            id=data["id"],
            title=data["title"],
            points=float(data["points"]),
            earned=None if earned is None else float(earned),
            reason=data.get("reason", ""),
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            decided_by=data.get("decided_by", "rules"),
        )


def deduct(
    dimension: Dimension, cid: str, title: str, points: float, findings: list[Finding], *, reason: str = ""
) -> CriterionResult:
    """A scored criterion whose findings' points are subtracted.

    Deductions are not capped at the criterion's own points (扣分制: every violation costs its points, so one more
    fault always lowers the score); the dimension score bottoms out at 0.
    """
    lost = sum(f.points for f in findings)
    return CriterionResult(dimension, cid, title, points, points - lost, reason, findings)


def unscored(dimension: Dimension, cid: str, title: str, points: float, reason: str) -> CriterionResult:
    """A criterion the grader cannot decide (kept out of the denominator)."""
    return CriterionResult(dimension, cid, title, points, None, reason)


@dataclass
class DimensionScore:
    """Score of one dimension: 0–100 over the scored criteria, or None if nothing could be scored."""

    dimension: Dimension
    criteria: list[CriterionResult]
    weight: float
    calibrated: float | None = None

    @property
    def possible(self) -> float:
        """Points of the scored criteria."""
        return sum(c.points for c in self.criteria if c.scored)

    @property
    def earned(self) -> float:
        """Points earned on the scored criteria."""
        return sum(c.earned or 0.0 for c in self.criteria if c.scored)

    @property
    def raw_score(self) -> float | None:
        """0–100 (deductions beyond a criterion's points still count; floor 0), or None when nothing was scored."""
        if self.possible <= 0:
            return None
        return round(max(0.0, min(100.0, 100.0 * self.earned / self.possible)), 1)

    @property
    def score(self) -> float | None:
        """The shop's calibrated score when a calibration profile remapped it (:mod:`simulator.grading.calibration`),
        else :attr:`raw_score`; None when nothing was scored (a calibration never scores what was unscored)."""
        raw = self.raw_score
        if raw is None or self.calibrated is None:
            return raw
        return self.calibrated

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "score": self.score,
            "raw_score": self.raw_score,
            "weight": self.weight,
            "earned": round(self.earned, 2),
            "possible": round(self.possible, 2),
            "criteria": [c.to_dict() for c in self.criteria],
        }


@dataclass
class QuestionEvidence:
    """A customer question and the knowledge passage retrieved for it (shown in the report)."""

    turn: int
    question: str
    passage_id: str | None
    passage_text: str = ""
    doc_id: str = ""
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuestionEvidence:
        """The inverse of :meth:`to_dict`."""
        return cls(
            **{k: data[k] for k in ("turn", "question", "passage_id", "passage_text", "doc_id", "score") if k in data}
        )


@dataclass
class Grade:
    """The grade of one transcript."""

    transcript_id: str
    scenario_id: str | None
    dimensions: dict[Dimension, DimensionScore]
    pass_mark: float
    red_lines: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    questions: list[QuestionEvidence] = field(default_factory=list)
    metrics: dict[str, float | None] = field(default_factory=dict)
    judge: str | None = None
    unscored_reason: str | None = None
    reaction: Reaction | None = None
    reaction_weight: float = 0.0
    calibration: str | None = None
    calibrated_overall: float | None = None
    given_up: bool = False  # the trainee abandoned it: what was not done is unscored, so it can never pass

    @property
    def criteria_overall(self) -> float | None:
        """Weighted mean of the scored dimensions' raw scores (weights from the scenario), or None when nothing was
        scored or the whole conversation cannot be judged (:attr:`unscored_reason`)."""
        if self.unscored_reason is not None:
            return None
        num = den = 0.0
        for d in self.dimensions.values():
            s = d.raw_score
            if s is not None and d.weight > 0:
                num += s * d.weight
                den += d.weight
        return None if den <= 0 else round(num / den, 1)

    @property
    def overall(self) -> float | None:
        """The overall score: the shop's calibrated one when a calibration profile remapped it
        (:attr:`calibration` names the profile), else :attr:`raw_overall`. None stays None: a calibration never
        scores what the grader left unscored."""
        raw = self.raw_overall
        if raw is None or self.calibrated_overall is None:
            return raw
        return self.calibrated_overall

    @property
    def raw_overall(self) -> float | None:
        """The grader's own overall: the criteria's weighted mean blended with the customer's reaction
        (:attr:`reaction_weight` is the reaction's share, its score
        :attr:`Reaction.score <simulator.grading.reaction.Reaction.score>`), 0–100; None when nothing was scored or
        the whole conversation cannot be judged (:attr:`unscored_reason`)."""
        base = self.criteria_overall
        if base is None:
            return None
        if self.reaction is None or not self.reaction_weight:
            return base
        w = self.reaction_weight
        return round(max(0.0, min(100.0, (1 - w) * base + w * self.reaction.score)), 1)

    @property
    def rude_or_curt(self) -> list[Finding]:
        """Findings of rude or curt service (impolite, forbidden words, perfunctory replies, abuse)."""
        service = self.dimensions.get(Dimension.SERVICE)
        out = [f for c in (service.criteria if service else []) if c.id in RUDE_OR_CURT for f in c.findings]
        return [f for f in out if f.points > 0] + [f for f in self.red_lines if f.criterion.startswith("abuse")]

    @property
    def lost_the_customer(self) -> bool:
        """The customer left angry or complaining after rude or curt service: not passed, whatever the points."""
        return self.reaction is not None and self.reaction.left_unhappy and bool(self.rude_or_curt)

    @property
    def passed(self) -> bool | None:
        """Passed when overall ≥ pass mark, no red line was crossed, the customer was not driven away by rude or
        curt service (:attr:`lost_the_customer`) and the trainee did not give up (:attr:`given_up`: what was never
        done is unscored then, so quitting early must not pass); None if nothing could be scored."""
        if self.red_lines:
            return False
        o = self.overall
        if o is None:
            return None
        return o >= self.pass_mark and not self.lost_the_customer and not self.given_up

    def findings(self) -> list[Finding]:
        """Every finding that lost points, in turn order."""
        out = [f for d in self.dimensions.values() for c in d.criteria for f in c.findings if f.points > 0]
        return sorted(out, key=lambda f: (f.turn if f.turn is not None else 10**6, f.dimension.value))

    def criterion(self, cid: str) -> CriterionResult | None:
        """The criterion with this id, in any dimension."""
        for d in self.dimensions.values():
            for c in d.criteria:
                if c.id == cid:
                    return c
        return None

    def lost_ids(self) -> set[str]:
        """Ids of criteria that lost points, and of red lines crossed."""
        ids = {c.id for d in self.dimensions.values() for c in d.criteria if c.scored and c.status != "passed"}
        ids |= {f.criterion for f in self.findings()}
        ids |= {f.red_line for f in self.red_lines if f.red_line}
        return ids

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what ``simulator grade --json`` prints)."""
        return {
            "id": self.transcript_id,
            "scenario": self.scenario_id,
            "overall": self.overall,
            "passed": self.passed,
            "pass_mark": self.pass_mark,
            "scores": {d.value: s.score for d, s in self.dimensions.items()},
            "dimensions": {d.value: s.to_dict() for d, s in self.dimensions.items()},
            "red_lines": [f.to_dict() for f in self.red_lines],
            "notes": [f.to_dict() for f in self.notes],
            "questions": [q.to_dict() for q in self.questions],
            "metrics": self.metrics,
            "judge": self.judge,
            "unscored_reason": self.unscored_reason,
            "criteria_overall": self.criteria_overall,
            "reaction": self.reaction.to_dict() if self.reaction is not None else None,
            "reaction_weight": self.reaction_weight,
            "lost_the_customer": self.lost_the_customer,
            "given_up": self.given_up,
            "calibration": self._calibration_dict(),
        }

    def _calibration_dict(self) -> dict[str, Any] | None:
        """The profile and the raw figures it remapped, or None without a calibration."""
        if self.calibration is None:
            return None
        return {
            "profile": self.calibration,
            "raw_overall": self.raw_overall,
            "raw_scores": {d.value: s.raw_score for d, s in self.dimensions.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grade:
        """A grade from its JSON form (:meth:`to_dict`, as stored with a session and printed by ``grade --json``).

        Raw scores are recomputed from the criteria, never read back, so a stored grade cannot disagree with itself;
        calibrated scores (a profile's remapping of them) are read back with the profile's name.
        """
        calibration = data.get("calibration") or None
        dims = {
            Dimension(d): DimensionScore(
                Dimension(d),
                [CriterionResult.from_dict(c) for c in body.get("criteria", [])],
                float(body["weight"]),
                _number(body.get("score")) if calibration else None,
            )
            for d, body in data["dimensions"].items()
        }
        return cls(
            transcript_id=data["id"],
            scenario_id=data.get("scenario"),
            dimensions=dims,
            pass_mark=float(data["pass_mark"]),
            red_lines=[Finding.from_dict(f) for f in data.get("red_lines", [])],
            notes=[Finding.from_dict(f) for f in data.get("notes", [])],
            questions=[QuestionEvidence.from_dict(q) for q in data.get("questions", [])],
            metrics=dict(data.get("metrics") or {}),
            judge=data.get("judge"),
            unscored_reason=data.get("unscored_reason"),
            # Grades stored before the customer's reaction was read have none: their overall is unchanged.
            reaction=Reaction.from_dict(data["reaction"]) if data.get("reaction") else None,
            reaction_weight=float(data.get("reaction_weight") or 0.0),
            calibration=calibration["profile"] if calibration else None,
            given_up=bool(data.get("given_up")),
            calibrated_overall=_number(data.get("overall")) if calibration else None,
        )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
