"""``simulator schema`` — print or write the scenario JSON Schema used by editors for autocomplete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.exam.schema import update_guide as update_exam_guide
from simulator.exam.schema import write_schemas as write_exam_schemas
from simulator.scenario.schema import schema_text, update_guide, write_schema
from simulator.settings import REPO_ROOT, Settings


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def schema(
        write: Annotated[
            bool,
            typer.Option(
                "--write", help="Write scenarios/scenario.schema.json, exam.schema.json and question-bank.schema.json."
            ),
        ] = False,
        guide: Annotated[
            bool,
            typer.Option("--guide", help="Regenerate the field references in scenarios/README.md and docs/exams.md."),
        ] = False,
        scenarios: Annotated[Path | None, typer.Option(help="Scenarios folder to write into.")] = None,
    ) -> None:
        """Print the scenario JSON Schema, or write the scenario, exam and question-bank schemas (and the guides'
        field references)."""
        folder = scenarios or Settings().scenarios_dir
        if write or guide:
            if write:
                typer.echo(f"wrote {write_schema(folder)}")
                for path in write_exam_schemas(folder):
                    typer.echo(f"wrote {path}")
            if guide:
                changed = update_guide(folder / "README.md")
                typer.echo(f"{'updated' if changed else 'unchanged'} {folder / 'README.md'}")
                exams_doc = REPO_ROOT / "docs" / "exams.md"
                if exams_doc.is_file():
                    changed = update_exam_guide(exams_doc)
                    typer.echo(f"{'updated' if changed else 'unchanged'} {exams_doc}")
        else:
            typer.echo(schema_text(), nl=False)
