"""The persona probe battery against a real Chinese-capable model: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) on
llama.cpp's server. Target: 0 guard escapes — no probe failure ever reaches the trainee; every weak answer is
caught by a guard and replaced by the scripted line.

Six scenarios (three zh-CN, three English), a reduced battery per scenario (greeting, the first hidden fact, an
unknown, a wrong fact, role-swap bait, rudeness, an early goodbye): enough to exercise every rule while the
probes of a scenario share their prompt prefix (system prompt + opening), which llama.cpp evaluates once.

The per-scenario and per-rule figures (fallback rate, tokens per model call, seconds per probe) are written to
``$SIM_PROBE_REPORT`` when set (JSON) and printed; docs/customer.md quotes a run of
``bench/customer_speed.py probe --model qwen``, which runs the same battery.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simulator.customer import LLMCustomer
from simulator.customer.probe import run_battery, summary
from simulator.llm import OpenAIChatModel
from simulator.scenario import load_scenario

from .conftest import Server

pytestmark = pytest.mark.llm
REPO = Path(__file__).resolve().parents[2]
SCENARIOS = (
    "qinghe/presale-size-hesitant-office",
    "qinghe/complaint-wrong-item-demands-manager",
    "qinghe/aftersale-size-exchange-student",
    "northwind/aftersales-fleece-size-exchange",
    "northwind/complaint-late-express-angry",
    "northwind/presale-boot-size-thick-socks",
)
KINDS = ("greeting", "ask", "unknown", "wrong-fact", "role-swap", "rude", "goodbye")
# A cold system prompt takes tens of seconds on two cores; every later call reuses its cached prefix.
TIMEOUT_S = 300


def qwen(server: Server) -> OpenAIChatModel:
    # Not streamed: llama.cpp reports token usage only for whole responses (the customer holds lines back anyway).
    return OpenAIChatModel(
        server.base_url, "qwen-1.5b", seed=1, temperature=0.3, timeout=TIMEOUT_S, retries=0, stream=False
    )


def test_probe_battery_has_no_guard_escapes(qwen_server: Server) -> None:
    reports = []
    for ref in SCENARIOS:
        scenario = load_scenario(REPO / "scenarios" / f"{ref}.yaml")
        customer = LLMCustomer(scenario, qwen(qwen_server), json_mode=False, max_tokens=80)
        reports.append(run_battery(scenario, customer, kinds=KINDS, max_facts=1))
    total = summary(reports)
    data = {"summary": total, "scenarios": [r.as_dict() for r in reports]}
    if os.environ.get("SIM_PROBE_REPORT"):
        Path(os.environ["SIM_PROBE_REPORT"]).write_text(json.dumps(data, ensure_ascii=False, indent=2))
    print(json.dumps(total, ensure_ascii=False))
    escapes = [
        (rep.scenario_id, r.probe.id, r.lines, [(v.rule, v.detail) for v in r.escapes])
        for rep in reports
        for r in rep.results
        if r.escapes
    ]
    assert not escapes, escapes
    # Every failure a trainee could have seen was replaced by the script, which itself passes every probe.
    assert total["failed_rules"] == 0
    # The model really played: not every turn fell back (a dead endpoint would pass the rules trivially).
    answered = sum(1 for rep in reports for r in rep.results if "llm" in r.sources)
    assert answered >= len(reports), f"the model's answers were accepted on only {answered} probes"
    assert all(r.model_calls >= 1 for rep in reports for r in rep.results)
