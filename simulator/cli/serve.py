"""``simulator serve`` — prepare the data directory (database, demo accounts, knowledge index) and run the app.

The web app is loaded by uvicorn from its import string (``web.app:app_from_env``) so the engine package
never imports the web layer; both read the same ``SIM_*`` settings.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from simulator.settings import Settings


def prepare(settings: Settings, *, echo: bool = True) -> None:
    """Migrate the database; with ``settings.demo``, create demo accounts (first start) and the knowledge index
    when it is missing.
    """
    from simulator.store import open_database
    from simulator.store.demo import ensure_demo_accounts
    from simulator.store.users import count_users, password_hasher

    say = typer.echo if echo else (lambda *_a, **_k: None)
    settings.ensure_data_dir()
    db = open_database(settings.sqlalchemy_url, create_dir=settings.data_dir)
    try:
        if settings.demo:
            with db.read() as s:
                accounts_exist = count_users(s) > 0  # a restart: no need to read every scenario (~1 s)
        if settings.demo and not accounts_exist:
            from simulator.scenario.loader import load_scenarios

            ids = set(load_scenarios([settings.scenarios_dir]).scenarios) if settings.scenarios_dir.is_dir() else set()
            created = ensure_demo_accounts(db, password_hasher(), assignable=ids, exams=_exam_ids(settings))
            if created:
                say("Demo accounts created (user / password):")
                for a in created:
                    say(f"  {a.username:<8} / {a.password}   {a.role.value}")
    finally:
        db.dispose()
    if settings.demo and settings.knowledge_dir.is_dir():
        _ensure_index(settings, say)


def _exam_ids(settings: Settings) -> set[str]:
    """The exams that validate (the demo schedules only those)."""
    from simulator.exam.catalogue import EXAMS_FOLDER, exam_files, load_exam_set

    exams, _ = exam_files([settings.scenarios_dir / EXAMS_FOLDER])
    _, banks = exam_files([settings.knowledge_dir])
    return set(load_exam_set(exams, banks, scenarios=None, knowledge_ids=None).exams)


def _ensure_index(settings: Settings, say) -> None:
    from simulator.knowledge.base import IndexMissing, KnowledgeBase

    if KnowledgeBase.has_snapshot(settings):
        # Built here before, with this embedder: a restart need not open chromadb and load the index (~1 s) only
        # to find that out. The app checks the snapshot against the store when it loads it.
        return
    kb = KnowledgeBase.open(settings)
    try:
        kb.load()
        return
    except IndexMissing:
        pass
    say("Building the knowledge index (first start)…")
    report = kb.build([settings.knowledge_dir])
    say(f"  {report.documents} documents, {report.chunks} chunks in {report.seconds:.1f} s")


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="Address to bind (default SIM_HOST or 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default SIM_PORT or 8000).")] = None,
        demo: Annotated[
            bool | None, typer.Option("--demo/--no-demo", help="Create demo accounts on first start (SIM_DEMO).")
        ] = None,
        access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
        workers: Annotated[
            int | None, typer.Option(min=1, max=64, help="Server processes (default SIM_WORKERS or 1).")
        ] = None,
    ) -> None:
        """Start the web app: migrate the database, prepare the demo, serve on http://HOST:PORT."""
        import uvicorn

        if demo is not None:
            os.environ["SIM_DEMO"] = "true" if demo else "false"
        settings = Settings()
        prepare(settings)
        bind_host = host or settings.host
        bind_port = port or settings.port
        processes = workers or settings.workers
        typer.echo(f"Serving on http://{bind_host}:{bind_port}  (data: {settings.data_dir}, {processes} process(es))")
        uvicorn.run(
            "web.app:app_from_env",
            factory=True,
            host=bind_host,
            port=bind_port,
            access_log=access_log,
            workers=processes,
            proxy_headers=True,
            # Trainees pause between messages: keep idle connections longer than uvicorn's 5 s (and than the
            # 60 s idle timeout of common load balancers), so a reply is not sent into a closing connection.
            timeout_keep_alive=75,
            timeout_graceful_shutdown=5,
        )
