"""``simulator exam`` — exams from the command line: list them, schedule a window, run the exam clock's sweep,
read the audit log, export the exam owners' overrides for calibration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from simulator.exam.attempts import ExamService
from simulator.exam.review import ExamReview
from simulator.settings import Settings

exam_app = typer.Typer(help="Certification exams: list, schedule, sweep, audit log, overrides.", no_args_is_help=True)


def _service() -> tuple[ExamService, ExamReview]:
    from simulator.engine import Engine

    exams = ExamService(Engine(Settings()))
    return exams, ExamReview(exams)


@exam_app.command("list")
def list_exams() -> None:
    """The exams that validate, with their parts."""
    exams, _ = _service()
    for e in exams.catalogue.exams():
        parts = ", ".join(f"{p.id} ({p.kind.value}, {p.minutes} min)" for p in e.exam.parts)
        typer.echo(f"{e.exam.id:<32} {e.exam.title} — pass {e.exam.pass_mark:g}; {parts}")


@exam_app.command()
def schedule(
    exam_id: Annotated[str, typer.Argument(help="Exam id (see `simulator exam list`).")],
    user: Annotated[str | None, typer.Option(help="Trainee's user name.")] = None,
    group: Annotated[str | None, typer.Option(help="Group name.")] = None,
    days: Annotated[float, typer.Option(help="Days the window stays open, from now.")] = 7,
    note: Annotated[str, typer.Option(help="Shown to the trainees.")] = "",
) -> None:
    """Schedule a window for one trainee or a group, open from now."""
    from sqlalchemy import select

    from simulator.errors import NotFound
    from simulator.store.groups import Group
    from simulator.store.users import get_user_by_name

    exams, _ = _service()
    with exams.engine.store.read() as s:
        user_id = get_user_by_name(s, user).id if user else None
        group_id = s.scalar(select(Group.id).where(Group.name == group)) if group else None
    if group and group_id is None:
        raise NotFound(f"no group '{group}'")
    now = datetime.now(UTC)
    wid = exams.schedule(
        None, exam_id, opens_at=now, closes_at=now + timedelta(days=days), user_id=user_id, group_id=group_id, note=note
    )
    typer.echo(f"scheduled window {wid}: {exam_id} until {(now + timedelta(days=days)):%Y-%m-%d %H:%M} UTC")


@exam_app.command()
def sweep() -> None:
    """Close parts past their deadline, grade what was submitted, schedule re-certification (the server does this
    every few seconds; run it from cron when no server runs)."""
    exams, _ = _service()
    typer.echo(json.dumps(exams.sweep()))


@exam_app.command()
def audit(limit: Annotated[int, typer.Option(help="Newest entries to show.")] = 50) -> None:
    """The audit log, newest first."""
    _, review = _service()
    for e in review.audit_log(limit=limit):
        who = e.actor_id if e.actor_id is not None else "system"
        typer.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.action:<26} actor={who} attempt={e.attempt_id or '-'}  {e.reason}")


@exam_app.command()
def overrides() -> None:
    """Every override of a finding as JSON: the labelled examples calibration learns from."""
    _, review = _service()
    typer.echo(json.dumps(review.calibration_examples(), ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    """Add the command group to the CLI."""
    app.add_typer(exam_app, name="exam")
