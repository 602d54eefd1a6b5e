"""A shop's calibration profile: how the grader's criteria combine into the scores its own QA team gives.

``simulator calibrate LABELS.csv`` fits one (:mod:`simulator.grading.calibrator`); the grader applies it when
``SIM_CALIBRATION`` names the file. Applying is a weighted sum over the grade's own criterion results — no model
library, no randomness, microseconds per grade — and it only *remaps* scores: findings, criteria, red lines and
the raw scores are untouched, and what the grader left unscored stays unscored.

Features are read generically from whatever the grade holds, so a criterion added later (or a scenario's own
facts and steps) is used as soon as a profile is fitted with it:

* ``<dimension>:<criterion id>`` — the earned fraction of a scored criterion (``earned / points``, clamped to
  −1…1: deductions beyond the criterion's points count down to −1); unscored or absent = unknown;
* ``<dimension>`` — the dimension's raw score / 100; ``overall`` — the raw overall / 100;
* ``reaction`` — the customer's reaction score / 100 (overall target only; unknown when none was read);
* ``no-red-line`` — 1 when no red line was crossed, else 0.

An unknown value takes the mean of the rows the profile was fitted on (so it moves nothing). Every weight is ≥ 0:
earning more of any criterion never lowers a calibrated score.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from simulator.errors import SimulatorError, display_path
from simulator.grading.result import DIMENSIONS, Grade
from simulator.scenario.vocabulary import Dimension

PROFILE_VERSION = 1
OVERALL = "overall"
REACTION = "reaction"
NO_RED_LINE = "no-red-line"
# What a profile can remap: the overall score and each dimension's.
TARGETS: tuple[str, ...] = (OVERALL, *(d.value for d in DIMENSIONS))
# The red-line criterion only exists when a line was crossed; ``no-red-line`` carries it for every grade.
_SKIPPED_CRITERIA = frozenset({"red-line"})


def features(grade: Grade, target: str = OVERALL) -> dict[str, float]:
    """The known feature values of a grade for one target (see the module docstring); unknown ones are absent.

    The overall target reads every dimension; a dimension's target reads that dimension only (and red lines).
    """
    out: dict[str, float] = {}
    for dim, ds in grade.dimensions.items():
        if target != OVERALL and dim.value != target:
            continue
        raw = ds.raw_score
        if raw is not None:
            out[dim.value] = raw / 100.0
        for c in ds.criteria:
            if c.id in _SKIPPED_CRITERIA or c.earned is None or c.points <= 0:
                continue
            key = f"{dim.value}:{c.id}"
            value = max(-1.0, min(1.0, c.earned / c.points))
            out[key] = min(value, out.get(key, value))  # the same id twice in a dimension: the worse one
    if target == OVERALL and grade.raw_overall is not None:
        out[OVERALL] = grade.raw_overall / 100.0
    if target == OVERALL and grade.reaction is not None:
        out[REACTION] = grade.reaction.score / 100.0  # how the customer took it: the real-chat signal
    out[NO_RED_LINE] = 0.0 if grade.red_lines else 1.0
    return out


def raw_target(grade: Grade, target: str) -> float | None:
    """The grader's own (uncalibrated) 0–100 score for a target, or None when unscored."""
    if target == OVERALL:
        return grade.raw_overall
    return grade.dimensions[Dimension(target)].raw_score if Dimension(target) in grade.dimensions else None


@dataclass(frozen=True)
class Scale:
    """The human raters' scale: ``low`` maps to 0 and ``high`` to 100 on the grader's scale."""

    low: float
    high: float

    def to_grader(self, value: float) -> float:
        """A human-scale value as 0–100."""
        return 100.0 * (value - self.low) / (self.high - self.low)

    def from_grader(self, value: float) -> float:
        """A 0–100 value on the human scale."""
        return self.low + (self.high - self.low) * value / 100.0

    def clip(self, value: float) -> float:
        """Clamped to the scale."""
        return max(self.low, min(self.high, value))


@dataclass
class Model:
    """The fitted combination for one target: ``intercept + Σ weight × feature`` on the human scale.

    ``agreement`` holds the cross-validated figures measured when it was fitted (never on the rows it fitted).
    """

    target: str
    intercept: float
    weights: dict[str, float]
    means: dict[str, float]
    scale: Scale
    agreement: dict[str, Any] = field(default_factory=dict)

    def predict(self, values: dict[str, float]) -> float:
        """The human-scale score for these feature values (unknown ones at their fitted mean), clamped."""
        total = self.intercept
        for name, w in self.weights.items():
            total += w * values.get(name, self.means.get(name, 0.0))
        return self.scale.clip(total)

    def score(self, grade: Grade) -> float | None:
        """The calibrated 0–100 score of a grade, or None when the grader left this target unscored."""
        if raw_target(grade, self.target) is None:
            return None
        return round(self.scale.to_grader(self.predict(features(grade, self.target))), 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "intercept": round(self.intercept, 6),
            "weights": {k: round(v, 6) for k, v in sorted(self.weights.items())},
            "means": {k: round(v, 6) for k, v in sorted(self.means.items())},
            "scale": [self.scale.low, self.scale.high],
            "agreement": self.agreement,
        }

    @classmethod
    def from_dict(cls, target: str, data: dict[str, Any]) -> Model:
        """The inverse of :meth:`to_dict`."""
        low, high = (float(v) for v in data["scale"])
        if not high > low:
            raise ValueError(f"model '{target}': scale high ({high}) must be above low ({low})")
        weights = {str(k): float(v) for k, v in data["weights"].items()}
        if any(not math.isfinite(w) for w in weights.values()):
            raise ValueError(f"model '{target}': a weight is not a finite number")
        return cls(
            target=target,
            intercept=float(data["intercept"]),
            weights=weights,
            means={str(k): float(v) for k, v in data.get("means", {}).items()},
            scale=Scale(low, high),
            agreement=dict(data.get("agreement") or {}),
        )


@dataclass
class Profile:
    """A shop's calibration: one model per target the QA team scored, and how it was made."""

    models: dict[str, Model]
    created: str
    source: str
    n: int
    folds: int
    grader: str = ""
    notes: list[str] = field(default_factory=list)
    version: int = PROFILE_VERSION

    @cached_property
    def name(self) -> str:
        """Stored with each calibrated grade: the source file, the date and a digest of the weights."""
        return f"{self.source}@{self.created[:10]}#{self.digest}"

    @cached_property
    def digest(self) -> str:
        """Eight hex digits over the models (what decides the scores)."""
        body = json.dumps({t: m.to_dict() for t, m in sorted(self.models.items())}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:8]

    def apply(self, grade: Grade) -> Grade:
        """Remap the grade's scores in place (and return it); the raw scores stay readable as ``raw_*``."""
        for target, model in self.models.items():
            if target == OVERALL:
                grade.calibrated_overall = model.score(grade)
            else:
                dim = grade.dimensions.get(Dimension(target))
                if dim is not None:
                    dim.calibrated = model.score(grade)
        grade.calibration = self.name
        return grade

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what is saved)."""
        return {
            "version": self.version,
            "kind": "cs-simulator calibration profile",
            "created": self.created,
            "source": self.source,
            "n": self.n,
            "folds": self.folds,
            "grader": self.grader,
            "notes": self.notes,
            "models": {t: m.to_dict() for t, m in self.models.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """The inverse of :meth:`to_dict`; raises ValueError saying what is wrong."""
        if not isinstance(data, dict) or "models" not in data:
            raise ValueError("not a calibration profile (no 'models') — make one with `simulator calibrate`")
        version = int(data.get("version", 0))
        if version != PROFILE_VERSION:
            raise ValueError(f"profile version {version} is not supported (this grader reads {PROFILE_VERSION})")
        models = {}
        for target, body in data["models"].items():
            if target not in TARGETS:
                raise ValueError(f"unknown target '{target}' (one of {', '.join(TARGETS)})")
            models[target] = Model.from_dict(target, body)
        return cls(
            models=models,
            created=str(data.get("created", "")),
            source=str(data.get("source", "")),
            n=int(data.get("n", 0)),
            folds=int(data.get("folds", 0)),
            grader=str(data.get("grader", "")),
            notes=[str(x) for x in data.get("notes", [])],
            version=version,
        )

    def save(self, path: Path) -> None:
        """Write the profile as JSON (creating the folder)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def load_profile(path: Path) -> Profile:
    """Read a profile; raises :class:`SimulatorError` saying which file, what is wrong and how to fix it."""
    shown = display_path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SimulatorError(
            f"{shown}: no such calibration profile — run `simulator calibrate LABELS.csv --out {shown}` or unset "
            "SIM_CALIBRATION"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SimulatorError(f"{shown}: cannot read the calibration profile ({exc}) — make it again") from None
    try:
        return Profile.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise SimulatorError(
            f"{shown}: bad calibration profile: {exc} — make it again with `simulator calibrate`"
        ) from None
