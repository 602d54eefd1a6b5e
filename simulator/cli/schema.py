"""``simulator schema`` — print or write the scenario JSON Schema used by editors for autocomplete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.scenario.schema import schema_text, write_schema
from simulator.settings import Settings


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def schema(
        write: Annotated[bool, typer.Option("--write", help="Write scenarios/scenario.schema.json.")] = False,
        scenarios: Annotated[Path | None, typer.Option(help="Scenarios folder to write into.")] = None,
    ) -> None:
        """Print the scenario JSON Schema, or write it next to the scenarios (--write)."""
        if write:
            target = write_schema(scenarios or Settings().scenarios_dir)
            typer.echo(f"wrote {target}")
        else:
            typer.echo(schema_text(), nl=False)
