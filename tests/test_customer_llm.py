"""The LLM customer with a fake model: accepted answers, every guard, retries and the scripted fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import Played

from simulator.customer import LLMCustomer, ScriptedCustomer, make_customer
from simulator.customer.llm import ReplyStream
from simulator.customer.prompt import SUFFIX_MARK, parse_control, system_prompt
from simulator.llm import ChatMessage, FakeChatModel, LLMError
from simulator.scenario import load_scenario
from simulator.scenario.vocabulary import Outcome
from simulator.session import Session
from simulator.settings import Settings
from simulator.turn import Speaker, TurnKind, TurnSource

SCENARIO = load_scenario(Path(__file__).resolve().parent.parent / "scenarios/qinghe/presale-size-hesitant-office.yaml")
ASK = "亲，您好～方便告诉我您的身高体重吗？"


def out(reply: str, mood: int = 0, outcome: str | None = None, stop: bool = False) -> str:
    return json.dumps({"reply": reply, "mood_delta": mood, "outcome": outcome, "stop": stop}, ensure_ascii=False)


def session_with(*outputs: object) -> tuple[Session, FakeChatModel]:
    fake = FakeChatModel(outputs)  # type: ignore[arg-type]
    s = Played(Session.create(SCENARIO, seed=1), LLMCustomer(SCENARIO, fake))
    s.start()
    return s, fake


def customer_turn(turns):
    return next(t for t in turns if t.role is Speaker.CUSTOMER)


def test_a_good_answer_is_used_with_mood_and_usage() -> None:
    s, _fake = session_with(out("我165，104斤左右😂", mood=1))
    turns = s.reply(ASK)
    c = customer_turn(turns)
    assert c.text == "我165，104斤左右😂" and c.source is TurnSource.LLM
    assert c.usage is not None and c.usage.calls == 1 and c.usage.prompt_tokens
    assert s.state.mood == 1 and set(s.state.revealed) >= {"height", "weight"}
    assert c.beat == "gives-measurements", "the planned beat is recorded for the grader and trainers"
    assert not [t for t in turns if t.kind is TurnKind.NOTICE]


def test_prompt_has_a_stable_prefix_and_a_per_turn_suffix() -> None:
    s, fake = session_with(out("我165，104斤左右"), out("M码吗，那不合适能换吗"))
    s.reply(ASK)
    s.reply("165cm、104斤建议拍M码哦")
    first, second = fake.calls
    assert first[0] == second[0] and first[0].role == "system"
    assert "104斤" in first[0].content and "ONLY when the agent asks" in first[0].content
    # History is append-only: the second prompt starts with the first one minus its note.
    assert second[1:3] == [ChatMessage("assistant", s.turns[0].text), ChatMessage("user", ASK)]
    assert SUFFIX_MARK in first[-1].content and SUFFIX_MARK in second[-1].content
    assert SUFFIX_MARK not in second[2].content


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ("not json at all", "malformed"),
        (out(""), "empty"),
        (out("亲，您好，有什么可以帮您的吗？"), "role swap"),
        (out(ASK), "echo of the agent"),
        (out("在吗，这条碎花裙子我165穿什么码呀"), "restart"),
        (out("我165，104斤，胸围86cm"), "invented number"),
        (out("我拍了哈", outcome="bought"), "early success"),
        (out("I am 165cm tall"), "wrong language"),
        (out("<your chat message>"), "template echo"),
    ],
)
def test_each_guard_retries_once_then_accepts_a_good_second_answer(bad: str, why: str) -> None:
    s, fake = session_with(bad, out("我165，104斤左右"))
    c = customer_turn(s.reply(ASK))
    assert c.source is TurnSource.LLM and c.text == "我165，104斤左右", why
    assert len(fake.calls) == 2
    assert "broke the rules" in fake.calls[1][-1].content


def test_leaking_a_hidden_fact_before_being_asked() -> None:
    s, fake = session_with(out("嗯嗯，我104斤哦", mood=0), out("嗯嗯，想先看看"))
    c = customer_turn(s.reply("亲，您好，欢迎光临青禾～"))
    assert c.text == "嗯嗯，想先看看"
    assert "weight" in fake.calls[1][-1].content


def test_too_cooperative_with_wrong_information() -> None:
    s, fake = session_with(out("我165，104斤"))
    s.reply(ASK)
    fake.push(out("好的谢谢！", mood=2), out("啊？我平时都穿M的"))
    c = customer_turn(s.reply("建议您拍L码，绝对合身"))
    assert c.text == "啊？我平时都穿M的"
    assert "do not be pleased" in fake.calls[-1][-1].content


def test_two_bad_answers_fall_back_to_the_script_with_a_notice() -> None:
    s, _fake = session_with("garbage", out("亲，有什么可以帮您"))
    turns = s.reply(ASK)
    notice = [t for t in turns if t.kind is TurnKind.NOTICE]
    c = customer_turn(turns)
    assert notice and notice[0].role is Speaker.SYSTEM and "剧本" in notice[0].text
    assert c.source is TurnSource.LLM_FALLBACK and c.beat == "gives-measurements"
    assert c.text in SCENARIO.beat("gives-measurements").say or "104" in c.text
    assert s.state.llm_fallbacks == 1 and not s.ended


def test_endpoint_failure_falls_back_and_the_session_continues() -> None:
    s, fake = session_with(LLMError("endpoint down"), out("M码吗，那要是不合适怎么办呀"))
    turns = s.reply(ASK)
    assert [t.kind for t in turns] == [TurnKind.MESSAGE, TurnKind.NOTICE, TurnKind.MESSAGE]
    assert "连不上" in turns[1].text and len(fake.calls) == 1, "no re-ask after an endpoint failure"
    turns = s.reply("165cm、104斤建议拍M码哦")
    assert customer_turn(turns).source is TurnSource.LLM, "the next turn tries the model again"
    assert [t.text for t in s.turns[:2]] == [s.turns[0].text, ASK], "nothing already said is lost"


def test_scripted_endings_are_authoritative() -> None:
    s, fake = session_with(out("我165，104斤"), out("M码吗，不合适咋办"), out("好嘞，那我拍M码啦", mood=1))
    s.reply(ASK)
    s.reply("165cm、104斤建议拍M码哦")
    s.reply("放心，签收后7天内可以免费换一次尺码，还送运费险")
    assert s.outcome is Outcome.BOUGHT and s.end_reason == "outcome"
    assert "END the conversation now" in fake.calls[-1][-1].content


def test_leaving_when_upset_is_allowed() -> None:
    s, _fake = session_with(out("算了，不买了", mood=-2, outcome="left", stop=True))
    s.state.patience = 1
    s.reply("自己看详情页")
    assert s.outcome is Outcome.LEFT


def test_streaming_shows_only_the_reply_text() -> None:
    s, _ = session_with(out('我165，"104斤"\n左右'))
    pieces: list[str] = []
    turns = s.reply(ASK, on_delta=pieces.append)
    assert "".join(pieces) == '我165，"104斤"\n左右' == customer_turn(turns).text
    got: list[str] = []
    stream = ReplyStream(got.append)
    for ch in '{"mood_delta": 0, "reply": "a\\u4f60\\"b", "stop": false}':
        stream(ch)
    assert "".join(got) == 'a你"b'


def test_parse_control_tolerates_fences_and_none_words() -> None:
    c = parse_control('```json\n{"reply": " 好的 ", "mood_delta": 1, "outcome": "none"}\n```')
    assert (c.reply, c.mood_delta, c.outcome, c.stop) == ("好的", 1, None, False)


def test_make_customer_picks_by_settings() -> None:
    assert isinstance(make_customer(Settings(llm_base_url=None), SCENARIO), ScriptedCustomer)
    llm = make_customer(Settings(llm_base_url="http://127.0.0.1:9/v1"), SCENARIO)
    assert isinstance(llm, LLMCustomer) and llm.model.name == Settings().llm_model
    assert isinstance(make_customer(Settings(llm_base_url=None), SCENARIO, model=FakeChatModel()), LLMCustomer)


def test_system_prompt_is_a_pure_function_of_scenario_and_variables() -> None:
    values = SCENARIO.variable_values  # a session always carries every variable (defaults filled in)
    a = system_prompt(SCENARIO, values({"height_say": "我165"}))
    assert a == system_prompt(SCENARIO, values({"height_say": "我165"}))
    assert "我165 104斤左右" in a and "{height_say}" not in a
    assert system_prompt(SCENARIO, values({"height_say": "165cm"})) != a
