"""``simulator calibrate LABELS.csv`` — fit the grader to a shop's own QA team and save a calibration profile.

The labelled conversations are graded as the grader stands (no profile), a non-negative ridge regression learns how
the criterion results combine into the team's scores, agreement before and after is measured by K-fold
cross-validation (never on the rows it fitted), and the profile is saved for ``SIM_CALIBRATION``. See
docs/grading.md, "Calibration".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from simulator.errors import SimulatorError, display_path
from simulator.scenario.model import Scenario
from simulator.settings import Settings


def parse_scale(text: str | None) -> Any:
    """``LO:HI`` (e.g. ``1:5``, ``-2:2``, ``0:100``) as a Scale, or None."""
    from simulator.grading.calibration import Scale

    if text is None:
        return None
    lo, sep, hi = text.partition(":")
    try:
        if not sep:
            raise ValueError
        scale = Scale(float(lo), float(hi))
    except ValueError:
        raise SimulatorError(f"--scale '{text}': expected LOW:HIGH, e.g. 1:5 or 0:100") from None
    if not scale.high > scale.low:
        raise SimulatorError(f"--scale '{text}': HIGH must be above LOW")
    return scale


def _fmt(v: float | None, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def summary(profile: Any) -> str:
    """The agreement table a person reads."""
    lines = [
        f"{'target':<10} {'n':>5} {'scale':>11}  {'ρ before':>9} {'ρ after':>8}  "
        f"{'MAE before':>10} {'rescaled':>9} {'after':>8}"
    ]
    for target, m in profile.models.items():
        a = m.agreement
        scale = f"{m.scale.low:g}–{m.scale.high:g}"
        lines.append(
            f"{target:<10} {a['n']:>5} {scale:>11}  {_fmt(a['before']['spearman']):>9} "
            f"{_fmt(a['after']['spearman']):>8}  {_fmt(a['before']['mae']):>10} "
            f"{_fmt(a['rescaled']['mae']):>9} {_fmt(a['after']['mae']):>8}"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def calibrate(
        labels: Annotated[Path, typer.Argument(help="CSV: transcript (file or id), score, optional per dimension.")],
        transcripts: Annotated[
            list[Path] | None,
            typer.Option("--transcripts", "-t", help="Transcript files whose ids the CSV names (repeatable)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="Where to save the profile (default: DATA_DIR/calibration.json).")
        ] = None,
        folds: Annotated[int, typer.Option(help="K of the K-fold cross-validation.")] = 5,
        scale: Annotated[
            str | None,
            typer.Option(help="The human scale LOW:HIGH (e.g. 1:5); default 0:100 when labels fit it, else min:max."),
        ] = None,
        kb: Annotated[bool, typer.Option(help="Use the built knowledge base (as the product grades).")] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
    ) -> None:
        """Fit how the grader's criteria combine into your QA team's scores; report agreement before and after
        (cross-validated) and save a profile the grader applies when SIM_CALIBRATION names it."""
        from simulator.cli.grade import grading_engine
        from simulator.grading.calibrator import fit_profile
        from simulator.grading.labels import read_labels

        settings = Settings()
        human_scale = parse_scale(scale)
        rows, problems = read_labels(labels, transcripts or [])
        for p in problems:
            typer.secho(p.format(), err=True, fg=typer.colors.RED)
        if not rows:
            raise SimulatorError(f"{display_path(labels)}: no usable labelled conversation")
        engine = grading_engine(settings.model_copy(update={"calibration": None}), use_kb=kb, scripted=True)
        scenarios: dict[str, Scenario | None] = {}
        grades, targets = [], []
        for row in rows:
            ref = row.transcript.scenario
            if ref and ref not in scenarios:
                try:
                    scenarios[ref] = engine.scenarios.resolve(ref).scenario
                except SimulatorError as exc:
                    typer.secho(
                        f"{display_path(labels)}:{row.line}:0: scenario '{ref}' not found ({exc}); graded without one",
                        err=True,
                        fg=typer.colors.YELLOW,
                    )
                    scenarios[ref] = None
            grades.append(engine.grade(row.transcript, scenarios.get(ref) if ref else None))
            targets.append(row.scores)
        profile = fit_profile(
            grades,
            targets,
            folds=folds,
            scale=human_scale,
            source=labels.name,
            grader=engine.grader().version,
        )
        path = out or settings.ensure_data_dir() / "calibration.json"
        profile.save(path)
        if as_json:
            sys.stdout.write(json.dumps(profile.to_dict(), ensure_ascii=False) + "\n")
        else:
            typer.echo(summary(profile))
            for note in profile.notes:
                typer.secho(f"note: {note}", fg=typer.colors.YELLOW)
        typer.secho(
            f"{len(rows)} labelled conversation(s), {len(problems)} problem(s); profile saved to {display_path(path)} "
            f"— apply it with SIM_CALIBRATION={path}",
            err=True,
        )
