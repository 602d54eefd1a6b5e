"""``simulator qa`` — grade the imported chats still waiting (every queued or interrupted QA job), with a progress
bar. Interrupted (Ctrl-C, a crash), a job continues where it stopped the next time — here or in the server."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from simulator.settings import Settings


def run_jobs(settings: Settings, *, job_id: int | None = None, workers: int = 1) -> int:
    """Run the given QA job, or every waiting one, showing progress; returns how many conversations were graded."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from simulator.analytics.jobs import QaRunner, grading_pool
    from simulator.engine import Engine

    engine = Engine(settings)
    if engine.knowledge_base() is None:
        typer.secho(
            "note: knowledge base not built (simulator kb build); knowledge is checked without it",
            err=True,
            fg=typer.colors.YELLOW,
        )
        engine = Engine(settings, knowledge_index=False)
    pool = grading_pool(settings, workers) if workers > 1 else None
    graded = 0
    started = time.monotonic()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    try:
        with Progress(*columns, transient=False) as bar:
            runner = QaRunner(engine, pool=pool)
            tasks: dict[int, object] = {}

            def show(job) -> None:
                if job.id not in tasks:
                    tasks[job.id] = bar.add_task(f"QA job {job.id}", total=job.total)
                bar.update(tasks[job.id], completed=job.done + job.failed)  # type: ignore[arg-type]

            while True:
                before = graded
                job = runner.run(job_id, on_progress=show)
                if job is None:
                    break
                show(job)
                graded = before + job.done
                if job.failed:
                    typer.secho(
                        f"QA job {job.id}: {job.failed} conversation(s) could not be graded",
                        err=True,
                        fg=typer.colors.YELLOW,
                    )
                if job_id is not None:
                    break
    except KeyboardInterrupt:
        typer.secho("stopped — run `simulator qa` to continue where it stopped", err=True)
        raise typer.Exit(130) from None
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    seconds = time.monotonic() - started
    typer.echo(f"{graded} conversation(s) graded in {seconds:.1f} s" if graded else "nothing to grade")
    return graded


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def qa(
        job: Annotated[int | None, typer.Option(help="Only this job (default: every waiting one).")] = None,
        workers: Annotated[
            int | None, typer.Option(min=1, max=16, help="Grading processes (default SIM_QA_WORKERS, 1).")
        ] = None,
    ) -> None:
        """QA-grade imported chats that are still waiting (resumes interrupted jobs)."""
        settings = Settings()
        run_jobs(settings, job_id=job, workers=workers or settings.qa_workers)
