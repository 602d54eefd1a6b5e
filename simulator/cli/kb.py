"""``simulator kb build`` and ``simulator kb search`` — the knowledge base from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from simulator.errors import SimulatorError
from simulator.knowledge.base import BuildReport, KnowledgeBase
from simulator.settings import Settings

_STAGES = {
    "reading": "Reading documents",
    "embedding": "Embedding chunks",
    "storing": "Storing",
    "indexing": "Indexing",
}


def _settings(embedder: str | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"embedder": embedder}) if embedder else settings


def _print_report(console: Console, report: BuildReport, db: Path | None, settings: Settings) -> None:
    for p in report.problems:
        console.print(
            p.format(),
            style="red" if p.severity == "error" else "yellow",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    where = settings.chroma_url or str(db or settings.index_dir)
    if report.rebuilt:
        console.print("The embedder changed: the whole index was rebuilt.", style="yellow")
    console.print(
        f"[bold]{report.documents}[/] documents, [bold]{report.chunks}[/] chunks in {where}; "
        f"re-embedded {len(report.changed_docs)} documents ({report.embedded_chunks} chunks), "
        f"skipped {report.skipped_docs} unchanged, removed {len(report.removed_docs)}; "
        f"{len(report.errors)} files not indexed; {report.seconds:.1f} s",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add the ``kb`` sub-commands to the CLI."""
    kb_app = typer.Typer(help="Build and search the knowledge base.", no_args_is_help=True)
    app.add_typer(kb_app, name="kb")

    @kb_app.command("build")
    def build(
        knowledge: Annotated[
            list[Path] | None,
            typer.Option(
                "--knowledge",
                "-k",
                help="Folder (or file) of Markdown documents; repeatable. Default: the knowledge folder from settings.",
            ),
        ] = None,
        db: Annotated[Path | None, typer.Option(help="Index directory (default: <data dir>/index).")] = None,
        embedder: Annotated[
            str | None, typer.Option(help="Embedder: use, fake, or st:<model name or path> (default: SIM_EMBEDDER).")
        ] = None,
        strict: Annotated[bool, typer.Option(help="Exit 1 if any file had an error.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary.")] = False,
    ) -> None:
        """Index Markdown documents (only new or changed ones are embedded); bad files are reported, not fatal."""
        settings = _settings(embedder)
        folders = knowledge or [settings.knowledge_dir]
        for folder in folders:
            if not folder.exists():
                raise SimulatorError(f"{folder}: no such file or folder — pass --knowledge DIR with your Markdown")
        console = Console(stderr=True)
        kb = KnowledgeBase.open(settings, db_dir=db)
        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=as_json,
        ) as progress:
            tasks: dict[str, TaskID] = {}

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = progress.add_task(_STAGES.get(stage, stage), total=max(total, 1))
                progress.update(tasks[stage], completed=done if total else 1, total=max(total, 1))

            report = kb.build(folders, progress=on_progress)
        if as_json:
            typer.echo(
                json.dumps(
                    {
                        "documents": report.documents,
                        "chunks": report.chunks,
                        "embedded_chunks": report.embedded_chunks,
                        "changed_docs": report.changed_docs,
                        "skipped_docs": report.skipped_docs,
                        "removed_docs": report.removed_docs,
                        "rebuilt": report.rebuilt,
                        "seconds": round(report.seconds, 3),
                        "problems": [p.to_dict() for p in report.problems],
                    },
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            _print_report(Console(), report, db, settings)
        if strict and report.errors:
            raise typer.Exit(1)

    @kb_app.command("search")
    def search(
        query: Annotated[str, typer.Argument(help='The question, e.g. "165 52斤穿啥码".')],
        k: Annotated[int, typer.Option("--k", "-n", min=1, max=100, help="How many passages.")] = 5,
        db: Annotated[Path | None, typer.Option(help="Index directory (default: <data dir>/index).")] = None,
        kind: Annotated[list[str] | None, typer.Option(help="Only this document kind; repeatable.")] = None,
        tier: Annotated[list[str] | None, typer.Option(help="Only this tier (必会/掌握/了解); repeatable.")] = None,
        tag: Annotated[list[str] | None, typer.Option(help="Only documents with this tag; repeatable (all).")] = None,
        locale: Annotated[str | None, typer.Option(help="Only this locale (zh-CN, en).")] = None,
        doc: Annotated[list[str] | None, typer.Option(help="Only this document id; repeatable.")] = None,
        mode: Annotated[str, typer.Option(help="hybrid, vector or bm25.")] = "hybrid",
        per_doc: Annotated[int | None, typer.Option(help="At most this many passages per document.")] = None,
        embedder: Annotated[
            str | None, typer.Option(help="Embedder the index was built with (default: SIM_EMBEDDER).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Search the knowledge base: vector + keyword hybrid, best passages first."""
        if mode not in ("hybrid", "vector", "bm25"):
            raise SimulatorError(f"--mode {mode!r} is not a search mode — use hybrid, vector or bm25")
        kb = KnowledgeBase.open(_settings(embedder), db_dir=db)
        passages = kb.search(
            query,
            k,
            kind=kind,
            tier=tier,
            tags=tag,
            locale=locale,
            doc_ids=doc,
            mode=mode,  # type: ignore[arg-type]
            max_per_doc=per_doc,
        )
        if as_json:
            typer.echo(json.dumps([p.to_dict() for p in passages], ensure_ascii=False, indent=2))
            return
        console = Console()
        if not passages:
            console.print("No passages found.", style="yellow")
            return
        for n, p in enumerate(passages, start=1):
            path = " › ".join([p.doc_id, *[h for h in p.heading_path if h != p.title]])
            console.print(f"[bold]{n}. {path}[/]  [dim]{p.score:.4f}  {p.source}[/]", highlight=False, soft_wrap=True)
            text = p.text if len(p.text) <= 400 else p.text[:400] + "…"
            console.print("   " + text.replace("\n", "\n   "), markup=False, highlight=False, soft_wrap=True)
