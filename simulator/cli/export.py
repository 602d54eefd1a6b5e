"""``simulator export attempts|findings|plans`` — the analytics as CSV (UTF-8 with BOM, opens in Excel)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from simulator.settings import Settings


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def export(
        what: Annotated[str, typer.Argument(help="attempts, findings or plans.")],
        days: Annotated[int, typer.Option(min=1, max=3660, help="The last N days (attempts, findings).")] = 30,
        shop: Annotated[str | None, typer.Option(help="Only this shop.")] = None,
        output: Annotated[Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")] = None,
    ) -> None:
        """Export attempts, findings or training plans as CSV (everyone's: run it on the server)."""
        from simulator.analytics import export as csv_export
        from simulator.analytics.scope import Filters
        from simulator.errors import SimulatorError
        from simulator.store import open_database

        if what not in csv_export.KINDS:
            raise SimulatorError(f"cannot export {what!r} — use one of {', '.join(csv_export.KINDS)}")
        settings = Settings()
        db = open_database(settings.sqlalchemy_url, create_dir=settings.ensure_data_dir())
        filters = Filters(days=days, shop=shop)
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            with db.read() as s:
                if what == "plans":
                    lines = csv_export.plans(s, None, settings.timezone)
                else:
                    lines = getattr(csv_export, what)(s, None, filters, settings.timezone)
                for line in lines:
                    out.write(line)
        finally:
            if output:
                out.close()
            db.dispose()
