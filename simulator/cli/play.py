"""``simulator play`` — practise a scenario in the terminal, or feed scripted replies and print the transcript."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from simulator.customer.base import Customer
from simulator.engine import Engine
from simulator.errors import NotFound, SimulatorError
from simulator.scenario.model import Scenario
from simulator.session import Session, SessionKind
from simulator.settings import Settings
from simulator.turn import Speaker, Turn, TurnKind

MOOD_FACE = {"furious": "🤬", "angry": "😠", "annoyed": "😒", "neutral": "😐", "pleased": "🙂", "delighted": "😄"}
QUIT = {"/quit", "/q", "/exit", "/end"}


def read_replies(path: Path) -> list[str]:
    """One reply per line; blank lines and lines starting with '#' are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"no replies file {path} — give a text file with one trainee reply per line") from None
    except UnicodeDecodeError:
        raise SimulatorError(f"{path} is not UTF-8 text — save it as UTF-8") from None
    replies = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not replies:
        raise SimulatorError(f"{path} has no replies — write one trainee reply per line")
    return replies


def session_json(session: Session) -> dict[str, object]:
    """What ``--json`` prints: the outcome and the transcript first, then the full session."""
    return {
        "scenario_id": session.scenario_id,
        "outcome": session.outcome.value if session.outcome else None,
        "end_reason": session.end_reason,
        "transcript": [t.model_dump(mode="json", exclude_defaults=True) for t in session.turns],
        "session": session.model_dump(mode="json"),
    }


def show(console: Console, turn: Turn, scenario: Scenario) -> None:
    """Print one turn the way a chat window would."""
    if turn.kind is TurnKind.NOTICE:
        console.print(f"[dim italic]{escape(turn.text)}[/]")
    elif turn.role is Speaker.CUSTOMER:
        face = MOOD_FACE.get(turn.mood.value if turn.mood else "neutral", "")
        meta = f"  [dim]{face} patience {turn.patience}[/]" if turn.patience is not None else ""
        console.print(f"[bold cyan]{escape(scenario.persona.name)}[/]: {escape(turn.text)}{meta}")
    elif turn.role is Speaker.AGENT:
        acts = ", ".join(a.value for a in turn.acts)
        secs = f"{turn.response_seconds:.0f}s" if turn.response_seconds is not None else ""
        console.print(f"[dim]   ↳ {secs} {acts}[/]")


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def play(
        scenario: Annotated[str, typer.Argument(help="Scenario id or path to a scenario YAML file.")],
        replies: Annotated[
            Path | None, typer.Option("--replies", help="Text file with one trainee reply per line (non-interactive).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the transcript and outcome as JSON.")] = False,
        seed: Annotated[int | None, typer.Option(help="Seed for line variants (default: random).")] = None,
        scenarios: Annotated[Path | None, typer.Option(help="Scenario folder (default: SIM_SCENARIOS_DIR).")] = None,
        reply_seconds: Annotated[
            float, typer.Option(help="With --replies: simulated seconds the trainee takes per reply.")
        ] = 15.0,
        offline: Annotated[bool, typer.Option(help="Use the scripted customer even if an LLM is configured.")] = False,
    ) -> None:
        """Practise a scenario: chat with the simulated customer (type /quit to give up)."""
        settings = Settings()
        if offline:
            settings = settings.model_copy(update={"llm_base_url": None})
        if scenarios is not None:
            settings = settings.model_copy(update={"scenarios_dir": scenarios})
        lines = read_replies(replies) if replies is not None else []
        engine = Engine(settings, knowledge_index=False)
        entry = engine.scenarios.resolve(scenario)
        sc = entry.scenario
        customer = engine.customer(sc)
        if replies is not None:
            session = engine.play(
                sc,
                lines,
                reply_seconds=reply_seconds,
                seed=0 if seed is None else seed,
                kind=SessionKind.PLAYTEST,
                digest=entry.digest,
            )
            if as_json:
                typer.echo(json.dumps(session_json(session), ensure_ascii=False, indent=2))
            else:
                console = Console()
                for turn in session.turns:
                    if turn.role is Speaker.AGENT:
                        console.print(f"[bold green]你[/]: {escape(turn.text)}")
                    show(console, turn, sc)
                console.print(f"[bold]outcome:[/] {session.outcome} ({session.end_reason})")
            return
        _interactive(sc, customer, entry.digest, seed, settings, as_json)


def _interactive(
    sc: Scenario, customer: Customer, digest: str, seed: int | None, settings: Settings, as_json: bool
) -> None:
    console = Console()
    console.print(Panel(escape(sc.summary or sc.title), title=escape(sc.title), subtitle="/quit to give up"))
    session = Session.create(
        sc, kind=SessionKind.PRACTICE, seed=seed, digest=digest, max_reply_chars=settings.max_message_chars
    )
    for turn in session.start(customer):
        show(console, turn, sc)
    while not session.ended:
        try:
            text = console.input("[bold green]你[/]: ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            text = "/quit"
        if text.strip() in QUIT:
            session.end()
            break
        try:
            with console.status("对方正在输入…" if sc.locale == "zh-CN" else "typing…"):
                turns = session.reply(customer, text)
        except SimulatorError as exc:
            console.print(f"[red]{escape(str(exc))}[/]")
            continue
        for turn in turns:
            show(console, turn, sc)
    console.print(f"[bold]outcome:[/] {session.outcome} ({session.end_reason})")
    if as_json:
        typer.echo(json.dumps(session_json(session), ensure_ascii=False, indent=2))
