"""``simulator import FILE…`` — bring a shop's real chats in (JSON/JSONL, CSV, plain-text chat logs), map the
agents to accounts, and QA-grade them with a progress bar (``--no-grade`` leaves that to the server or to
``simulator qa``). All or nothing: a file with an error imports nothing and every problem is listed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.settings import Settings


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command("import")
    def import_(
        paths: Annotated[list[Path], typer.Argument(help="Chat files: .json/.jsonl, .csv/.tsv, or a text log.")],
        format: Annotated[
            str | None, typer.Option("--format", help="json, csv or text (default: from each file's suffix).")
        ] = None,
        shop: Annotated[str, typer.Option(help="Shop the chats come from (when the file does not say).")] = "",
        agent: Annotated[
            list[str] | None,
            typer.Option("--agent", help="Map an agent name in the logs to an account: 'NAME=username' (repeat)."),
        ] = None,
        create_agents: Annotated[
            bool, typer.Option("--create-agents", help="Create trainee accounts for agents with none.")
        ] = False,
        group: Annotated[str | None, typer.Option(help="Put the agents in this group (its name).")] = None,
        line_pattern: Annotated[
            str | None, typer.Option(help="Text logs: regex of a speaker/time line (groups speaker, time[, text]).")
        ] = None,
        agent_pattern: Annotated[
            str | None, typer.Option(help="Text logs: regex matching the agents' speaker names.")
        ] = None,
        separator: Annotated[
            str | None, typer.Option(help="Text logs: regex of a line that separates conversations.")
        ] = None,
        gap_minutes: Annotated[
            float | None, typer.Option(help="Text logs: silence (minutes) that starts a new conversation.")
        ] = None,
        grade: Annotated[bool, typer.Option("--grade/--no-grade", help="QA-grade the chats now.")] = True,
        workers: Annotated[
            int | None, typer.Option(min=1, max=16, help="Grading processes (default SIM_QA_WORKERS, 1).")
        ] = None,
    ) -> None:
        """Import real chats and QA-grade them."""
        from pydantic import ValidationError
        from sqlalchemy import select

        from simulator.analytics.chatlog import TextLogFormat
        from simulator.analytics.importer import ImportOptions, import_chats, parse_agent_map, read_files
        from simulator.engine import Engine
        from simulator.errors import SimulatorError
        from simulator.store.groups import Group
        from simulator.store.users import password_hasher

        settings = Settings()
        text_args = {
            k: v
            for k, v in {
                "line": line_pattern,
                "agent": agent_pattern,
                "separator": separator,
                "gap_minutes": gap_minutes,
            }.items()
            if v is not None
        }
        try:
            text_format = TextLogFormat(**text_args)
        except ValidationError as exc:
            raise SimulatorError("; ".join(e["msg"] for e in exc.errors())) from None
        engine = Engine(settings, knowledge_index=False, embeddings=False)
        group_id = None
        if group:
            with engine.store.read() as s:
                group_id = s.scalar(select(Group.id).where(Group.name == group))
            if group_id is None:
                raise SimulatorError(f"no group named {group!r} — create it in the web app (Trainer → Teams)")
        options = ImportOptions(
            format=format,
            shop=shop,
            text_format=text_format,
            agent_map=parse_agent_map(agent or []),
            create_agents=create_agents,
            group_id=group_id,
        )
        parsed = read_files(paths, options, settings.timezone)
        report = import_chats(
            engine.store, parsed, options, hasher=password_hasher(), files=", ".join(p.name for p in paths)
        )
        for w in report.warnings:
            typer.secho(w.format(), err=True, fg=typer.colors.YELLOW)
        typer.echo(
            f"import {report.import_id}: {report.conversations} conversation(s), {report.messages} message(s); "
            f"{report.already_imported} already imported, {len(report.warnings)} skipped"
        )
        for alias, username in sorted(report.agents.items()):
            made = " (new account)" if username in report.created else ""
            typer.echo(f"  {alias} → {username}{made}")
        if report.job_id is None:
            return
        if not grade:
            typer.echo(f"QA job {report.job_id} queued: the server grades it, or run `simulator qa`")
            return
        from simulator.cli.qa import run_jobs

        run_jobs(settings, job_id=report.job_id, workers=workers or settings.qa_workers)
