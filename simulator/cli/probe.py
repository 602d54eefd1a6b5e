"""``simulator probe`` — the persona probe battery: does the customer stay in character with this model?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.customer.probe import PROBE_KINDS, ScenarioReport, run_battery, summary
from simulator.engine import Engine
from simulator.errors import SimulatorError
from simulator.scenario.model import Scenario
from simulator.settings import Settings


def _scenarios(engine: Engine, refs: list[str], every: bool) -> list[Scenario]:
    if every:
        return [e.scenario for e in sorted(engine.scenarios.entries(), key=lambda e: e.scenario.id)]
    if not refs:
        raise SimulatorError("name at least one scenario (id or YAML file), or pass --all")
    return [engine.scenarios.resolve(ref).scenario for ref in refs]


def _kinds(probes: str | None) -> tuple[str, ...]:
    if not probes:
        return PROBE_KINDS
    kinds = tuple(k.strip() for k in probes.split(",") if k.strip())
    unknown = [k for k in kinds if k not in PROBE_KINDS]
    if unknown:
        raise SimulatorError(f"unknown probe kind(s) {', '.join(unknown)} — choose from {', '.join(PROBE_KINDS)}")
    return kinds


def _show(console: Console, report: ScenarioReport) -> None:
    table = Table(title=f"{report.scenario_id} ({report.customer} customer)", show_lines=True)
    table.add_column("probe", no_wrap=True)
    table.add_column("trainee says", ratio=2)
    table.add_column("customer answers", ratio=3)
    table.add_column("mood, patience", no_wrap=True)
    table.add_column("verdict", ratio=2)
    for r in report.results:
        said = "\n".join(f"{escape(line)} [dim]({src})[/]" for line, src in zip(r.lines, r.sources, strict=False))
        if r.notices:
            said = "[dim italic]" + escape(" ".join(r.notices)) + "[/]\n" + said
        failed = r.failed
        verdict = (
            "\n".join(f"[red]✗ {v.rule}[/]: {escape(v.detail)}" for v in failed)
            if failed
            else f"[green]✓ {len(r.rules)} rules[/]"
        )
        if r.guard_rejections:
            verdict += "\n[dim]guards: " + ", ".join(f"{k}×{n}" for k, n in r.guard_rejections.items()) + "[/]"
        mood = f"{r.mood_before:+d}→{r.mood_after:+d}, {r.patience_before}→{r.patience_after}"
        if r.outcome:
            mood += f"\nends: {r.outcome}"
        table.add_row(r.probe.id, escape(r.probe.message), said, mood, verdict)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the command to the CLI."""

    @app.command()
    def probe(
        scenario: Annotated[
            list[str] | None, typer.Argument(help="Scenario ids or YAML files (or --all).", show_default=False)
        ] = None,
        every: Annotated[bool, typer.Option("--all", help="Every scenario under the scenarios folder.")] = False,
        probes: Annotated[
            str | None,
            typer.Option(help=f"Comma-separated probe kinds to run (default: all of {', '.join(PROBE_KINDS)})."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
        offline: Annotated[
            bool, typer.Option(help="Probe the scripted customer even if an LLM is configured.")
        ] = False,
        seed: Annotated[int, typer.Option(help="Seed for the customer's line variants.")] = 0,
        scenarios: Annotated[Path | None, typer.Option(help="Scenario folder (default: SIM_SCENARIOS_DIR).")] = None,
    ) -> None:
        """Probe a customer persona: greeting, each hidden fact, something it does not know, a wrong fact, role-swap
        bait, rudeness, an early goodbye — and a pass/fail per rule. Exit code 1 when any rule fails."""
        settings = Settings()
        if offline:
            settings = settings.model_copy(update={"llm_base_url": None})
        if scenarios is not None:
            settings = settings.model_copy(update={"scenarios_dir": scenarios})
        kinds = _kinds(probes)
        engine = Engine(settings, knowledge_index=False)
        chosen = _scenarios(engine, scenario or [], every)
        reports = []
        console = Console()
        for sc in chosen:
            customer = engine.customer(sc)
            report = run_battery(sc, customer, kinds=kinds, seed=seed)
            reports.append(report)
            if not as_json:
                _show(console, report)
        total = summary(reports)
        if as_json:
            typer.echo(
                json.dumps(
                    {"summary": total, "scenarios": [r.as_dict() for r in reports]}, ensure_ascii=False, indent=2
                )
            )
        else:
            console.print(
                f"[bold]{total['probes']} probe(s) on {total['scenarios']} scenario(s):[/] "
                f"{total['failed_rules']} rule failure(s), {total['escapes']} guard escape(s), "
                f"{total['fallbacks']} scripted fallback(s)"
            )
        if total["failed_rules"]:
            raise typer.Exit(1)
