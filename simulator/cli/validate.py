"""``simulator validate`` — compiler-style checks of scenario YAML and knowledge Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from simulator.errors import Problem, display_path
from simulator.exam.catalogue import ExamSet, exam_files, load_exam_set
from simulator.knowledge.documents import DOC_SUFFIXES, load_documents
from simulator.scenario.loader import SCENARIO_SUFFIXES, LoadedScenario, load_scenarios
from simulator.settings import Settings


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def validate_paths(
    paths: list[Path], knowledge: Path | None, *, require_references: bool, scenarios_dir: Path | None = None
) -> tuple[list[Problem], int, int, int, int]:
    """Validate scenarios, documents, exams and question banks under ``paths``; returns (problems, n_scenarios,
    n_documents, n_exams, n_banks).

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
    knowledge_texts: dict[str, str] | None = None
    if knowledge is not None and knowledge.is_dir():
        kb = docs if knowledge in paths else load_documents([knowledge])
        knowledge_ids = kb.ids
        knowledge_texts = {k: d.body for k, d in kb.documents.items()}
    scenarios = load_scenarios(
        scen_paths, knowledge_ids=knowledge_ids, require_references=require_references, knowledge_texts=knowledge_texts
    )
    problems = docs.problems + scenarios.problems
    n_scen = len(scenarios.scenarios)
    exams = validate_exams(paths, knowledge, knowledge_ids, scenarios_dir, scenarios.scenarios)
    problems += exams.problems
    return problems, n_scen, len(docs.documents), len(exams.exams), len(exams.banks)


def validate_exams(
    paths: list[Path],
    knowledge: Path | None,
    knowledge_ids: set[str] | None,
    scenarios_dir: Path | None,
    loaded: dict[str, LoadedScenario],
) -> ExamSet:
    """The exam files and question banks under ``paths``, checked against every bank in the knowledge folder and
    every scenario (those loaded, or the scenarios folder's)."""
    exam_paths, bank_paths = exam_files(paths)
    if not exam_paths and not bank_paths:
        return ExamSet()
    all_banks = exam_files([knowledge])[1] if knowledge is not None and knowledge.is_dir() else []
    banks = list(dict.fromkeys([*bank_paths, *all_banks]))
    scenarios = {k: v.scenario for k, v in loaded.items()}
    if scenarios_dir is not None and scenarios_dir.is_dir() and not any(_inside(scenarios_dir, p) for p in paths):
        scenarios = {k: v.scenario for k, v in load_scenarios([scenarios_dir]).scenarios.items()}
    found = load_exam_set(exam_paths, banks, scenarios=scenarios, knowledge_ids=knowledge_ids)
    shown = {display_path(p) for p in [*exam_paths, *bank_paths]}
    found.problems = [p for p in found.problems if p.path in shown]  # banks only read for reference stay quiet
    return found


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
        """Check scenarios, knowledge documents, exams and question banks; print every problem as path:line:col and
        exit 1 if any."""
        settings = Settings()
        targets = paths or [settings.scenarios_dir, settings.knowledge_dir]
        kdir = knowledge or settings.knowledge_dir
        problems, n_scen, n_docs, n_exams, n_banks = validate_paths(
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
                        "exams": n_exams,
                        "question_banks": n_banks,
                        "problems": [p.to_dict() for p in problems],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            for p in problems:
                typer.echo(p.format(), err=False)
            summary = f"{n_scen} scenario(s), {n_docs} document(s), {n_exams} exam(s), {n_banks} question bank(s): "
            summary += f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s)"
            typer.secho(summary, fg=typer.colors.RED if errors else typer.colors.GREEN, err=True)
        raise typer.Exit(1 if errors else 0)
