"""The scripted customer's engine: beats, reactions, patience, endings — and every shipped scenario's references."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from simulator.customer import ScriptedCustomer
from simulator.customer.scripted import pick
from simulator.scenario import ScenarioSet, load_scenarios
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, Mood, Outcome
from simulator.session import play_reference, play_replies
from simulator.turn import Speaker, TurnKind

REPO = Path(__file__).resolve().parent.parent


def make(**overrides: Any) -> Scenario:
    data: dict[str, Any] = {
        "id": "engine-test",
        "title": "t",
        "locale": "zh-CN",
        "category": "after-sales",
        "script_categories": ["after-sales"],
        "difficulty": "easy",
        "persona": {"name": "王姐", "age_group": "35-49", "traits": ["急躁"], "speaking_style": "短", "patience": 4},
        "goal": {"description": "解决问题", "success": ["resolved"]},
        "known_facts": [
            {"key": "order_id", "value": "{order}", "ask_keywords": ["订单号"], "say": ["订单号{order}"]},
            {"key": "phone", "value": "尾号6688", "ask_keywords": ["手机"]},
        ],
        "opening": ["我的快递怎么还没到", "快递到底什么时候到"],
        "beats": [
            {
                "id": "gives-order",
                "when": {"act": "ask", "about": "order_id"},
                "say": ["{order}"],
                "reveals": ["order_id"],
            },
            {
                "id": "resolved",
                "after": ["gives-order"],
                "when": {"keywords": ["加急", "催"]},
                "say": ["好吧那我等等", "行，那你们快点"],
                "mood": 1,
                "outcome": "resolved",
            },
            {"id": "generic-sorry", "when": {"act": "apologise"}, "say": ["道歉有什么用"], "once": False},
            {"id": "vip-sorry", "when": {"act": "apologise"}, "say": ["哼，这还差不多"], "priority": 5, "once": True},
        ],
        "end": {"max_turns": 6, "fallback": ["所以呢？"], "on_patience_exhausted": "bad-review"},
        "variables": {"order": {"kind": "digits", "default": "2024001", "length": 7}},
    }
    data.update(overrides)
    return Scenario.model_validate(data)


def play(s: Scenario, replies: list[str], **kw: Any):
    return play_replies(s, ScriptedCustomer(s), replies, **kw)


def customer_lines(session) -> list[str]:
    return [t.text for t in session.messages(Speaker.CUSTOMER)]


def test_beat_reveals_fact_with_variables_then_outcome() -> None:
    s = make()
    session = play(s, ["请问您的订单号是多少？", "我马上帮您催一下快递，加急处理"])
    assert customer_lines(session)[1] == "2024001"
    assert session.state.revealed == ["order_id"]
    assert session.outcome is Outcome.RESOLVED and session.end_reason == "outcome"
    assert session.turns[-1].beat == "resolved"


def test_after_orders_the_story() -> None:
    s = make()
    session = play(s, ["我帮您催一下", "请问订单号？"])
    # 'resolved' needs 'gives-order' first: the first reply falls back.
    assert customer_lines(session)[1] == "所以呢？"
    assert session.messages(Speaker.CUSTOMER)[-1].beat == "gives-order"


def test_priority_then_once() -> None:
    s = make()
    session = play(s, ["非常抱歉", "真的很抱歉", "对不起"])
    lines = customer_lines(session)
    assert lines[1] == "哼，这还差不多"  # priority 5 wins over file order
    # once: false fires again (vip-sorry fired once) — but never word for word: the repeat is rephrased.
    assert lines[2] == "道歉有什么用" and lines[3] != lines[2] and lines[3].endswith("道歉有什么用")


def test_fallback_costs_patience_and_exhaustion_ends_with_configured_outcome() -> None:
    s = make()
    session = play(s, ["今天天气不错", "我们店铺很大", "新品上市了", "欢迎关注"])
    assert session.outcome is Outcome.BAD_REVIEW
    assert session.end_reason == "patience"
    assert session.state.patience == 0
    assert session.state.fallbacks == 4
    assert "差评" in customer_lines(session)[-1]


def test_builtin_reactions_and_persona_replacement() -> None:
    s = make()
    session = play(s, ["爱买不买"])  # rude: mood -2 patience -3, plus no beat -1 → patience 0
    assert session.outcome is Outcome.BAD_REVIEW
    calm = make(
        persona={
            "name": "王姐",
            "age_group": "35-49",
            "traits": ["佛系"],
            "speaking_style": "短",
            "patience": 4,
            "angrier_when": [{"act": "rude", "mood": 0, "patience": 0}],
        }
    )
    session = play(calm, ["爱买不买"])
    assert session.outcome is Outcome.ABANDONED  # the customer stayed; the trainee ran out of replies
    assert session.state.patience == 3  # only the no-beat cost


def test_slow_reply_reaction() -> None:
    s = make()
    fast = play(s, ["请问订单号？"], reply_seconds=10)
    slow = play(s, ["请问订单号？"], reply_seconds=s.end.slow_reply_seconds + 5)
    assert Act.SLOW in slow.messages(Speaker.AGENT)[0].acts
    assert slow.state.patience == fast.state.patience - 1
    assert slow.state.mood == fast.state.mood - 1


def test_apology_soothes_only_while_upset() -> None:
    upset = make(
        persona={"name": "王姐", "age_group": "35-49", "traits": ["急"], "speaking_style": "短", "mood": "angry"}
    )
    session = play(upset, ["非常抱歉让您久等了"])
    assert session.messages(Speaker.CUSTOMER)[-1].mood is Mood.ANNOYED
    calm = play(make(), ["非常抱歉让您久等了"])
    assert calm.messages(Speaker.CUSTOMER)[-1].mood is Mood.NEUTRAL


def test_questions_for_known_facts_are_answered_without_a_beat() -> None:
    s = make()
    session = play(s, ["方便留一下手机号吗？"])
    assert customer_lines(session)[-1] == "尾号6688"
    assert session.state.revealed == ["phone"] and session.state.fallbacks == 0


def test_max_turns_ends_the_conversation() -> None:
    s = make(end={"max_turns": 2, "fallback": ["所以呢？"], "on_max_turns": "left"})
    session = play(s, ["请问订单号？", "请问手机号？", "还在吗"])
    assert session.outcome is Outcome.LEFT and session.end_reason == "max-turns"
    assert len(session.messages(Speaker.AGENT)) == 2


def test_running_out_of_replies_is_abandoned() -> None:
    session = play(make(), ["请问订单号？"])
    assert session.outcome is Outcome.ABANDONED
    assert session.turns[-1].kind is TurnKind.NOTICE


def test_variants_depend_on_the_seed_only() -> None:
    s = make()
    openings = {play(s, ["请问订单号？"], seed=seed).turns[0].text for seed in range(20)}
    assert openings == set(s.opening)
    assert play(s, ["请问订单号？"], seed=3).turns[0].text == play(s, ["请问订单号？"], seed=3).turns[0].text
    assert pick(["a", "b", "c"], 42, "k") == pick(["a", "b", "c"], 42, "k")


# -- every shipped scenario: the good reference succeeds, the bad one does not --------------------------------

# Scenario files are named after their ids (test_content.py checks), so collecting needs no parsing: every
# pytest-xdist worker collects this module, but only the one that runs these tests reads the scenarios (~1 s).
_IDS = sorted(p.stem for p in (REPO / "scenarios").glob("*/*.yaml") if p.parent.name not in ("rules", "exams"))


@functools.cache
def _shipped() -> ScenarioSet:
    return load_scenarios([REPO / "scenarios"])


def test_scenarios_are_there() -> None:
    assert _IDS, "no scenarios found under scenarios/"
    assert sorted(_shipped().scenarios) == _IDS  # every file is a scenario that loads, and each is tested


@pytest.mark.parametrize("scenario_id", _IDS)
def test_references_reach_their_outcomes(scenario_id: str) -> None:
    s = _shipped().scenarios[scenario_id].scenario
    assert s.references is not None, "shipped scenarios need references"
    good = play_reference(s, s.references.good, ScriptedCustomer(s))
    assert good.outcome in s.references.good.expect_outcome, _story(good)
    assert good.outcome in s.goal.success, _story(good)
    bad = play_reference(s, s.references.bad, ScriptedCustomer(s))
    assert bad.outcome in s.references.bad.expect_outcome, _story(bad)
    assert bad.outcome not in s.goal.success, _story(bad)


def _story(session) -> str:
    lines = [f"outcome={session.outcome} ({session.end_reason})"]
    for t in session.turns:
        extra = f" acts={[a.value for a in t.acts]}" if t.acts else f" beat={t.beat} patience={t.patience}"
        lines.append(f"  {t.role.value}: {t.text}{extra}")
    return "\n".join(lines)
