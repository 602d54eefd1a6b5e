"""Act detection on realistic zh and en replies, and the documented Trigger matching semantics."""

from __future__ import annotations

import pytest

from simulator.acts import ActDetector, DetectContext, is_curt
from simulator.embedding import FakeEmbedder
from simulator.scenario.beats import Trigger
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act
from simulator.text import normalise_text

SCENARIO = Scenario.model_validate(
    {
        "id": "acts-test",
        "title": "t",
        "locale": "zh-CN",
        "category": "pre-sales",
        "script_categories": ["size"],
        "difficulty": "easy",
        "persona": {"name": "小林", "age_group": "25-34", "traits": ["犹豫"], "speaking_style": "短"},
        "goal": {"description": "买裙子", "success": ["bought"]},
        "known_facts": [
            {"key": "height", "value": "165cm", "ask_keywords": ["身高", "多高"]},
            {"key": "order_id", "value": "{order}", "ask_keywords": ["订单号"]},
        ],
        "opening": ["165穿什么码"],
        "beats": [{"id": "bb", "when": {"act": "greet"}, "say": ["嗯"]}],
        "variables": {"order": {"kind": "digits", "default": "123456789", "length": 9}},
        "expectations": {
            "facts": [
                {"id": "size-m", "statement": "建议M码", "source": "kb/x", "keywords": ["M码"], "numbers": ["M"]},
                {
                    "id": "seven",
                    "statement": "7天无理由",
                    "source": "kb/y",
                    "keywords": ["无理由", "换"],
                    "numbers": ["7"],
                },
            ]
        },
    }
)


@pytest.fixture
def detector() -> ActDetector:
    return ActDetector()


def acts(detector: ActDetector, reply: str, **ctx: object) -> set[Act]:
    return set(detector.detect(reply, DetectContext(scenario=SCENARIO, **ctx)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("亲，您好，我是青禾客服小满～方便告诉我您的身高体重吗？", {Act.GREET, Act.ASK}),
        ("165cm、104斤的话建议拍M码哦，M码胸围88cm", {Act.RECOMMEND, Act.EXPLAIN_PRODUCT, Act.ANSWER}),
        ("放心哦亲，签收后7天内可以免费换一次尺码，还送运费险", {Act.REASSURE, Act.STATE_POLICY, Act.OFFER_EXCHANGE}),
        ("非常抱歉让您久等了，我特别理解您着急的心情", {Act.APOLOGISE, Act.EMPATHISE}),
        (
            "麻烦提供一下订单号，我马上帮您查一下物流",
            {Act.ASK, Act.VERIFY_ORDER, Act.CHECK_LOGISTICS, Act.PROMISE_ACTION},
        ),
        ("这个我帮您反馈给主管，今天之内给您答复", {Act.ESCALATE, Act.PROMISE_ACTION}),
        ("给您申请一个5元无门槛优惠券，现在拍下今天就发货", {Act.OFFER_DISCOUNT, Act.URGE_PAYMENT}),
        ("感谢您的耐心，祝您生活愉快～", {Act.CLOSE}),
        ("我已经在订单上备注了，仓库会优先处理", {Act.NOTE}),
        ("您眼光真好，这款是我们的爆款", {Act.PRAISE}),
        (
            "I'm so sorry about the delay, could you share your order number?",
            {Act.APOLOGISE, Act.ASK, Act.VERIFY_ORDER},
        ),
        ("Hello, thanks for contacting us! I'd recommend size M for you.", {Act.GREET, Act.RECOMMEND}),
        (
            "I understand how frustrating this must be. I'll arrange a replacement right away.",
            {Act.EMPATHISE, Act.OFFER_EXCHANGE, Act.PROMISE_ACTION},
        ),
        ("We offer free returns within 7 days of delivery.", {Act.STATE_POLICY}),
    ],
)
def test_courteous_acts(detector: ActDetector, reply: str, expected: set[Act]) -> None:
    found = acts(detector, reply)
    assert expected <= found, f"missing {expected - found} in {found}"
    assert not found & {Act.RUDE, Act.BLAME, Act.CURT, Act.OVER_PROMISE, Act.CASHBACK}


@pytest.mark.parametrize(
    ("reply", "bad"),
    [
        ("嗯", Act.CURT),
        ("M", Act.CURT),
        ("自己看详情页", Act.CURT),
        ("不知道", Act.CURT),
        ("ok", Act.CURT),
        ("爱买不买", Act.RUDE),
        ("你烦不烦啊，说了多少遍了", Act.RUDE),
        ("是您自己拍错了尺码，不是我们的问题", Act.BLAME),
        ("这是快递的问题，跟我们没关系", Act.BLAME),
        ("It's your own fault, you should have checked the size chart.", Act.BLAME),
        ("绝对不会起球，百分百保证", Act.OVER_PROMISE),
        ("We guarantee it will never fade.", Act.OVER_PROMISE),
        ("给个五星好评返现5元哦", Act.CASHBACK),
        ("Leave a 5-star review and we'll send you cash back.", Act.CASHBACK),
    ],
)
def test_negative_acts(detector: ActDetector, reply: str, bad: Act) -> None:
    assert bad in acts(detector, reply)


@pytest.mark.parametrize(
    "reply",
    [
        "这个我们不能保证100%不起球，但按洗涤说明护理会好很多",
        "无法保证绝对不褪色哦",
        "We can't guarantee that, but we will check it for you.",
        "这不是您的错，我们马上处理",
        "It's not your fault at all, I'll fix it.",
    ],
)
def test_negated_forms_are_not_faults(detector: ActDetector, reply: str) -> None:
    assert not acts(detector, reply) & {Act.OVER_PROMISE, Act.BLAME}


def test_long_reply_mentioning_brush_off_word_is_not_curt() -> None:
    assert not is_curt("我不知道您具体的尺寸，方便告诉我您的身高体重吗？我帮您看看哪个码合适")
    assert is_curt("嗯嗯")
    assert is_curt("看尺码表")


def test_announcing_a_recommendation_is_not_recommending(detector: ActDetector) -> None:
    assert Act.RECOMMEND not in acts(detector, "方便告诉我您的身高体重吗？我帮您精准推荐尺码")


def test_statements_with_question_words_are_not_questions(detector: ActDetector) -> None:
    assert Act.ASK not in acts(detector, "什么时候下单都可以，我们48小时内发货。")
    assert Act.ASK in acts(detector, "您平时穿什么码呢")
    assert Act.ASK in acts(detector, "麻烦说下您的身高")


def test_wrong_info_needs_a_different_number_on_the_fact_topic(detector: ActDetector) -> None:
    assert Act.WRONG_INFO in acts(detector, "签收后15天内无理由退换")
    assert Act.WRONG_INFO in acts(detector, "建议您拍L码")
    assert Act.WRONG_INFO not in acts(detector, "签收后7天内无理由退换")
    assert Act.WRONG_INFO not in acts(detector, "建议您拍M码")
    # Echoing the customer's own numbers is not a claim.
    assert Act.WRONG_INFO not in acts(detector, "您165，不合适也可以换", customer_texts=["我165"])
    assert Act.WRONG_INFO not in ActDetector().detect("签收后15天内无理由退换")  # no scenario, no facts


def test_slow_comes_from_the_response_time(detector: ActDetector) -> None:
    assert Act.SLOW in acts(detector, "您好", response_seconds=SCENARIO.end.slow_reply_seconds + 1)
    assert Act.SLOW not in acts(detector, "您好", response_seconds=5)


def test_detection_is_deterministic_and_ordered(detector: ActDetector) -> None:
    reply = "亲，抱歉久等了，请问您的订单号是多少？"
    first = detector.detect(reply)
    assert first == detector.detect(reply) == ActDetector().detect(reply)
    assert first == sorted(first, key=list(Act).index)


def test_full_width_is_normalised() -> None:
    assert normalise_text("７天ＭＡＸ") == "7天max"


# -- Trigger semantics (documented on simulator.scenario.model.Trigger) --------------------------------------


def test_keywords_decide_and_act_is_documentation(detector: ActDetector) -> None:
    t = Trigger(act=Act.RECOMMEND, keywords=["M码"])
    assert detector.matches(t, "拍ｍ码就行", SCENARIO)  # case and width insensitive, no recommend act needed
    assert not detector.matches(t, "我推荐您L码", SCENARIO)  # recommends, but no keyword


def test_not_keywords_always_veto(detector: ActDetector) -> None:
    t = Trigger(keywords=["保证"], not_keywords=["不能"])
    assert detector.matches(t, "保证合身", SCENARIO)
    assert not detector.matches(t, "不能保证合身", SCENARIO)
    t2 = Trigger(act=Act.APOLOGISE, not_keywords=["但是"])
    assert not detector.matches(t2, "抱歉，但是这是规定", SCENARIO)


def test_a_denied_keyword_is_not_said(detector: ActDetector) -> None:
    """"不是全额" denies 全额: it neither triggers a 全额 beat nor vetoes one that 全额 would veto."""
    wrong = Trigger(keywords=["全额"])
    right = Trigger(keywords=["8到25元"], not_keywords=["全额"])
    reply = "运费险按距离固定赔，一般8到25元，不是全额哦"
    assert not detector.matches(wrong, reply, SCENARIO)
    assert detector.matches(right, reply, SCENARIO)
    assert detector.matches(wrong, "不是全额？其实是全额退的", SCENARIO)  # said once without the negation
    assert not detector.matches(Trigger(keywords=["free"]), "Return shipping is not free, sorry", SCENARIO)
    assert detector.matches(Trigger(keywords=["不用您出"]), "运费不用您出", SCENARIO)  # the keyword's own negation
    for question in ("您是不是拍错了", "能不能拍错", "有没有拍错"):  # A-not-A questions ask, they do not deny
        assert detector.matches(Trigger(keywords=["拍错"]), question, SCENARIO), question


def test_act_decides_without_keywords(detector: ActDetector) -> None:
    t = Trigger(act=Act.APOLOGISE)
    assert detector.matches(t, "真的很抱歉", SCENARIO)
    assert not detector.matches(t, "好的", SCENARIO)
    assert detector.matches(t, "随便", SCENARIO, acts=[Act.APOLOGISE])  # reuses a given detection


def test_ask_about_a_known_fact_uses_its_ask_keywords(detector: ActDetector) -> None:
    t = Trigger(act=Act.ASK, about="height")
    assert detector.matches(t, "请问您多高呀？", SCENARIO)
    assert not detector.matches(t, "请问您体重多少？", SCENARIO)  # a question, but not about height
    assert not detector.matches(t, "您身高165的话穿M", SCENARIO)  # mentions it, does not ask
    any_about = Trigger(about="height")
    assert detector.matches(any_about, "您身高165的话穿M", SCENARIO)  # act 'any': the keywords alone


def test_variables_are_substituted_in_keywords(detector: ActDetector) -> None:
    t = Trigger(keywords=["{order}"])
    assert detector.matches(t, "订单123456789已查到", SCENARIO, variables={"order": "123456789"})
    assert not detector.matches(t, "订单已查到", SCENARIO, variables={"order": "123456789"})


def test_examples_match_by_meaning_or_by_overlap_without_embedder() -> None:
    t = Trigger(examples=["非常抱歉给您添麻烦了"])
    assert ActDetector().matches(t, "非常抱歉给您添麻烦了！", SCENARIO)
    assert not ActDetector().matches(t, "请问您要什么颜色", SCENARIO)
    with_embedder = ActDetector(FakeEmbedder(), threshold=0.8)
    assert with_embedder.matches(t, "非常抱歉给您添麻烦了", SCENARIO)
    assert not with_embedder.matches(t, "请问您要什么颜色", SCENARIO)


def test_the_vector_cache_keeps_recent_texts_only(monkeypatch) -> None:
    import simulator.acts as acts_module

    monkeypatch.setattr(acts_module, "VECTOR_CACHE_SIZE", 50)
    detector = acts_module.ActDetector(FakeEmbedder(16))
    first = detector.similarity("亲，您好", ["您好呀"])
    for i in range(200):
        detector.similarity(f"第{i}条回复", ["您好呀"])
    assert len(detector._vectors) <= 50
    assert detector.similarity("亲，您好", ["您好呀"]) == first  # an evicted text is embedded again, same result
