"""``simulator grade PATH… [--scenario S] [--json]`` — grade transcripts offline (or with an LLM judge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from simulator.engine import Engine
from simulator.errors import Problem, SimulatorError
from simulator.knowledge.lazy import LazyKnowledge
from simulator.scenario.model import Scenario
from simulator.settings import Settings


def grading_engine(
    settings: Settings, *, use_kb: bool, judge: bool = False, pass_mark: float | None = None, scripted: bool = False
) -> Engine:
    """The engine ``grade`` and ``check`` use: the knowledge base when asked for and built (a note on stderr
    otherwise), the LLM judge when asked for, the pass mark given; ``scripted`` ignores a configured LLM
    customer."""
    if scripted:
        settings = settings.model_copy(update={"llm_base_url": None})
    llm_judge = None
    if judge:
        if not settings.llm_base_url:
            raise SimulatorError("--judge needs an LLM endpoint: set SIM_LLM_BASE_URL (and SIM_LLM_MODEL)")
        from simulator.grading.judge import LLMJudge
        from simulator.llm.openai_compatible import OpenAIChatModel

        llm_judge = LLMJudge(OpenAIChatModel.from_settings(settings), samples=settings.judge_samples)
    engine = Engine(settings, knowledge_index=use_kb, embeddings=use_kb, judge=llm_judge, pass_mark=pass_mark)
    if use_kb and engine.knowledge_base() is None:
        why = engine.knowledge.failure if isinstance(engine.knowledge, LazyKnowledge) else None
        typer.secho(
            f"note: knowledge base not available ({why}); knowledge is checked against the scenario only",
            err=True,
            fg=typer.colors.YELLOW,
        )
        engine = Engine(settings, knowledge_index=False, embeddings=False, judge=llm_judge, pass_mark=pass_mark)
    return engine


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def grade(
        paths: Annotated[list[Path], typer.Argument(help="Transcript files: .json (one or a list) or .jsonl.")],
        scenario: Annotated[
            str | None,
            typer.Option(help="Scenario id or YAML file; default: each transcript's 'scenario', else generic."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON result per line.")] = False,
        kb: Annotated[bool, typer.Option(help="Use the built knowledge base (simulator kb build).")] = True,
        judge: Annotated[bool, typer.Option(help="Also ask the LLM judge (needs SIM_LLM_BASE_URL).")] = False,
        pass_mark: Annotated[float | None, typer.Option(help="Pass mark (default: SIM_PASS_MARK, 80).")] = None,
    ) -> None:
        """Grade one or many transcripts in one process; prints overall and per-dimension scores with findings."""
        from simulator.grading.report import render
        from simulator.transcript import read_transcripts

        engine = grading_engine(Settings(), use_kb=kb, judge=judge, pass_mark=pass_mark)
        scenarios: dict[str, Scenario] = {}

        def scenario_of(ref: str | None) -> Scenario | None:
            if not ref:
                return None
            if ref not in scenarios:
                scenarios[ref] = engine.scenarios.resolve(ref).scenario
            return scenarios[ref]

        fixed = scenario_of(scenario)
        problems: list[Problem] = []
        graded = 0
        for path in paths:
            transcripts, file_problems = read_transcripts(path)
            problems += file_problems
            for t in transcripts:
                result = engine.grade(t, fixed or scenario_of(t.scenario))
                graded += 1
                if as_json:
                    sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
                else:
                    typer.echo(render(result) + "\n")
        for p in problems:
            typer.secho(p.format(), err=True, fg=typer.colors.RED)
        if not as_json:
            typer.secho(f"{graded} transcript(s) graded, {len(problems)} problem(s)", err=True)
        raise typer.Exit(1 if problems else 0)
