"""The LLM customer with a fake model: accepted answers, every guard, retries and the scripted fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import Played

from simulator.customer import LLMCustomer, ScriptedCustomer, make_customer
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
    assert "not pleased" in fake.calls[-1][-1].content


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


def test_streaming_hands_over_only_a_line_the_guards_passed() -> None:
    s, _ = session_with(out('我165，"104斤"\n左右'))
    pieces: list[str] = []
    turns = s.reply(ASK, on_delta=pieces.append)
    assert pieces == ['我165，"104斤"\n左右'] == [customer_turn(turns).text]


def test_a_rejected_line_never_reaches_the_stream() -> None:
    s, _ = session_with(out("亲，有什么可以帮您"), out("好的，我来查一下。"))
    pieces: list[str] = []
    turns = s.reply(ASK, on_delta=pieces.append)
    assert pieces == [], "neither rejected line may flash on screen before the scripted one replaces it"
    assert customer_turn(turns).source is TurnSource.LLM_FALLBACK


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


# -- the guards that keep a weak model faithful (the failures seen with a real 1.5B model) --------------------

WRONG_ITEM = load_scenario(
    Path(__file__).resolve().parent.parent / "scenarios/qinghe/complaint-wrong-item-demands-manager.yaml"
)
FLEECE = load_scenario(
    Path(__file__).resolve().parent.parent / "scenarios/northwind/aftersales-fleece-size-exchange.yaml"
)


def rejected_for(scenario, *lines: str, reply: str, before: list[str] = ()) -> tuple[dict[str, int], object]:
    """Play ``before`` with good answers, then ``reply`` with ``lines`` as the model's answers."""
    fake = FakeChatModel(default=LLMError("no more"))
    s = Played(Session.create(scenario, seed=1), LLMCustomer(scenario, fake))
    s.start()
    for b in before:
        fake.push(out("嗯嗯") if scenario.locale == "zh-CN" else out("ok"))
        s.reply(b)
    start = dict(s.state.guard_rejections)
    fake.push(*(out(x) for x in lines))
    turns = s.reply(reply)
    now = {k: v - start.get(k, 0) for k, v in s.state.guard_rejections.items() if v - start.get(k, 0)}
    return now, customer_turn(turns)


@pytest.mark.parametrize(
    "line",
    ["好的，我等一下。", "好的，我来查一下。", "嗯，你们快点处理"],
)
def test_a_line_for_a_revealing_beat_must_state_the_facts(line: str) -> None:
    rules, c = rejected_for(WRONG_ITEM, line, line, reply="麻烦您发一下订单号，我马上核实")
    assert rules.get("missing-fact") == 2 and c.source is TurnSource.LLM_FALLBACK
    assert "659797114710497465" in c.text, "the scripted line gives the order number"


@pytest.mark.parametrize(
    "line",
    [
        "订单号6597 9711 4710 4974 65，[图片] 吊牌上写的P501。",  # digits in groups
        "659797114710497465。[图片] 你自己看吊牌，P501",
    ],
)
def test_facts_count_in_any_phrasing(line: str) -> None:
    s = Played(Session.create(WRONG_ITEM, seed=1), LLMCustomer(WRONG_ITEM, FakeChatModel([out(line)])))
    s.start()
    c = customer_turn(s.reply("麻烦您发一下订单号，我马上核实"))
    assert c.source is TurnSource.LLM and c.text == line
    assert {"order_id", "photo"} <= set(s.state.revealed)


def test_numbers_in_words_state_a_fact() -> None:
    s = Played(Session.create(SCENARIO, seed=1), LLMCustomer(SCENARIO, FakeChatModel([out("我一米六五，一百零四斤")])))
    s.start()
    assert customer_turn(s.reply(ASK)).source is TurnSource.LLM
    assert set(s.state.revealed) >= {"height", "weight"}


def test_english_number_words_state_a_fact() -> None:
    s = Played(
        Session.create(FLEECE, seed=1), LLMCustomer(FLEECE, FakeChatModel([out("got it four days ago i think")]))
    )
    s.start()
    c = customer_turn(s.reply("When was it delivered?"))
    assert c.source is TurnSource.LLM and "delivered" in s.state.revealed


def test_the_state_records_only_the_facts_the_line_shows() -> None:
    # The beat reveals order_id and photo; a line that gives only the order number records only that.
    s = Played(
        Session.create(WRONG_ITEM, seed=1), LLMCustomer(WRONG_ITEM, FakeChatModel([out("659797114710497465，你快点")]))
    )
    s.start()
    c = customer_turn(s.reply("麻烦您发一下订单号，我马上核实"))
    assert c.source is TurnSource.LLM
    assert "order_id" in s.state.revealed and "photo" not in s.state.revealed


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("好的，我马上帮您核实。错发的商品我们承担运费。", "agent-talk"),  # the real 1.5B model's role swap
        ("我帮您查一下物流", "agent-talk"),
        ("给您退款可以吗", "agent-talk"),
        ("道歉就完了？我就想知道你们经理什么时候给我回电话", "echo"),
        ("叫你们经理来。订单号123456789012345678", "invented"),  # an order number nobody gave
        ("我上周三就催过了，叫经理", "invented"),  # a date not in the persona
        ("我上次买了花了500块，叫经理", "invented"),  # an amount
        ("你们7天无理由，还包邮，叫经理来", "policy"),
        ("你们不是有运费险吗，退货运费险赔，叫经理", "policy"),
        ("Get me your manager now.", "language"),
        ("你们怎么发货的？我买的裙子给我发条裤子？叫你们经理来跟我说。", "restart"),
    ],
)
def test_each_new_guard_rejects_its_failure(line: str, rule: str) -> None:
    reply = "我理解您着急，您说的我都记下了：道歉就完了？我就想知道你们经理什么时候给我回电话"
    rules, c = rejected_for(WRONG_ITEM, line, line, reply=reply)
    assert rules.get(rule) == 2, rules
    assert c.source is TurnSource.LLM_FALLBACK


def test_asking_about_policy_is_allowed() -> None:
    rules, c = rejected_for(WRONG_ITEM, "那来回运费谁出？叫经理来说", reply="我理解您着急，您说的我都记下了")
    assert not rules and c.source is TurnSource.LLM


def test_an_english_customer_writing_chinese_is_rejected() -> None:
    rules, _c = rejected_for(FLEECE, "好的谢谢", "好的谢谢", reply="Hi there!")
    assert rules.get("language") == 2


def test_saying_an_earlier_line_again_is_rejected() -> None:
    s = Played(
        Session.create(SCENARIO, seed=1),
        LLMCustomer(SCENARIO, FakeChatModel([out("嗯嗯，我先看看"), out("嗯嗯，我先看看"), out("嗯嗯，我先看看")])),
    )
    s.start()
    s.reply("亲，这款是法式碎花连衣裙哦")
    s.reply("面料是雪纺的哦")
    assert s.state.guard_rejections.get("repeat") == 2
    texts = [t.text for t in s.messages(Speaker.CUSTOMER)]
    assert len(texts) == len(set(texts)), "no customer line twice"


def test_a_pleased_line_after_a_rude_reply_is_too_cooperative() -> None:
    rules, _c = rejected_for(SCENARIO, "好的谢谢😊", "好的谢谢😊", reply="爱买不买，烦不烦")
    assert rules.get("too-cooperative") == 2


def test_the_mood_shown_agrees_with_the_accepted_line() -> None:
    s = Played(Session.create(SCENARIO, seed=1), LLMCustomer(SCENARIO, FakeChatModel([out("这什么态度？？我要投诉")])))
    s.start()
    c = customer_turn(s.reply("亲，这款是法式碎花连衣裙哦"))
    assert c.source is TurnSource.LLM and s.state.mood <= -1 and c.mood is not None and c.mood.level <= -1


def test_a_calm_line_after_rudeness_the_script_takes_offence_at_is_rejected() -> None:
    # The real 1.5B model answered "你烦不烦啊，爱买不买" with "不会，我165穿M码，你看看有没有合适的。"
    rules, c = rejected_for(SCENARIO, "不会，我165穿M码，你看看有没有合适的。", "我穿M码", reply="你烦不烦啊，爱买不买")
    assert rules.get("too-cooperative") == 2 and c.source is TurnSource.LLM_FALLBACK


def test_a_size_alone_does_not_state_a_size_preference() -> None:
    # "宽松这方面，您能说说吗？" → "好的，我165穿M码。" does not say she dislikes tight clothes.
    rules, c = rejected_for(SCENARIO, "好的，我165穿M码。", "好的，我165穿M码呀", reply="宽松这方面，您能说说吗？")
    assert rules.get("missing-fact") == 2 and "不喜欢" in c.text
