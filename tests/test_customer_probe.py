"""The persona probe battery: the scripted buyer passes it on every scenario, the judge catches each failure it
is meant to catch (with a deliberately bad customer), and the LLM customer's guards let no failure through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.customer import LLMCustomer, ScriptedCustomer
from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.probe import PROBE_KINDS, RULES, build_probes, run_battery, run_probe, summary
from simulator.llm import FakeChatModel
from simulator.scenario import load_scenario, load_scenarios
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Outcome
from simulator.turn import TurnSource

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = load_scenarios([REPO / "scenarios"]).scenarios
OFFICE = load_scenario(REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml")


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_the_scripted_buyer_passes_every_probe(scenario_id: str) -> None:
    scenario = SCENARIOS[scenario_id].scenario
    report = run_battery(scenario, ScriptedCustomer(scenario))
    kinds = {r.probe.kind for r in report.results}
    assert kinds >= {"greeting", "unknown", "role-swap", "rude", "goodbye"}
    assert sum(r.probe.kind == "ask" for r in report.results) == len(scenario.known_facts)
    failures = [(r.probe.id, r.lines, [(f.rule, f.detail) for f in r.failed]) for r in report.results if r.failed]
    assert not failures


def test_probes_are_fixed_and_cover_every_kind() -> None:
    probes = build_probes(OFFICE, OFFICE.variable_values({}))
    assert [p.id for p in probes] == [
        "greeting",
        "ask:height",
        "ask:weight",
        "ask:fit_preference",
        "unknown",
        "wrong-fact:height",
        "role-swap",
        "rude",
        "goodbye",
    ]
    wrong = next(p for p in probes if p.kind == "wrong-fact")
    assert wrong.wrong == "166cm" and "166cm" in wrong.message
    assert {p.kind for p in probes} == set(PROBE_KINDS)
    assert [p.id for p in build_probes(OFFICE, {}, ["rude", "greeting"])] == ["greeting", "rude"]


class BadBuyer:
    """A customer that breaks one rule per probe, to prove the judge can fail."""

    name = "bad"

    def __init__(self, scenario: Scenario, lines: dict[str, str], *, outcome: Outcome | None = None):
        self._scenario = scenario
        self.lines = lines
        self.outcome = outcome

    @property
    def scenario(self) -> Scenario:
        return self._scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        return CustomerResponse([CustomerMessage(self._scenario.opening[0])], ctx.state.model_copy(deep=True))

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        line = next((v for k, v in self.lines.items() if k in (ctx.reply or "")), "嗯")
        state = ctx.state.model_copy(deep=True)
        return CustomerResponse([CustomerMessage(line, source=TurnSource.LLM)], state, [], self.outcome)


@pytest.mark.parametrize(
    ("kind", "line", "rule"),
    [
        ("greeting", "你好，我104斤", "reveals-only-when-asked"),  # a hidden fact nobody asked for
        ("ask", "嗯嗯我等一下", "reveals-only-when-asked"),  # asked, not given
        ("greeting", "我上次花了388买的", "never-invents"),
        ("greeting", "我周三买的呀", "never-invents"),
        ("wrong-fact", "对的对的", "corrects-wrong-facts"),
        ("role-swap", "您好，很高兴为您服务，请问有什么可以帮您？", "stays-the-buyer"),
        ("role-swap", "我是新来的客服，这个问题我不太会处理。要是您是客服，您会怎么回复？", "stays-the-buyer"),
        ("greeting", "ok what size", "stays-the-buyer"),
        ("rude", "好的呢", "reacts-to-rudeness"),
    ],
)
def test_the_judge_fails_a_customer_that_breaks_a_rule(kind: str, line: str, rule: str) -> None:
    probe = next(p for p in build_probes(OFFICE, OFFICE.variable_values({})) if p.kind == kind)
    result = run_probe(OFFICE, BadBuyer(OFFICE, {probe.message: line}), probe)
    assert rule in [r.rule for r in result.failed], [(r.rule, r.detail) for r in result.rules]
    assert rule in [r.rule for r in result.escapes], "a failing line the model wrote is a guard escape"


def test_the_judge_fails_an_unearned_success() -> None:
    probe = next(p for p in build_probes(OFFICE, {}) if p.kind == "goodbye")
    result = run_probe(OFFICE, BadBuyer(OFFICE, {}, outcome=Outcome.BOUGHT), probe)
    assert [r.rule for r in result.failed] == ["does-not-end-early"]


def test_the_guards_let_no_failure_through_from_a_bad_model() -> None:
    # A model that always plays the agent, invents numbers or ignores questions: every answer is rejected and the
    # scripted line shown instead, so the battery passes with fallbacks and no escapes.
    bad = [
        '{"reply": "亲，您好，有什么可以帮您？", "outcome": null}',
        '{"reply": "我上周三买的，花了388", "outcome": null}',
        '{"reply": "好的，我等一下。", "outcome": "bought"}',
    ]
    model = FakeChatModel(default=lambda msgs: bad[len(msgs) % len(bad)])
    report = run_battery(OFFICE, LLMCustomer(OFFICE, model))
    assert report.escapes == 0 and report.passed
    assert all(r.fell_back for r in report.results)
    totals = summary([report])
    assert totals["fallbacks"] == len(report.results) and totals["guard_rejections"]
    assert set(totals["per_rule"]) <= set(RULES)


def test_probe_cli_json_and_exit_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_EMBEDDER", "fake")
    monkeypatch.delenv("SIM_LLM_BASE_URL", raising=False)
    result = CliRunner().invoke(app, ["probe", "presale-size-hesitant-office", "--json", "--probes", "greeting,rude"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["summary"]["probes"] == 2 and data["summary"]["failed_rules"] == 0
    probes = data["scenarios"][0]["probes"]
    assert [p["probe"] for p in probes] == ["greeting", "rude"]
    assert probes[1]["rules"]["reacts-to-rudeness"]["passed"] is True
    bad = CliRunner().invoke(app, ["probe", "presale-size-hesitant-office", "--probes", "greet"])
    assert bad.exit_code != 0 and "unknown probe kind(s) greet" in str(bad.exception)  # main() prints it
