"""One finding per fault, flat refusals, acknowledging an upset buyer, and one phrase list for the customer and
the grader (issue 9): the customer reacts to exactly what the grader punishes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import chat

from simulator.acts import ActDetector
from simulator.grading import Grader, Lexicon
from simulator.grading.lexicon import lexicon_for
from simulator.phrases import SHARED, shared_rules
from simulator.scenario.loader import load_scenario
from simulator.scenario.vocabulary import Act
from simulator.settings import Settings

REPO = Path(__file__).resolve().parent.parent
RULES = REPO / "scenarios" / "rules"
LATE = REPO / "scenarios" / "qinghe" / "logistics-late-parcel-furious-office.yaml"


@pytest.fixture(scope="module")
def grader() -> Grader:
    return Grader(Settings())


def _on(grade, turn: int) -> list[str]:
    return [f.criterion for f in grade.findings() if f.turn == turn]


# -- one finding per fault ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "reply"),
    [
        ("我的快递三天了一动不动？？你们到底发没发货！！", "亲，欢迎光临青禾，有什么可以帮您"),
        ("My parcel is STILL not here!! this is ridiculous", "Hello, how can I help you today?"),
    ],
)
def test_a_missing_acknowledgement_is_one_finding_not_one_per_criterion(grader: Grader, customer, reply) -> None:
    scenario = load_scenario(LATE) if "快递" in customer else None
    g = grader.grade(chat(customer, reply), scenario)
    on = _on(g, 1)
    assert on.count("empathy") == 1
    assert "empathy-sandwich" not in on and "de-escalation" not in on
    if scenario is not None:  # the sandwich criteria ran, and say which finding counted instead
        sandwich = g.criterion("empathy-sandwich")
        assert sandwich is not None and sandwich.status == "passed" and "empathy" in sandwich.reason


@pytest.mark.parametrize(
    "reply",
    ["绝对保证您周五前收到", "I promise you it will definitely arrive by Friday, guaranteed delivery"],
)
def test_one_over_promise_in_several_words_deducts_once(grader: Grader, reply: str) -> None:
    g = grader.grade(chat("能周五前到吗", reply))
    promise = g.criterion("no-over-promise")
    assert promise is not None and len(promise.findings) == 1


def test_a_scenario_red_line_outranks_the_generic_rule_for_the_same_fault(grader: Grader) -> None:
    scenario = load_scenario(LATE)
    ids = {r.id: r.kind.value for r in scenario.expectations.red_lines}
    g = grader.grade(chat("周五之前能不能到？", "周五前保证送到"), scenario)
    kinds = [ids.get(f.red_line or "") for f in g.red_lines]
    if "over-promise" in kinds:  # the scenario's own over-promise red line crossed: the rule does not deduct again
        promise = g.criterion("no-over-promise")
        assert promise is not None and not promise.findings


def test_two_steps_of_a_scenario_are_two_faults_even_on_one_turn() -> None:
    from simulator.grading.precedence import Ranked, _same_fault
    from simulator.grading.result import Finding
    from simulator.scenario.vocabulary import Dimension

    a = Finding(Dimension.PROCESS, "verify-order", 10, "m", turn=1, evidence="x", span=(0, 3))
    b = Finding(Dimension.PROCESS, "check-condition", 10, "m", turn=1, evidence="x", span=(0, 3))
    ra = Ranked(a, "verify", 2, (0, 3), "verify-order")
    rb = Ranked(b, "verify", 2, (0, 3), "check-condition")
    assert not _same_fault(ra, rb)
    assert _same_fault(ra, Ranked(b, "verify", 2, (0, 3), None))


# -- flat refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "reply", "flat"),
    [
        ("有没有别的办法？", "没有别的办法了，只能留着", True),
        ("有没有别的办法？", "这个确实退不了，不过如果有质量问题，您拍照发我，我按质量问题给您处理", False),
        ("给我返现我就给五星", "好评返现属于违规操作，我们不能做", False),
        ("how do i send them back", "Worn items can't be returned, sorry.", True),
        ("how do i send them back", "Worn boots can't be returned unless they're faulty, I'm afraid.", False),
        (
            "how do i send them back",
            "I can't take them back, but they have a 2-year warranty I can start for you.",
            False,
        ),
    ],
)
def test_a_no_with_nothing_else_is_a_flat_refusal(grader: Grader, customer: str, reply: str, flat: bool) -> None:
    g = grader.grade(chat(customer, reply))
    assert ("no-flat-refusal" in _on(g, 1)) is flat


# -- acknowledging an upset buyer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "reply", "missing"),
    [
        (
            "I PAID FOR EXPRESS and it is STILL not here!!!",
            "Sorry for any inconvenience. Can I have your order number?",
            True,
        ),
        (
            "I PAID FOR EXPRESS and it is STILL not here!!!",
            "I'm so sorry, that's really frustrating. Can I have your order number?",
            False,
        ),
        ("ok. fine. and the fee?? i didnt get express", "Fair point, I've refunded the fee to your card.", False),
        ("hiii the fleece is too tight 😅 can i swap for L??", "Hi! Sure, what's your order number?", False),
        ("我的快递三天了一动不动？？？你们到底发没发货！！", "订单号发一下", True),
        ("你好 我收到的开衫袖口有线头 是不是次品啊😟", "亲，您放心，我帮您看一下，麻烦发张照片", False),
        ("你好 我收到的开衫袖口有线头 是不是次品啊😟", "亲，发张照片看看", True),
    ],
)
def test_acknowledgement_of_an_upset_buyer(grader: Grader, customer: str, reply: str, missing: bool) -> None:
    g = grader.grade(chat(customer, reply))
    assert ("empathy" in _on(g, 1)) is missing


def test_repeated_punctuation_alone_is_upset_only_when_the_mood_carries(grader: Grader) -> None:
    calm = grader.grade(
        chat("hi, can I swap the fleece?", "Hi! Sure.", "tags r still on!! only tried it on", "Great, done.")
    )
    assert "empathy" not in _on(calm, 3)
    angry = grader.grade(
        chat(
            "this is ridiculous, where is it", "Hello, checking.", "NW-611847!!! monday 10:40am", "Thanks. It shipped."
        )
    )
    assert "empathy" in _on(angry, 3)


@pytest.mark.parametrize(
    ("reply", "greets"),
    [("I'm so sorry about this, let me check.", True), ("Worn items can't be returned, sorry.", False)],
)
def test_an_opening_apology_is_a_warm_opening_a_closing_one_is_not(grader: Grader, reply: str, greets: bool) -> None:
    g = grader.grade(chat("this is ridiculous!!", reply))
    assert ("greeting" not in _on(g, 1)) is greets


# -- one phrase list (issue 9) --------------------------------------------------------------------------------

# Replies that blame or over-promise, and near misses (refusals naming the rule, denials), in both languages.
PHRASES = [
    "您好，请问您是不是下单时选错款了？",
    "那是您自己没及时拆，跟我们没关系",
    "起球是您洗涤方式不对造成的",
    "建议您直接打中通客服电话问一下",
    "我帮您联系快递催一下",
    "不是您的问题，是我们发错了",
    "亲您好～165穿M码妥妥的",
    "周六前一定让您收到裙子",
    "绝对不会起球",
    "不能保证哪天到，我帮您盯着",
    "这件是100%桑蚕丝",
    "保证正品",
    "You should have checked the size chart before ordering.",
    "I'd suggest calling the courier directly.",
    "I'll chase the courier for you today.",
    "It's not your fault at all.",
    "It'll be with you Friday, you have my word.",
    "I can't guarantee a date, but I'll keep an eye on it.",
    "It will definitely arrive tomorrow.",
    "There's a 2-year warranty on the boots.",
]


def _punished(lexicon: Lexicon, group: str, text: str) -> bool:
    return any(r.said(text) for r in getattr(lexicon, group))


@pytest.mark.parametrize("text", PHRASES)
def test_the_customer_reacts_to_exactly_what_the_grader_punishes(text: str) -> None:
    detector = ActDetector()
    acts = set(detector.detect(text))
    lexicons = [lexicon_for(RULES, "zh-CN"), lexicon_for(RULES, "en")]
    for group, act in SHARED.items():
        assert (act in acts) == any(_punished(lex, group, text) for lex in lexicons), (group, text)


def test_every_grader_phrase_rule_is_a_customer_act_and_vice_versa() -> None:
    shared = shared_rules(RULES)
    for locale in ("zh-CN", "en"):
        lex = lexicon_for(RULES, locale)
        for group, act in SHARED.items():
            grader_ids = {r.id for r in getattr(lex, group)}
            assert grader_ids <= {r.id for r in shared[act]}, (locale, group)
    total = sum(len(getattr(lexicon_for(RULES, loc), g)) for loc in ("zh-CN", "en") for g in SHARED)
    assert sum(len(v) for v in shared.values()) == total


@pytest.mark.parametrize(
    ("text", "act"),
    [
        ("您好，请问您是不是下单时选错款了？", Act.BLAME),
        ("You should have checked the size chart.", Act.BLAME),
        ("周五前稳稳送到", Act.OVER_PROMISE),
        ("It'll be with you Friday, you have my word.", Act.OVER_PROMISE),
    ],
)
def test_blame_and_promises_in_other_words_reach_both(grader: Grader, text: str, act: Act) -> None:
    assert act in ActDetector().detect(text)
    g = grader.grade(chat("在吗", text))
    assert {"politeness", "no-over-promise"} & set(_on(g, 1))


@pytest.mark.parametrize("text", ["不能保证哪天到", "I can't guarantee a date", "不是您的问题", "It's not your fault."])
def test_a_refused_phrase_reaches_neither(grader: Grader, text: str) -> None:
    acts = set(ActDetector().detect(text))
    assert not acts & {Act.BLAME, Act.OVER_PROMISE}
    g = grader.grade(chat("在吗", text))
    assert "no-over-promise" not in _on(g, 1)


# -- red lines in other words, and named to refuse them ------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "crossed"),
    [
        ("有的亲，收到后五星晒图联系客服，给您发个小红包哦～", "review-reward"),
        ("行，那我私下转您50，您记得给五星哈", "review-reward"),
        ("Leave us a 5-star review and I'll send a little bonus your way", "review-reward"),
        ("亲，您加我微信，我们私聊", "off-platform-contact"),
        ("Just PayPal me and I'll sort it", "off-platform-contact"),
    ],
)
def test_red_lines_in_other_words(grader: Grader, reply: str, crossed: str) -> None:
    customer = "any reward for a good review?" if reply.isascii() else "好评有返现吗"
    g = grader.grade(chat(customer, reply))
    assert crossed in {f.red_line for f in g.red_lines}


@pytest.mark.parametrize(
    "reply",
    [
        "好评返现属于违规操作，我们店不做的哈",
        "您好～这个没有哦，好评返现是平台禁止的",
        "I can't offer credit for a review.",
    ],
)
def test_a_red_line_named_to_refuse_it_is_not_crossed(grader: Grader, reply: str) -> None:
    g = grader.grade(chat("any cashback for a review?" if reply.isascii() else "好评返现吗", reply))
    assert not g.red_lines


# -- curt and unanswered -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customer", "reply", "curt"),
    [
        ("小同志你好，我是个退休老师，第一次在网上看衣服，想问问网上买衣服靠谱吗？", "靠谱的", True),
        (
            "小同志你好，我是个退休老师，第一次在网上看衣服，想问问网上买衣服靠谱吗？",
            "靠谱的，我们支持7天无理由退换，您放心",
            False,
        ),
        ("那我现在要怎么操作呀？我是第一次换货", "自己在订单里申请就行", True),
        ("42 in trainers, old ones were 42.5, and I wear thick wool socks if that matters", "42.5", True),
        (
            "42 in trainers, old ones were 42.5, and I wear thick wool socks if that matters",
            "Go with 42.5: the thick socks need the extra room.",
            False,
        ),
        ("是正品吗", "是的", False),
    ],
)
def test_a_few_bare_words_to_a_detailed_question_are_curt(
    grader: Grader, customer: str, reply: str, curt: bool
) -> None:
    g = grader.grade(chat("Hi!", "Hi, what size do you wear?", customer, reply))
    assert ({"no-curt-replies", "forbidden-words"} & set(_on(g, 3)) != set()) is curt


@pytest.mark.parametrize(
    ("customer", "reply", "unanswered"),
    [
        ("那你什么时候给我回话？", "有消息了会通知您的", True),
        ("那你什么时候给我回话？", "今天下午5点前我一定给您回话", False),
        ("那你什么时候给我回话？", "具体哪天送到我不敢打包票，但我会一直盯着", False),
        ("how long till i get the L?", "No stress, you'll love it!", True),
        ("how long till i get the L?", "It ships today and takes 3-5 business days.", False),
        ("how long till i get the L?", "Could you send me your order number first?", False),
    ],
)
def test_a_when_question_needs_a_time(grader: Grader, customer: str, reply: str, unanswered: bool) -> None:
    g = grader.grade(chat(customer, reply))
    assert ("answers-question" in _on(g, 1)) is unanswered


@pytest.mark.parametrize(
    ("customer", "reply", "rude"),
    [
        ("这个大衣也太贵了 能便宜点吗", "亲，我们家不议价哦，嫌贵可以看看别的", True),
        ("那送条围巾总行吧", "都给您10元券了，还要丝巾？没有", True),
        ("到底什么时候到！！", "我们也没办法，等着吧", True),
        ("这个大衣也太贵了 能便宜点吗", "理解您想买得划算，这款是羊毛双面呢，我看看能为您争取什么优惠～", False),
        ("they rub my heels, got blisters", "Policy is policy, mate. Worn = no return.", True),
        (
            "they rub my heels, got blisters",
            "I'm sorry about the blisters. Our policy covers unworn boots, but the warranty can help.",
            False,
        ),
    ],
)
def test_dismissive_phrases_cost_service_points(grader: Grader, customer: str, reply: str, rude: bool) -> None:
    g = grader.grade(chat(customer, reply))
    assert ("forbidden-words" in _on(g, 1) or "politeness" in _on(g, 1)) is rude


def test_a_fault_in_received_goods_is_owed_an_apology_after_the_sale(grader: Grader) -> None:
    after = load_scenario(REPO / "scenarios" / "qinghe" / "complaint-badreview-threat-compensation.yaml")
    g = grader.grade(chat("[图片][图片] 袖口起球、领口线头。洗一次就这样", "照片看到了，给您补偿10元红包"), after)
    assert len({"empathy", "apologise"} & set(_on(g, 1))) == 1  # the scenario step outranks the generic criterion
    g = grader.grade(
        chat("[图片][图片] 袖口起球、领口线头。洗一次就这样", "非常抱歉让您收到这样的衣服，给您补偿10元红包"), after
    )
    assert not {"empathy", "apologise"} & set(_on(g, 1))


@pytest.mark.parametrize(
    ("customer", "reply"),
    [
        ("where is my order?", "You should have checked the tracking yourself."),
        ("我的快递呢？", "那是您自己没及时查物流"),
    ],
)
def test_no_courtesy_in_a_blaming_reply_is_part_of_the_blame(grader: Grader, customer: str, reply: str) -> None:
    g = grader.grade(chat(customer, reply))
    politeness = g.criterion("politeness")
    assert politeness is not None and len([f for f in politeness.findings if f.turn == 1]) == 1
