"""``simulator grade PATH… [--scenario S] [--json]`` — grade transcripts offline (or with an LLM judge)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from simulator.errors import Problem, SimulatorError
from simulator.settings import Settings


def open_knowledge(settings: Settings, use_kb: bool) -> tuple[object | None, object | None, str]:
    """(retriever, embedder, notice): the built knowledge base and its embedder, or (None, None, why)."""
    if not use_kb:
        return None, None, "knowledge base not used (--no-kb)"
    from simulator.knowledge.base import KnowledgeBase

    try:
        kb = KnowledgeBase.open(settings)
        kb.load()
    except SimulatorError as exc:
        return None, None, f"knowledge base not available ({exc}); knowledge is checked against the scenario only"
    return kb, kb.embedder, ""


def resolve_scenario(name: str | None, settings: Settings, cache: dict[str, object]) -> object | None:
    """A scenario from an id (searched in the scenarios folder) or a YAML path; None for None."""
    if not name:
        return None
    if name in cache:
        return cache[name]
    from simulator.scenario.loader import find_scenario, load_scenario

    if name.endswith((".yaml", ".yml")) or Path(name).is_file():
        scenario = load_scenario(name)
    else:
        scenario = find_scenario(name, [settings.scenarios_dir]).scenario
    cache[name] = scenario
    return scenario


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
        from simulator.grading.grader import Grader
        from simulator.grading.report import render
        from simulator.transcript import read_transcripts

        settings = Settings()
        retriever, embedder, notice = open_knowledge(settings, kb)
        if notice:
            typer.secho(f"note: {notice}", err=True, fg=typer.colors.YELLOW)
        llm_judge = None
        if judge:
            if not settings.llm_base_url:
                raise SimulatorError("--judge needs an LLM endpoint: set SIM_LLM_BASE_URL (and SIM_LLM_MODEL)")
            from simulator.grading.judge import LLMJudge
            from simulator.llm.openai_compatible import OpenAIChatModel

            llm_judge = LLMJudge(OpenAIChatModel.from_settings(settings), samples=settings.judge_samples)
        grader = Grader(
            settings,
            retriever=retriever,  # type: ignore[arg-type]
            embedder=embedder,  # type: ignore[arg-type]
            judge=llm_judge,
            pass_mark=pass_mark,
        )
        cache: dict[str, object] = {}
        fixed = resolve_scenario(scenario, settings, cache)
        problems: list[Problem] = []
        graded = 0
        for path in paths:
            transcripts, file_problems = read_transcripts(path)
            problems += file_problems
            for t in transcripts:
                scen = fixed if fixed is not None else resolve_scenario(t.scenario, settings, cache)
                result = grader.grade(t, scen)  # type: ignore[arg-type]
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
