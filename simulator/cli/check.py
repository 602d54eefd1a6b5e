"""``simulator check`` — scenario CI: every scenario's good reference passes, its bad reference fails.

Each reference trainee is played through the scripted customer and graded: the good one must reach an
expected outcome and pass; the bad one must reach an expected outcome and fail (below the pass mark or a red
line); every id in ``expect_findings`` must appear among the lost criteria, findings or red lines.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from simulator.engine import Engine
from simulator.scenario.loader import LoadedScenario
from simulator.scenario.model import Scenario
from simulator.session import play_reference
from simulator.settings import Settings


@dataclass
class CheckResult:
    """One reference trainee of one scenario."""

    scenario: str
    side: str
    outcome: str | None
    overall: float | None
    passed: bool | None
    lost: list[str]
    problems: list[str] = field(default_factory=list)
    variant: str | None = None  # exam scenarios: the drawn case and seed ("m-165 seed 1000")

    @property
    def ok(self) -> bool:
        """True when the reference behaved as the scenario says."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "scenario": self.scenario,
            "side": self.side,
            "outcome": self.outcome,
            "overall": self.overall,
            "passed": self.passed,
            "lost": self.lost,
            "ok": self.ok,
            "problems": self.problems,
            "variant": self.variant,
        }


def check_scenarios(
    engine: Engine, scenarios_dir: Path | None = None, *, variants: int = 0
) -> tuple[list[CheckResult], list[str]]:
    """Play and grade both references of every scenario under ``scenarios_dir`` (default: the engine's) — and of
    every scenario an exam plays, through ``variants`` drawn variants too (every declared case at least once).

    Returns:
        The results, and load problems (files that did not validate or lack references).
    """
    from simulator.scenario.loader import load_scenarios

    loaded = load_scenarios([scenarios_dir or engine.settings.scenarios_dir], require_references=True)
    load_problems = [p.format() for p in loaded.problems if p.severity == "error"]
    results: list[CheckResult] = []
    exam_ids = exam_scenario_ids(engine.settings, loaded.scenarios) if variants > 0 else set()
    for sid, item in sorted(loaded.scenarios.items()):
        scenario = item.scenario
        if scenario.references is None:
            continue
        draws: list[tuple[str | None, dict[str, str] | None]] = [(None, None)]
        if sid in exam_ids:
            from simulator.exam.variants import check_variants

            seen = [scenario.variable_values()]
            for v in check_variants(scenario, variants, day=date.today()):
                if v.values not in seen:  # a scenario without variables has one variant: play it once
                    seen.append(v.values)
                    draws.append((f"{v.case or 'draw'} seed {v.seed}", v.values))
        for label, values in draws:
            for side in ("good", "bad"):
                results.append(_check_one(engine, sid, scenario, side, label, values))
    return results, load_problems


def _check_one(
    engine: Engine, sid: str, scenario: Scenario, side: str, label: str | None, values: dict[str, str] | None
) -> CheckResult:
    assert scenario.references is not None
    ref = getattr(scenario.references, side)
    session = play_reference(scenario, ref, engine.customer(scenario), variables=values)
    transcript = session.transcript()
    grade = engine.grade(transcript, scenario, session.variables)
    lost = sorted(grade.lost_ids())
    r = CheckResult(sid, side, transcript.outcome, grade.overall, grade.passed, lost, variant=label)
    if transcript.outcome not in [o.value for o in ref.expect_outcome]:
        r.problems.append(f"outcome {transcript.outcome} not in expect_outcome {[o.value for o in ref.expect_outcome]}")
    if side == "good" and grade.passed is not True:
        reasons = [f"{f.dimension.value}/{f.criterion} -{f.points:g}" for f in grade.findings()]
        reasons += [f"red line {f.red_line}" for f in grade.red_lines]
        r.problems.append(f"good reference does not pass ({grade.overall}): {', '.join(reasons)}")
    if side == "bad" and grade.passed is not False:
        r.problems.append(f"bad reference passes ({grade.overall})")
    missing = [x for x in ref.expect_findings if x not in grade.lost_ids()]
    if missing:
        r.problems.append(f"expected findings not reported: {', '.join(missing)}")
    return r


def exam_scenario_ids(settings: Settings, scenarios: Mapping[str, LoadedScenario]) -> set[str]:
    """Scenarios some exam plays (listed, or in a pool it draws from)."""
    from simulator.exam.catalogue import EXAMS_FOLDER, exam_files, load_exam_set, pool_candidates
    from simulator.exam.definition import PartKind

    exams, _ = exam_files([settings.scenarios_dir / EXAMS_FOLDER])
    _, banks = exam_files([settings.knowledge_dir])
    plain = {k: v.scenario for k, v in scenarios.items()}
    found = load_exam_set(exams, banks, scenarios=plain, knowledge_ids=None)
    out: set[str] = set()
    for e in found.exams.values():
        for part in e.exam.parts:
            if part.kind is PartKind.ROLEPLAY:
                out.update(part.scenarios)
                if part.pool is not None:
                    out.update(pool_candidates(e.exam, part.pool, plain, part.edge_cases))
    return out


def check_engine(settings: Settings, *, use_kb: bool = False, pass_mark: float | None = None) -> Engine:
    """The engine ``check`` plays references with: the scripted customer always; keywords only, unless ``use_kb``
    adds the embedder and the built knowledge base."""
    from simulator.cli.grade import grading_engine

    return grading_engine(settings, use_kb=use_kb, pass_mark=pass_mark, scripted=True)


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def check(
        scenarios: Annotated[Path | None, typer.Option(help="Scenario folder (default: scenarios/).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        kb: Annotated[bool, typer.Option(help="Also check knowledge against the built knowledge base.")] = False,
        pass_mark: Annotated[float | None, typer.Option(help="Pass mark (default: SIM_PASS_MARK, 80).")] = None,
        variants: Annotated[
            int, typer.Option(help="Drawn variants to play for every scenario an exam uses (0 = none).")
        ] = 3,
    ) -> None:
        """Play every scenario's good and bad reference through the scripted customer and the grader."""
        engine = check_engine(Settings(), use_kb=kb, pass_mark=pass_mark)
        results, load_problems = check_scenarios(engine, scenarios, variants=variants)
        failed = [r for r in results if not r.ok]
        if as_json:
            out = {
                "ok": not failed and not load_problems,
                "results": [r.to_dict() for r in results],
                "load_problems": load_problems,
            }
            typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        else:
            for p in load_problems:
                typer.secho(p, fg=typer.colors.RED, err=True)
            for r in results:
                mark = "ok  " if r.ok else "FAIL"
                score = "—" if r.overall is None else f"{r.overall:5.1f}"
                variant = f"  [{r.variant}]" if r.variant else ""
                typer.echo(f"{mark} {r.scenario:<45} {r.side:<4} {score}  outcome={r.outcome}{variant}")
                for p in r.problems:
                    typer.secho(f"       {p}", fg=typer.colors.RED)
            colour = typer.colors.RED if failed or load_problems else typer.colors.GREEN
            n = len({r.scenario for r in results})
            typer.secho(f"{n} scenario(s), {len(results)} reference(s), {len(failed)} failing", fg=colour, err=True)
        raise typer.Exit(1 if failed or load_problems else 0)
