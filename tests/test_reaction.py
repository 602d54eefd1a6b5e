"""The customer's reaction: cues per message (zh and en), repeated questions, the final state and trend, the
simulated customer's mood and outcome, its place in the grade (blend, pass rule, stored form) and in the reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeGrader, fake_engine, login, say, start

from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.errors import ValidationFailed
from simulator.grading import Grade, Grader
from simulator.grading.reaction import (
    REAL_CHAT_SHARE,
    SCENARIO_SHARE,
    Reaction,
    load_reaction_words,
    reaction_reader_for,
)
from simulator.grading.report import render
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Mood, Outcome
from simulator.session import Session, fill_variables
from simulator.store.users import create_user, password_hasher
from simulator.transcript import Transcript, parse_transcript
from simulator.turn import Speaker, Turn
from web import create_app
from web.ratelimit import RateLimiter
from web.report import build_report

REPO = Path(__file__).resolve().parent.parent


def chat(*lines: str, **extra: Any) -> Transcript:
    """A transcript from alternating lines, the customer first."""
    turns = [{"role": "customer" if i % 2 == 0 else "agent", "text": t} for i, t in enumerate(lines)]
    return parse_transcript({"id": "t", "turns": turns, **extra}, default_id="t")


def kinds(r: Reaction) -> list[list[str]]:
    return [[c.kind for c in m.cues] for m in r.messages]


READER = reaction_reader_for()


def test_angry_customer_who_leaves_zh() -> None:
    r = READER.read(
        chat(
            "我的快递怎么还没到",
            "亲，物流在路上哦",
            "都五天了！！你们什么态度",
            "嗯",
            "算了，我要投诉，给你们差评",
        )
    )
    assert kinds(r)[1] == ["anger", "urgency"] or set(kinds(r)[1]) == {"anger", "urgency"}
    assert {"complaint", "leaving"} <= set(kinds(r)[2])
    assert r.state == "angry" and r.complained and r.left_unhappy
    assert r.trend == "falling" and r.satisfaction < -1 and r.score < 40
    said = next(c for c in r.messages[2].cues if c.kind == "complaint")
    assert said.words == "投诉"  # the customer's own words are the evidence


def test_thanked_customer_who_accepts_zh_and_en() -> None:
    zh = READER.read(chat("这件羽绒服能机洗吗？", "亲，建议手洗或干洗哦，机洗容易跑绒", "好的，可以了，谢谢亲"))
    assert set(kinds(zh)[-1]) == {"thanks", "acceptance"}
    assert zh.state == "satisfied" and zh.trend == "rising" and not zh.left_unhappy and zh.score > 80
    en = READER.read(chat("Can I still change the size?", "Sure, I've changed it to M for you.", "Perfect, thanks!"))
    assert set(kinds(en)[-1]) == {"thanks", "acceptance"} and en.state == "satisfied"


def test_angry_customer_en_and_negation_and_questions() -> None:
    en = READER.read(
        chat("Where is my refund?", "Check the page.", "This is ridiculous. Forget it, I'll leave a bad review.")
    )
    assert {"anger", "leaving", "complaint"} <= set(kinds(en)[-1]) and en.state == "angry"
    assert READER.cues("我不生气，就是问问") == []  # a negated cue is no cue
    assert READER.cues("I'm not angry") == []
    assert READER.cues("可以了吗？") == []  # acceptance in a question accepts nothing yet
    assert [c.kind for c in READER.cues("oh great, thanks for nothing")] == ["sarcasm"]  # not thanks too


def test_repeated_question_needs_an_answer_between_and_a_question() -> None:
    r = READER.read(chat("这个能开专票吗", "亲，您好", "这个能开专票吗？", "可以的"))
    assert kinds(r)[1] == ["repeated"] and r.messages[1].satisfaction < 0
    # two messages in a row are one question told twice, not asked again; a pasted order card is no question
    t = parse_transcript(
        {
            "id": "p",
            "turns": [
                {"role": "customer", "text": "能开专票吗"},
                {"role": "customer", "text": "能开专票吗"},
                {"role": "agent", "text": "可以的"},
                {"role": "customer", "text": "订单号:[ORDERID_123456] 商品ID:998877"},
                {"role": "agent", "text": "收到"},
                {"role": "customer", "text": "订单号:[ORDERID_123456] 商品ID:998877"},
            ],
        },
        default_id="p",
    )
    assert all("repeated" not in k for k in kinds(READER.read(t)))


def test_simulated_mood_and_outcome_outweigh_the_words() -> None:
    turns = [
        Turn(role=Speaker.CUSTOMER, text="在吗", mood=Mood.NEUTRAL),
        Turn(role=Speaker.AGENT, text="亲，您好"),
        Turn(role=Speaker.CUSTOMER, text="好的谢谢", mood=Mood.ANGRY),
    ]
    left = READER.read(Transcript(id="s", turns=turns, outcome=Outcome.BAD_REVIEW.value))
    assert left.simulated and left.outcome == "bad-review" and left.mood == -2
    assert left.state == "angry" and left.complained and left.satisfaction < -1
    bought = READER.read(
        Transcript(
            id="s", turns=[*turns[:2], turns[2].model_copy(update={"mood": Mood.PLEASED})], outcome=Outcome.BOUGHT.value
        )
    )
    assert bought.state == "satisfied" and bought.satisfaction > 1
    # a real chat's outcome (a conversion flag) without a simulated mood is no evidence of satisfaction
    real = READER.read(chat("在吗", "亲，您好", "好的谢谢", outcome="left"))
    assert not real.simulated and real.outcome is None and real.state == "satisfied"


def test_rude_agent_whose_customer_leaves_angry_does_not_pass() -> None:
    grader = Grader()
    rude = chat("衣服破了个洞，怎么处理", "自己看详情页", "什么态度！！我要投诉", "嗯")
    g = grader.grade(rude)
    assert g.reaction is not None and g.reaction.left_unhappy
    assert g.lost_the_customer and g.passed is False
    assert any(n.criterion == "lost-the-customer" and "不算通过" in n.message for n in g.notes)
    # whatever the points: the same rule holds at a pass mark of 0
    assert Grader(pass_mark=0).grade(rude).passed is False
    # an angry customer after courteous service is not the agent's failing on this rule
    polite = grader.grade(
        chat(
            "衣服破了个洞，怎么处理",
            "亲，非常抱歉给您带来不便，麻烦您拍张照片，我马上帮您申请换新",
            "你们质量太差了，我要投诉",
            "非常理解您的心情，真的很抱歉，照片收到后我第一时间给您换新，感谢您的耐心",
        )
    )
    assert polite.reaction is not None and polite.reaction.left_unhappy and not polite.lost_the_customer


def test_overall_blends_the_reaction_more_without_a_scenario() -> None:
    g = Grader().grade(chat("这件能机洗吗", "亲，您好～这款建议手洗哦", "好的谢谢，可以了", "不客气，祝您生活愉快～"))
    assert g.reaction_weight == REAL_CHAT_SHARE and g.reaction is not None and g.criteria_overall is not None
    expected = (1 - REAL_CHAT_SHARE) * g.criteria_overall + REAL_CHAT_SHARE * g.reaction.score
    assert g.overall == pytest.approx(round(expected, 1))
    assert 0 < SCENARIO_SHARE < REAL_CHAT_SHARE


def test_grade_round_trip_with_and_without_reaction() -> None:
    g = Grader().grade(chat("快递怎么还没到？？", "亲，马上帮您查", "算了，不要了"))
    data = g.to_dict()
    assert data["reaction"]["state"] and data["reaction"]["messages"][1]["cues"]
    back = Grade.from_dict(data)
    assert back.reaction == g.reaction and back.overall == g.overall and back.passed == g.passed
    # a grade stored before the reaction was read loads, and its overall is the criteria's as it was
    old = {k: v for k, v in data.items() if k not in ("reaction", "reaction_weight", "criteria_overall")}
    legacy = Grade.from_dict(old)
    assert legacy.reaction is None and legacy.overall == g.criteria_overall


def test_vocabulary_problems_are_located(tmp_path: Path) -> None:
    bad = tmp_path / "reaction.yaml"
    text = (REPO / "scenarios" / "rules" / "reaction.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("  praise:\n", "  prasie:\n"), encoding="utf-8")
    with pytest.raises(ValidationFailed) as e:
        load_reaction_words(bad)
    assert "reaction.yaml:" in str(e.value) and "prasie" in str(e.value) and "praise" in str(e.value)


def test_cli_report_shows_the_trajectory() -> None:
    text = render(Grader().grade(chat("怎么还没发货？？", "亲，今天就发", "好的，谢谢")))
    assert "顾客 customer" in text and ("满意 satisfied" in text or "一般 neutral" in text)
    assert "催促 urgency「" in text and "感谢 thanks「谢" in text


def test_report_card_places_the_reaction_on_customer_turns() -> None:
    session = Session(id="s1", scenario_id="x", seed=1, started_at=datetime(2026, 1, 1, tzinfo=UTC))
    session.turns = [
        Turn(role=Speaker.CUSTOMER, text="怎么还没发货？？", seq=1),
        Turn(role=Speaker.AGENT, text="亲，今天就发", seq=2),
        Turn(role=Speaker.CUSTOMER, text="好的，谢谢", seq=3),
    ]
    grade = Grader().grade(session.transcript())
    card = build_report(session, grade, target_reply_seconds=None)
    assert card.reaction is not None and [p.number for p in card.reaction.points] == [1, 2]
    assert card.turns[0].reaction is not None and card.turns[1].reaction is None
    assert [c.kind for c in card.turns[2].reaction.cues] == ["thanks", "acceptance"]  # type: ignore[union-attr]
    assert card.reaction.points[0].signed.startswith("−") and card.reaction.points[1].level in ("good", "great")


class MoodyCustomer:
    """Complains on the first reply and leaves with a bad review on the second."""

    name = "moody"

    def __init__(self, scenario: Scenario):
        self.scenario = scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        state = ctx.state.model_copy(deep=True)
        return CustomerResponse([CustomerMessage(fill_variables("在吗，怎么还没发货", ctx.variables))], state)

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        state = ctx.state.model_copy(update={"mood": ctx.state.mood - 1, "turns": ctx.state.turns + 1})
        if state.turns >= 2:
            return CustomerResponse(
                [CustomerMessage("算了，什么态度，给你们差评")], state, outcome=Outcome.BAD_REVIEW, end_reason="outcome"
            )
        return CustomerResponse([CustomerMessage("都三天了！！")], state)


class ReactionGrader(FakeGrader):
    """The fake grade with the customer's reaction read as the real grader reads it."""

    def grade(self, transcript: Transcript, scenario: Any = None, variables: Any = None) -> Grade:
        g = super().grade(transcript, scenario, variables)
        g.reaction = READER.read(transcript)
        g.reaction_weight = SCENARIO_SHARE
        return g


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_web_report_shows_the_trajectory(settings: Any, knowledge: Any, lang: str) -> None:
    hasher = password_hasher(fast=True)
    engine = fake_engine(settings, knowledge, MoodyCustomer, grader=ReactionGrader())
    app = create_app(settings, engine=engine, hasher=hasher, limiter=RateLimiter(burst=30, per_second=100))
    with engine.store.write() as s:
        create_user(s, hasher, "xiaoman", "demo1234", role="trainee", display_name="小满")
    try:
        c, token = login(app, "xiaoman")
        c.post("/lang", data={"lang": lang, "next": "/", "csrf_token": token})
        sid = start(c, token)
        say(c, token, sid, "嗯")
        say(c, token, sid, "不知道")
        html = c.get(f"/reports/{sid}").text
        assert 'id="reaction"' in html and 'id="reaction-state"' in html
        assert html.count('class="rx-dot') >= 3  # one per customer message on the track
        assert "finding_key" not in html  # no template text leaks under a finding
        if lang == "zh-CN":
            assert "顾客反应" in html and "生气或投诉" in html and "扬言投诉 “给你们差评”" in html
        else:
            assert "The customer&#39;s reaction" in html or "The customer's reaction" in html
            assert "Angry or complaining" in html and "Threat to complain" in html and "顾客反应" not in html
    finally:
        engine.store.dispose()
