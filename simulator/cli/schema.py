"""``simulator schema`` — print or write the scenario JSON Schema used by editors for autocomplete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.scenario.schema import schema_text, update_guide, write_schema
from simulator.settings import Settings


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def schema(
        write: Annotated[bool, typer.Option("--write", help="Write scenarios/scenario.schema.json.")] = False,
        guide: Annotated[
            bool, typer.Option("--guide", help="Regenerate the field reference in scenarios/README.md.")
        ] = False,
        scenarios: Annotated[Path | None, typer.Option(help="Scenarios folder to write into.")] = None,
    ) -> None:
        """Print the scenario JSON Schema, or write it (and the guide's field reference) into scenarios/."""
        folder = scenarios or Settings().scenarios_dir
        if write or guide:
            if write:
                typer.echo(f"wrote {write_schema(folder)}")
            if guide:
                changed = update_guide(folder / "README.md")
                typer.echo(f"{'updated' if changed else 'unchanged'} {folder / 'README.md'}")
        else:
            typer.echo(schema_text(), nl=False)
