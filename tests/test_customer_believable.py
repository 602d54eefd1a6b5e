"""A believable buyer in both engines: never the same line twice in a conversation, never a question the same
reply already answered, a mood that agrees with the line, and a reaction to promises no shop can keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.customer import ScriptedCustomer
from simulator.customer.tone import PLEASED, UPSET, tone
from simulator.customer.variety import Said, fresh
from simulator.scenario import load_scenario, load_scenarios
from simulator.scenario.vocabulary import Locale, Outcome
from simulator.session import Session, play_reference, play_replies
from simulator.turn import Speaker

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = load_scenarios([REPO / "scenarios"]).scenarios
OFFICE = load_scenario(REPO / "scenarios/qinghe/presale-size-hesitant-office.yaml")


def customer_lines(session: Session) -> list[str]:
    return [t.text for t in session.messages(Speaker.CUSTOMER)]


def assert_believable(session: Session) -> None:
    lines = customer_lines(session)
    assert len(lines) == len(set(lines)), f"a line said twice: {lines}"
    for t in session.messages(Speaker.CUSTOMER):
        if t.mood is None:
            continue
        if tone(t.text) == UPSET:
            assert t.mood.level <= -1, (t.text, t.mood)
        if tone(t.text) == PLEASED:
            assert t.mood.level >= 0, (t.text, t.mood)


@pytest.mark.parametrize("scenario_id", sorted(SCENARIOS))
def test_references_and_stubborn_trainees_get_a_believable_buyer(scenario_id: str) -> None:
    scenario = SCENARIOS[scenario_id].scenario
    assert scenario.references is not None
    for ref in (scenario.references.good, scenario.references.bad):
        assert_believable(play_reference(scenario, ref, ScriptedCustomer(scenario)))
    # A trainee who says the same unhelpful thing until the buyer leaves: every line is still new.
    stubborn = ["嗯"] * 12 if scenario.locale is Locale.ZH_CN else ["ok"] * 12
    assert_believable(play_replies(scenario, ScriptedCustomer(scenario), stubborn, reply_seconds=5))


def test_fresh_prefers_the_hashed_variant_and_never_repeats() -> None:
    said = Said()
    seen = []
    for n in range(20):
        line = fresh(["所以呢？", "然后呢？"], said, 7, "fallback", n, Locale.ZH_CN)
        assert line not in said
        said.add(line)
        seen.append(line)
    assert len(set(seen)) == 20 and all(s.endswith(("所以呢？", "然后呢？")) for s in seen)


def test_an_answer_in_the_same_reply_is_not_asked_for_again() -> None:
    # M码 recommended and the exchange policy stated at once: no "万一不合身能换吗？", the buyer decides.
    s = play_replies(
        OFFICE,
        ScriptedCustomer(OFFICE),
        ["方便告诉我您的身高体重吗？", "165cm、104斤建议拍M码哦，签收后7天内可以免费换一次尺码，还送运费险"],
    )
    assert s.outcome is Outcome.BOUGHT
    assert not any("换吗" in line or "怎么办" in line for line in customer_lines(s))


def test_a_question_in_a_reply_is_answered_next_to_the_beat() -> None:
    s = play_replies(OFFICE, ScriptedCustomer(OFFICE), ["方便告诉我您的身高体重吗？平时喜欢宽松还是修身呀？"])
    assert {"height", "weight", "fit_preference"} <= set(s.state.revealed)
    assert "穿M" in customer_lines(s)[1]


def test_a_wrong_fact_about_the_buyer_is_corrected() -> None:
    s = play_replies(OFFICE, ScriptedCustomer(OFFICE), ["您的身高是170cm，对吧？"])
    last = customer_lines(s)[-1]
    assert "165" in last and last.startswith(("不对", "不是"))
    # Policy that mentions a keyword is not a claim about the buyer.
    s = play_replies(OFFICE, ScriptedCustomer(OFFICE), ["M码比较合适，个子高一点的也能穿，7天内可以换哦"])
    assert not customer_lines(s)[-1].startswith(("不对", "不是"))


def test_a_promise_no_shop_can_keep_is_doubted() -> None:
    s = play_replies(OFFICE, ScriptedCustomer(OFFICE), ["亲放心，保证100%合身，绝对不会出问题"])
    last = s.messages(Speaker.CUSTOMER)[-1]
    assert last.text in ("真的吗？你能保证？", "这么肯定？到时候做不到怎么办？", "你说得这么绝对，我反而有点不放心。")
    assert s.state.mood <= OFFICE.persona.mood.level  # never pleased by it (reassurance may offset the doubt)


def test_rudeness_offends_even_without_a_beat() -> None:
    s = play_replies(OFFICE, ScriptedCustomer(OFFICE), ["爱买不买，烦不烦"])
    last = s.messages(Speaker.CUSTOMER)[-1]
    assert tone(last.text) == UPSET and last.mood is not None and last.mood.level <= -1
