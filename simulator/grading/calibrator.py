"""Fitting a calibration profile to a QA team's scores, and measuring it honestly.

For each target the team scored (overall, and each dimension with enough labels) a ridge regression with
non-negative weights (SciPy's NNLS; folds from scikit-learn) learns how the grader's criterion results
(:func:`simulator.grading.calibration.features`) combine into the human score, on the human scale. Agreement is
measured by K-fold cross-validation: every figure "after" comes from predictions on rows the model did not see,
with the feature choice, the means and the regularisation strength chosen inside each training fold. Figures
reported:

* **before** — the grader as it is: Spearman ρ of its raw score with the human one, and the mean absolute error
  (MAE) once its 0–100 is laid linearly on the human scale;
* **rescaled** — MAE of a straight line from the raw score to the human scale (cross-validated): what fixing the
  scale alone would give, so a gain "after" beyond it is the criteria being re-weighed;
* **after** — ρ and MAE of the calibrated score, cross-validated.

Scales: ``Scale(low, high)`` maps the human scale onto 0–100. Given by the user (``--scale 1:5``), else 0–100 when
every label lies in 0–100 and one exceeds 5, else the labels' own minimum and maximum (printed, so a team that
scores 1–5 but never gave a 1 says ``--scale 1:5``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from simulator.errors import SimulatorError
from simulator.grading.calibration import TARGETS, Model, Profile, Scale, features, raw_target
from simulator.grading.result import Grade

MIN_ROWS = 20  # below this a target is not fitted
FEW_ROWS = 50  # below this the figures are flagged as rough
ALPHAS = (0.01, 0.1, 1.0, 10.0)
SEED = 0


@dataclass
class Row:
    """One labelled, graded conversation for one target."""

    values: dict[str, float]
    human: float
    raw: float


def infer_scale(values: Sequence[float]) -> Scale:
    """The human scale when the user did not give one (see the module docstring)."""
    lo, hi = min(values), max(values)
    if lo >= 0 and hi <= 100 and hi > 5:
        return Scale(0.0, 100.0)
    return Scale(lo, hi)


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(set(a)) < 2 or len(set(b)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = float(spearmanr(a, b).statistic)
    return None if np.isnan(rho) else round(rho, 3)


def _mae(pred: Sequence[float], human: Sequence[float]) -> float:
    return round(float(np.mean(np.abs(np.asarray(pred) - np.asarray(human)))), 3)


def _choose_features(rows: Sequence[Row]) -> tuple[list[str], dict[str, float]]:
    """Features known in enough rows and not constant there, with their means over those rows."""
    need = max(5, len(rows) // 10)
    known: dict[str, list[float]] = {}
    for r in rows:
        for k, v in r.values.items():
            known.setdefault(k, []).append(v)
    names = sorted(k for k, vs in known.items() if len(vs) >= need and max(vs) - min(vs) > 1e-9)
    means = {k: float(np.mean(known[k])) for k in names}
    return names, means


def _matrix(rows: Sequence[Row], names: Sequence[str], means: dict[str, float]) -> np.ndarray:
    return np.array([[r.values.get(k, means[k]) for k in names] for r in rows], dtype=float).reshape(
        len(rows), len(names)
    )


def _ridge(rows: Sequence[Row], alpha: float) -> Model | None:
    """A ridge fit with non-negative weights on these rows (None when no feature varies): centred, it is a
    non-negative least-squares problem on the rows stacked over ``√alpha · I`` (the intercept stays free)."""
    from scipy.optimize import nnls

    names, means = _choose_features(rows)
    if not names:
        return None
    x = _matrix(rows, names, means)
    y = np.array([r.human for r in rows])
    x_mean, y_mean = x.mean(axis=0), float(y.mean())
    a = np.vstack([x - x_mean, np.sqrt(alpha) * np.eye(len(names))])
    b = np.concatenate([y - y_mean, np.zeros(len(names))])
    coef, _ = nnls(a, b)
    weights = {k: float(w) for k, w in zip(names, coef, strict=True) if w > 1e-12}
    intercept = y_mean - float(np.dot(coef, x_mean))
    return Model("", intercept, weights, means, Scale(0.0, 1.0))


def _folds(n: int, k: int, seed: int = SEED) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import KFold

    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n)))


def _fit(rows: Sequence[Row], scale: Scale, inner: int = 3) -> Model:
    """The model for these rows, its strength chosen by an inner cross-validation on them alone."""
    best_alpha, best = ALPHAS[-1], float("inf")
    if len(rows) >= 2 * inner:
        for alpha in ALPHAS:
            errs: list[float] = []
            for train, test in _folds(len(rows), inner, seed=SEED + 1):
                m = _ridge([rows[i] for i in train], alpha)
                if m is None:
                    continue
                m.scale = scale
                errs += [abs(m.predict(rows[i].values) - rows[i].human) for i in test]
            if errs and float(np.mean(errs)) < best - 1e-12:
                best_alpha, best = alpha, float(np.mean(errs))
    model = _ridge(rows, best_alpha)
    if model is None:  # nothing varies: the mean human score
        model = Model("", float(np.mean([r.human for r in rows])), {}, {}, scale)
    model.scale = scale
    model.agreement["alpha"] = best_alpha
    return model


def _rescaled(train: Sequence[Row], scale: Scale) -> tuple[float, float]:
    """Slope and intercept of the straight line from the raw 0–100 score to the human scale."""
    raw = np.array([r.raw for r in train])
    human = np.array([r.human for r in train])
    if float(np.ptp(raw)) < 1e-9:
        return 0.0, float(np.mean(human))
    slope, intercept = np.polyfit(raw, human, 1)
    return float(slope), float(intercept)


def measure(rows: Sequence[Row], scale: Scale, folds: int) -> dict[str, Any]:
    """Before, rescaled and after agreement for one target, after by K-fold cross-validation."""
    human = [r.human for r in rows]
    raw = [r.raw for r in rows]
    after = [0.0] * len(rows)
    rescaled = [0.0] * len(rows)
    for train, test in _folds(len(rows), folds):
        part = [rows[i] for i in train]
        model = _fit(part, scale)
        slope, intercept = _rescaled(part, scale)
        for i in test:
            after[i] = model.predict(rows[i].values)
            rescaled[i] = scale.clip(slope * rows[i].raw + intercept)
    return {
        "n": len(rows),
        "folds": folds,
        "human_mean": round(float(np.mean(human)), 3),
        "before": {"spearman": _spearman(raw, human), "mae": _mae([scale.from_grader(v) for v in raw], human)},
        "rescaled": {"spearman": _spearman(rescaled, human), "mae": _mae(rescaled, human)},
        "after": {"spearman": _spearman(after, human), "mae": _mae(after, human)},
    }


def rows_for(grades: Sequence[Grade], labels: Sequence[dict[str, float]], target: str) -> list[Row]:
    """The rows with a human score for the target that the grader scored."""
    out = []
    for grade, scores in zip(grades, labels, strict=True):
        raw = raw_target(grade, target)
        if target in scores and raw is not None:
            out.append(Row(features(grade, target), scores[target], raw))
    return out


def fit_profile(
    grades: Sequence[Grade],
    labels: Sequence[dict[str, float]],
    *,
    folds: int = 5,
    scale: Scale | None = None,
    source: str = "",
    grader: str = "",
    now: datetime | None = None,
) -> Profile:
    """Fit and measure a profile; raises :class:`SimulatorError` when no target has enough rows.

    Args:
        grades: The raw grades (a grader without a profile) of the labelled conversations.
        labels: Per conversation, target → human score.
        folds: K of the cross-validation (at least 2; fewer when there are few rows).
        scale: The human scale; inferred per target when None.
    """
    if folds < 2:
        raise SimulatorError(f"--folds {folds}: cross-validation needs at least 2 folds")
    models: dict[str, Model] = {}
    notes: list[str] = []
    for target in TARGETS:
        rows = rows_for(grades, labels, target)
        given = sum(1 for s in labels if target in s)
        if not given:
            continue
        if given > len(rows):
            notes.append(f"{target}: {given - len(rows)} labelled conversation(s) the grader left unscored, left out")
        if len(rows) < MIN_ROWS:
            notes.append(f"{target}: {len(rows)} usable row(s), fewer than {MIN_ROWS} — not calibrated")
            continue
        tscale = scale or infer_scale([r.human for r in rows])
        if not tscale.high > tscale.low:
            notes.append(f"{target}: every human score is {tscale.low:g} — nothing to calibrate to")
            continue
        outside = sum(1 for r in rows if not tscale.low <= r.human <= tscale.high)
        if outside:
            raise SimulatorError(
                f"{target}: {outside} human score(s) outside the scale {tscale.low:g}–{tscale.high:g} — fix --scale"
            )
        k = max(2, min(folds, len(rows) // 5))
        if k < folds:
            notes.append(f"{target}: {k} folds instead of {folds} (only {len(rows)} rows)")
        if len(rows) < FEW_ROWS:
            notes.append(f"{target}: only {len(rows)} rows — the figures are rough; 100 or more are better")
        agreement = measure(rows, tscale, k)
        model = _fit(rows, tscale)
        model.target = target
        model.agreement = {**agreement, "alpha": model.agreement.get("alpha")}
        if (
            agreement["after"]["mae"] > agreement["before"]["mae"]
            and agreement["after"]["mae"] > agreement["rescaled"]["mae"]
        ):
            notes.append(f"{target}: calibrating does not improve agreement on held-out rows — consider not using it")
        models[target] = model
    if not models:
        raise SimulatorError(
            "nothing to calibrate: "
            + ("; ".join(notes) or "no labelled conversation")
            + f" — label at least {MIN_ROWS} conversations the grader scores"
        )
    n = max(m.agreement["n"] for m in models.values())
    created = (now or datetime.now(UTC)).replace(microsecond=0).isoformat()
    return Profile(models=models, created=created, source=source, n=n, folds=folds, grader=grader, notes=notes)
