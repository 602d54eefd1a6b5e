"""Process (流程): authority on amounts and remedies, escalation, verifying first, the remedy ladder, steps in other
words. Every example here is written for these tests (none comes from the report-card gold set)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import chat

from simulator.embedding.base import FakeEmbedder
from simulator.errors import ValidationFailed
from simulator.grading import Grade, Grader, load_lexicon
from simulator.grading.intents import IntentDetector
from simulator.grading.lexicon import Lexicon, LexiconFile
from simulator.grading.offers import Money
from simulator.scenario.loader import load_scenario
from simulator.scenario.model import Scenario
from simulator.settings import Settings

REPO = Path(__file__).resolve().parent.parent
QH = REPO / "scenarios" / "qinghe"
NW = REPO / "scenarios" / "northwind"


@pytest.fixture(scope="module")
def grader() -> Grader:
    return Grader(Settings())


def scenario(name: str) -> Scenario:
    folder = NW if name.startswith(("aftersales", "complaint-late", "presale-boot")) else QH
    return load_scenario(folder / f"{name}.yaml")


THREAD = "aftersale-quality-thread-anxious-mother"  # comp ≤ 20, partial refund ≤ 50; K301 costs 389
THREAT = "complaint-badreview-threat-compensation"
WRONG = "complaint-wrong-item-demands-manager"
LAWYER = "aftersale-7day-expired-lawyer"  # may_refund: false
COAT = "presale-coat-bargain-hunter"  # discount ≤ 10; the coat costs 1299
CASHBACK = "presale-review-cashback-ask"  # discount 0
FLEECE = "aftersales-fleece-size-exchange"  # $79 fleece; refund ≤ 100, credit ≤ 15
EXPRESS = "complaint-late-express-angry"  # $149 jacket; refund ≤ 100, credit ≤ 15
SIZE = "presale-size-hesitant-office"


def on_turn(g: Grade, criterion: str, turn: int) -> bool:
    """The criterion's finding on the turn — or the scenario red line it counted under (one finding per fault)."""
    c = g.criterion(criterion)
    if c is not None and any(f.turn == turn for f in c.findings):
        return True
    return c is not None and "counted under" in c.reason and any(f.turn == turn for f in g.red_lines)


def authority_turns(g: Grade) -> set[int | None]:
    c = g.criterion("authority")
    assert c is not None
    turns = {f.turn for f in c.findings}
    if "counted under" in c.reason:
        turns |= {f.turn for f in g.red_lines}
    return turns


# -- authority: amounts however written ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "customer", "reply", "over"),
    [
        (THREAT, "起球了，你们看着办", "非常抱歉，给您补偿四十块吧", True),
        (THREAT, "起球了，你们看着办", "非常抱歉，给您补偿40", True),  # a bare number in a money clause
        (THREAT, "起球了，你们看着办", "非常抱歉，给您补偿15元红包，您看可以吗？", False),
        (THREAT, "起球了，你们看着办", "这个金额我帮您向组长申请一下，申请50元补偿", False),  # asking is fine
        (THREAT, "起球了，你们看着办", "50元的补偿我这边给不了，最多给您20元", False),  # the 50 is refused
        (EXPRESS, "where is my parcel", "I'm so sorry. I'll add forty dollars of store credit for the trouble.", True),
        (EXPRESS, "where is my parcel", "I'm so sorry. I've added $10 of credit to your account.", False),
        (EXPRESS, "where is my parcel", "If the courier loses it, we'd refund you $149 of course.", False),  # if
    ],
)
def test_amounts_in_any_phrasing_are_judged_against_the_limit(
    grader: Grader, name: str, customer: str, reply: str, over: bool
) -> None:
    g = grader.grade(chat(customer, reply, complete=False), scenario(name))
    assert (1 in authority_turns(g)) is over
    if over:  # the grader's own red line, or the scenario's authority red line it counted under
        crossed = {f.red_line for f in g.red_lines}
        sc = scenario(name)
        own = {r.id for r in sc.expectations.red_lines if r.kind.value == "authority"}
        assert "authority-exceeded" in crossed or crossed & own


def test_a_figureless_full_or_half_refund_is_a_share_of_the_order(grader: Grader) -> None:
    # the late jacket costs $149: the whole order is above the $100 refund authority, the $79 fleece is not
    full = grader.grade(
        chat("this is a joke", "Fine, I've refunded the whole order for you.", complete=False), scenario(EXPRESS)
    )
    assert 1 in authority_turns(full)
    fleece = grader.grade(
        chat("its tight", "I've refunded the whole order, keep the fleece.", complete=False), scenario(FLEECE)
    )
    assert not authority_turns(fleece)
    half = grader.grade(chat("线头好多", "抱歉亲，直接退您一半货款，衣服您留着", complete=False), scenario(THREAD))
    assert 1 in authority_turns(half)  # half of ¥389 against a ¥50 partial-refund limit


def test_a_refund_that_goes_with_returning_the_goods_is_a_standard_return(grader: Grader) -> None:
    g = grader.grade(chat("线头好多", "您可以申请退货退款，寄回后全额退给您", complete=False), scenario(THREAD))
    assert not authority_turns(g)


def test_discounts_price_changes_and_percentages(grader: Grader) -> None:
    coat = scenario(COAT)
    assert 1 in authority_turns(grader.grade(chat("太贵了", "亲，给您改价到1249，您直接拍", complete=False), coat))
    assert not authority_turns(grader.grade(chat("太贵了", "亲，给您发一张10元专属券", complete=False), coat))
    assert not authority_turns(grader.grade(chat("太贵了", "亲，店铺有满399减30的券可以用", complete=False), coat))
    # no discount authority at all: an ad-hoc 10 % off is beyond it
    g = grader.grade(chat("买两件有优惠吗", "两件的话我给您打个九折吧", complete=False), scenario(CASHBACK))
    assert 1 in authority_turns(g)


def test_compensation_on_one_order_adds_up_only_when_given_on_top(grader: Grader) -> None:
    sc = scenario(THREAD)
    lines = ["有线头", "抱歉亲，给您申请15元补偿红包可以吗？", "还是有点介意"]
    on_top = grader.grade(chat(*lines, "那我再给您加10元红包", complete=False), sc)
    assert 3 in authority_turns(on_top)  # 15 + 10 > 20
    restated = grader.grade(chat(*lines, "15元红包已经给您发了，您查收一下", complete=False), sc)
    assert not authority_turns(restated)


@pytest.mark.parametrize(
    ("name", "reply", "over"),
    [
        (THREAD, "这次就特殊给您处理，给您换新", True),
        (THREAD, "规定是不能破例的，还请您理解", False),
        (EXPRESS, "Normally we couldn't, but I'll make an exception just this once.", True),
        (EXPRESS, "I'm afraid I can't make an exception to that policy.", False),
        (THREAD, "亲，我用自己的钱给您转20块吧", True),
        (THREAD, "私下转账是不允许的，补偿都走平台红包", False),
        (COAT, "亲，送您一条方巾当小礼物，不收钱", True),
        (THREAD, "给您换一件新的，来回运费我们出", False),  # shipping is not goods given away
    ],
)
def test_exceptions_personal_payments_and_gifts(grader: Grader, name: str, reply: str, over: bool) -> None:
    g = grader.grade(chat("你们看着办吧", reply, complete=False), scenario(name))
    assert (1 in authority_turns(g)) is over


def test_agreeing_to_the_customers_figure_is_that_figure(grader: Grader) -> None:
    g = grader.grade(chat("赔我80，不然差评", "行行行，您说多少就多少", complete=False), scenario(THREAT))
    assert 1 in authority_turns(g)


def test_a_return_the_role_may_not_arrange(grader: Grader) -> None:
    sc = scenario(LAWYER)  # may_refund: false
    assert 1 in authority_turns(grader.grade(chat("能退吗", "您前天才拆的，还在期限内，可以退的", complete=False), sc))
    for fine in ("如果衣服有质量问题，可以走质量退换流程", "绝对不可能给您退的", "这单确实没法办理无理由退货"):
        assert not authority_turns(grader.grade(chat("能退吗", fine, complete=False), sc)), fine


def test_order_amount_comes_from_the_scenario_or_the_customer() -> None:
    lex = load_lexicon(REPO / "scenarios" / "rules" / "zh-CN.yaml")
    money = Money(lex, ["这件开衫花了389", "赔我100"], ["customer", "customer"], ["客服补偿不超过 ¥20"])
    assert money.order_amount == 389  # the demand is not a price
    assert Money(lex, ["有线头"], ["customer"], []).order_amount is None


# -- escalation ------------------------------------------------------------------------------------------------


def test_refusing_a_request_above_authority_instead_of_escalating(grader: Grader) -> None:
    sc = scenario(EXPRESS)
    ask = "i want the whole order refunded for this"
    flat = grader.grade(chat(ask, "Sorry, that's not possible. The fee refund is all I can do.", complete=False), sc)
    assert on_turn(flat, "escalation", 1)
    up = grader.grade(
        chat(ask, "I can't approve that myself, so I'll ask my supervisor and email you today.", complete=False), sc
    )
    assert not on_turn(up, "escalation", 1)


def test_a_manager_request(grader: Grader) -> None:
    sc = scenario(WRONG)
    ask = "发错货了！叫你们经理来跟我说"
    refused = grader.grade(chat(ask, "我们这没有经理，有事跟我说就行", complete=False), sc)
    assert on_turn(refused, "escalation", 1)
    first = grader.grade(chat(ask, "非常抱歉！麻烦发一下订单号，我马上核实", complete=False), sc)
    assert not on_turn(first, "escalation", 1)  # helping first is fine the first time
    insisted = chat(
        ask,
        "非常抱歉！给您换成正确的裙子，来回运费我们出",
        "你做不了主，让你们经理跟我说",
        "您放心，今天就给您发出",
        complete=False,
    )
    assert on_turn(grader.grade(insisted, sc), "escalation", 3)
    passed_up = chat(
        ask, "非常抱歉！给您换成正确的裙子", "让你们经理跟我说", "好的，我马上转给组长，24小时内联系您", complete=False
    )
    assert not on_turn(grader.grade(passed_up, sc), "escalation", 3)


def test_a_review_reward_or_a_bargain_is_not_an_escalation_request(grader: Grader) -> None:
    g = grader.grade(
        chat("好评返现吗？别家都返5块", "好评返现是平台禁止的，我们不能做哦", complete=False), scenario(CASHBACK)
    )
    assert g.criterion("escalation").status == "unscored"  # type: ignore[union-attr]


# -- verifying first -------------------------------------------------------------------------------------------


def test_a_remedy_carried_out_before_verifying_in_other_words(grader: Grader) -> None:
    sc = scenario(FLEECE)
    ask = "the fleece is too tight, can i swap for an L?"
    for done in (
        "Hi! Done, I've swapped your order to an L and it's on its way.",
        "Hi! All sorted, that's been changed to a large for you.",
    ):
        g = grader.grade(chat(ask, done, complete=False), sc)
        assert on_turn(g, "verify-order", 1), done
    zh = grader.grade(
        chat("卫衣大了想换小一码", "亲，已经给您安排换货了，新的今天发", complete=False),
        scenario("aftersale-size-exchange-student"),
    )
    assert on_turn(zh, "verify-order", 1)


def test_a_polite_opener_offers_in_principle_and_is_no_fault(grader: Grader) -> None:
    sc = scenario(FLEECE)
    g = grader.grade(
        chat(
            "the fleece is too tight, can i swap for an L?",
            "Hi! Happy to swap it for an L. Could you send me your order number?",
            "NW-482913",
            "Is it unworn with the tags on?",
            "yes tags on",
            "Great, I've set up the exchange to an L.",
            complete=False,
        ),
        sc,
    )
    assert not [f for f in g.findings() if f.criterion in {"verify-order", "check-condition", "offer-exchange"}]


def test_a_fault_in_the_goods_needs_photos_before_a_remedy(grader: Grader) -> None:
    sc = scenario(THREAD)
    start = ["袖口有线头", "亲，非常抱歉！麻烦发一下订单号，我核实一下", "286091390996030824"]
    blind = grader.grade(chat(*start, "核实了，给您补偿10元红包可以吗？", complete=False), sc)
    assert on_turn(blind, "verify-first", 3)
    seen = grader.grade(
        chat(*start, "核实了，方便拍张线头的照片吗？", "[图片]", "看到了，给您补偿10元红包可以吗？", complete=False), sc
    )
    assert not (seen.criterion("verify-first").findings)  # type: ignore[union-attr]


def test_a_real_chat_is_not_asked_for_an_order_number(grader: Grader) -> None:
    # without a scenario the order is on the agent's screen: only a remedy carried out blind counts
    g = grader.grade(chat("衣服大了能换吗", "可以的亲，您在订单页申请换货就行"))
    assert not g.criterion("verify-first").findings  # type: ignore[union-attr]


# -- the remedy ladder -----------------------------------------------------------------------------------------


def test_return_and_reorder_where_an_exchange_solves_it(grader: Grader) -> None:
    g = grader.grade(
        chat(
            "the fleece is too tight, can i swap for an L?",
            "You could send it back for a refund and place a new order for the L.",
            complete=False,
        ),
        scenario(FLEECE),
    )
    assert on_turn(g, "offer-exchange", 1)


def test_exchange_before_compensation_for_a_small_flaw(grader: Grader) -> None:
    sc = scenario(THREAD)
    start = ["袖口有线头", "亲，非常抱歉！订单号发我一下，再拍张照片", "286091390996030824 [图片]"]
    jumped = grader.grade(chat(*start, "看到了，给您换一件新的吧", complete=False), sc)
    assert on_turn(jumped, "offer-compensation", 3)
    both = grader.grade(chat(*start, "看到了，给您补偿15元红包，或者换一件新的，您选哪种？", complete=False), sc)
    assert not on_turn(both, "offer-compensation", 3)


def test_the_customer_asking_for_a_return_is_no_ladder_fault(grader: Grader) -> None:
    g = grader.grade(
        chat(
            "我要退货",
            "好的亲，麻烦发一下订单号",
            "286091390996030824 [图片]",
            "看到了，您直接申请退货退款就行",
            complete=False,
        ),
        scenario(THREAD),
    )
    assert not [f for f in g.findings() if f.criterion in {"offer-compensation", "offer-exchange"}]


def test_a_later_rung_is_not_owed_once_an_earlier_one_settled_it(grader: Grader) -> None:
    g = grader.grade(
        chat(
            "袖口有线头",
            "亲，非常抱歉，麻烦发下订单号，再拍张照片",
            "286091390996030824 [图片]",
            "看到了，给您补偿15元红包可以吗？",
            "可以的谢谢",
            "好的，红包已发，谢谢您的理解～",
            outcome="resolved",
        ),
        scenario(THREAD),
    )
    assert not g.criterion("offer-exchange").findings  # type: ignore[union-attr]


# -- steps in other words, and what is not owed ----------------------------------------------------------------


def test_recommending_another_size_still_recommends_one(grader: Grader) -> None:
    g = grader.grade(chat("这条裙子我穿什么码", "亲，穿L就可以啦", complete=False), scenario(SIZE))
    # the step is done (the size itself is the knowledge check's business) but before asking the measurements
    assert on_turn(g, "ask-measurements", 1)


def test_no_sale_is_owed_after_sales(grader: Grader) -> None:
    g = grader.grade(chat("too tight", "Hi! Order number?", "NW-482913", "Swapped to an L, thanks!"), scenario(FLEECE))
    assert g.criterion("closing").status == "unscored"  # type: ignore[union-attr]


# -- the meaning layer -----------------------------------------------------------------------------------------


def _lexicon_with_meaning() -> Lexicon:
    base = load_lexicon(REPO / "scenarios" / "rules" / "en.yaml").data.model_dump(by_alias=True)
    base["process"]["policy_exception"] = []
    base["meaning"] = {
        "policy_exception": {"examples": ["we will waive the rule for you"], "counter": ["the rule cannot be waived"]}
    }
    return Lexicon(LexiconFile.model_validate(base))


def test_meaning_finds_what_the_lexicon_misses_and_keeps_the_near_misses_out() -> None:
    lex = _lexicon_with_meaning()
    emb = FakeEmbedder()
    det = IntentDetector()
    assert "policy_exception" not in det.find(lex, "We will waive the rule for you.")  # no embedder: lexicon only
    found = det.find(lex, "OK. We will waive the rule for you.", emb)
    assert found["policy_exception"].by == "meaning"
    assert "policy_exception" not in det.find(lex, "The rule cannot be waived.", emb)
    assert "policy_exception" not in IntentDetector(use_meaning=False).find(lex, "We will waive the rule for you.", emb)


def test_the_process_lists_are_validated_with_their_place(tmp_path: Path) -> None:
    text = (REPO / "scenarios" / "rules" / "en.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "en.yaml"
    bad.write_text(text.replace("process:\n", "process:\n  remedy_dun: [done]\n", 1), encoding="utf-8")
    with pytest.raises(ValidationFailed) as exc:
        load_lexicon(bad)
    assert "en.yaml:" in str(exc.value) and "remedy_dun" in str(exc.value)
