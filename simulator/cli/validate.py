"""``simulator validate`` — compiler-style checks of scenario YAML and knowledge Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from simulator.errors import Problem
from simulator.knowledge.documents import DOC_SUFFIXES, load_documents
from simulator.scenario.loader import SCENARIO_SUFFIXES, load_scenarios
from simulator.settings import Settings


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def validate_paths(
    paths: list[Path], knowledge: Path | None, *, require_references: bool, scenarios_dir: Path | None = None
) -> tuple[list[Problem], int, int]:
    """Validate scenarios and documents under ``paths``; returns (problems, n_scenarios, n_documents).

    Markdown inside the scenarios folder (its authoring guide) is documentation, not knowledge.
    """
    doc_paths = [
        p
        for p in paths
        if (p.is_dir() and not (scenarios_dir and _inside(p, scenarios_dir))) or p.suffix.lower() in DOC_SUFFIXES
    ]
    scen_paths = [p for p in paths if p.is_dir() or p.suffix.lower() in SCENARIO_SUFFIXES or not p.exists()]
    docs = load_documents(doc_paths)
    knowledge_ids: set[str] | None = None
    if knowledge is not None and knowledge.is_dir():
        kb = docs if knowledge in paths else load_documents([knowledge])
        knowledge_ids = kb.ids
    scenarios = load_scenarios(scen_paths, knowledge_ids=knowledge_ids, require_references=require_references)
    problems = docs.problems + scenarios.problems
    n_scen = len(scenarios.scenarios)
    return problems, n_scen, len(docs.documents)


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def validate(
        paths: Annotated[
            list[Path] | None,
            typer.Argument(help="Scenario files, knowledge files or folders (default: scenarios/ and knowledge/)."),
        ] = None,
        knowledge: Annotated[
            Path | None, typer.Option(help="Knowledge folder whose ids scenarios may reference.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        references: Annotated[
            bool, typer.Option(help="Require good/bad reference trainees in every scenario.")
        ] = False,
    ) -> None:
        """Check scenarios and knowledge documents; print every problem as path:line:col and exit 1 if any."""
        settings = Settings()
        targets = paths or [settings.scenarios_dir, settings.knowledge_dir]
        kdir = knowledge or settings.knowledge_dir
        problems, n_scen, n_docs = validate_paths(
            list(targets), kdir, require_references=references, scenarios_dir=settings.scenarios_dir
        )
        errors = [p for p in problems if p.severity == "error"]
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "ok": not errors,
                        "scenarios": n_scen,
                        "documents": n_docs,
                        "problems": [p.to_dict() for p in problems],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            for p in problems:
                typer.echo(p.format(), err=False)
            summary = f"{n_scen} scenario(s), {n_docs} document(s): "
            summary += f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
            typer.secho(summary, fg=typer.colors.RED if errors else typer.colors.GREEN, err=True)
        raise typer.Exit(1 if errors else 0)
