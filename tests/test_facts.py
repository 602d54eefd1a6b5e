"""The fact check the customer and the grader share (simulator/facts.py): topic, numbers, polarity, entities.

Every example here is written for the test (a made-up shop with made-up facts), not taken from the report-card
gold set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.acts import ActDetector, DetectContext
from simulator.errors import ValidationFailed
from simulator.facts import Fact, FactChecker, Verdict
from simulator.factwords import load_fact_words
from simulator.scenario.expectations import RequiredFact

CHECK = FactChecker()


def fact(fid: str, statement: str, keywords: list[str] | None = None, numbers: list[str] | None = None) -> RequiredFact:
    return RequiredFact(id=fid, statement=statement, source="demo/doc", keywords=keywords or [], numbers=numbers or [])


SHOP = CHECK.compile(
    [
        fact("scarf-care", "Y210 围巾为纯羊绒，只能冷水手洗或干洗", ["手洗", "干洗"]),
        fact("swap-window", "收货后10天内可以免费换一次颜色", ["换颜色", "免费换"], ["10"]),
        fact("reply-time", "工单提交后 24 小时内给您回电", ["回电"], ["24"]),
        fact("tent-warranty", "The Ridgeline tent has a 3-year warranty on the poles.", ["warranty"], ["3"]),
        fact("ship-time", "Orders ship by standard post, 2–4 business days.", ["business days"], ["2", "4"]),
        fact(
            "return-label",
            "Returns come with a prepaid label, so sending it back costs you nothing.",
            ["prepaid label"],
        ),
        fact("fapiao", "增值税专用发票需提供公司税号和开户行，5 个工作日内开出", ["专用发票", "专票"], ["5"]),
        fact("lining", "Y210 没有内衬，是单层织物", ["单层"]),
        fact("rating", "帐篷面料防水等级 PU3000，防晒 UPF40+", ["PU3000"]),
    ]
)


def read(
    reply: str, customer: list[str] | None = None, prompt: str = "", facts: list[Fact] = SHOP
) -> dict[str, Verdict]:
    return {r.fact.id: r.verdict for r in CHECK.read(reply, facts, customer=customer or [], prompt=prompt)}


def wrong(reply: str, **kw: object) -> set[str]:
    return {fid for fid, v in read(reply, **kw).items() if v is Verdict.CONTRADICTED}  # type: ignore[arg-type]


# -- negation ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "这条围巾直接丢洗衣机洗就行",  # asserts machine washing, which "hand wash or dry clean only" denies
        "可以机洗的亲，很好打理",
        "You can machine wash the scarf, no problem",
    ],
)
def test_asserting_what_the_fact_denies_is_a_wrong_fact(reply: str) -> None:
    assert wrong(reply) == {"scarf-care"}


@pytest.mark.parametrize(
    "reply",
    [
        "这款不能机洗哦，建议冷水手洗",
        "机洗是不行的，只能手洗或者干洗",
        "千万别丢洗衣机，手洗就好",
        "It can't go in the washing machine, hand wash it in cold water",
        "机洗会缩水变形，建议手洗",  # a warning against machine washing denies it
    ],
)
def test_denying_what_the_fact_denies_is_no_contradiction(reply: str) -> None:
    assert "scarf-care" not in wrong(reply)


def test_a_negated_fact_never_earns_it_even_with_its_keyword() -> None:
    # "单层" is the fact's keyword; the reply says there IS a lining.
    assert read("这款有内衬的，不是单层的那种")["lining"] is Verdict.CONTRADICTED
    assert read("没有内衬哦，就是单层的")["lining"] is Verdict.STATED


def test_two_negations_cancel_and_hedges_are_neither() -> None:
    lining = CHECK.compile([fact("lined", "The jacket is fully lined", ["lined"])])
    assert wrong("I can't say it isn't lined", facts=lining) == set()
    assert wrong("It's not lined at all", facts=lining) == {"lined"}
    assert wrong("不太会透，有一层内衬", facts=lining) == set()


# -- numbers -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("收货后十天内可以免费换一次颜色", Verdict.STATED),  # Chinese numerals
        ("收货后10天内可以免费换一次颜色", Verdict.STATED),
        ("收货后七天内可以免费换颜色", Verdict.CONTRADICTED),  # a different window in words
        ("收货后两周内都能免费换颜色", Verdict.CONTRADICTED),  # 两周 = 14 days
    ],
)
def test_number_words_are_numbers(reply: str, verdict: Verdict) -> None:
    assert read(reply)["swap-window"] is verdict


def test_a_count_is_never_a_duration() -> None:
    # 一次 is one time, not one day: it must not be compared with the 10-day window.
    assert read("十天内可以免费换一次颜色")["swap-window"] is Verdict.STATED


def test_units_fold_to_a_common_base() -> None:
    assert read("工单提交后一天之内给您回电")["reply-time"] is Verdict.STATED  # one day = 24 hours
    assert read("我们48小时内给您回电")["reply-time"] is Verdict.CONTRADICTED
    assert read("There's a three-year warranty on the poles")["tent-warranty"] is Verdict.STATED
    assert read("The poles carry a 36-month warranty")["tent-warranty"] is Verdict.STATED
    assert read("There's a 1-year warranty on the poles")["tent-warranty"] is Verdict.CONTRADICTED
    assert read("It ships by standard post, two to four business days")["ship-time"] is Verdict.STATED
    assert read("Standard post takes 5-7 business days")["ship-time"] is Verdict.CONTRADICTED


def test_numbers_the_customer_said_are_echoes_by_value_and_unit() -> None:
    # She said 3 weeks; "3-year" is still a claim, "3 weeks ago" is an echo.
    assert "tent-warranty" in wrong("There's a 3-month warranty on the poles", customer=["bought it 3 weeks ago"])
    assert wrong("You bought it 3 weeks ago, so you're fine", customer=["bought it 3 weeks ago"]) == set()


def test_a_limit_is_not_contradicted_by_an_amount_inside_it() -> None:
    limit = CHECK.compile([fact("gift-limit", "小瑕疵可给 ¥15 以内的补偿红包", ["红包"])])
    assert wrong("给您申请10元红包补偿", facts=limit) == set()
    # Above the limit is an authority question (process), not a wrong fact.
    assert wrong("给您补偿三十元红包", facts=limit) == set()


# -- topic and keywords ------------------------------------------------------------------------------------------


def test_english_keywords_match_whole_words_only() -> None:
    hi = CHECK.compile([fact("greet-fact", "Say hi to the driver", ["hi"])])
    assert read("We ship within 2 days", facts=hi)["greet-fact"] is Verdict.SILENT  # "hi" inside "within"
    assert read("Just say hi to him", facts=hi)["greet-fact"] is Verdict.STATED


def test_a_keyword_of_several_words_matches_in_other_order() -> None:
    assert read("I've emailed you a label, prepaid, for sending it back")["return-label"] is Verdict.STATED


def test_other_words_for_the_same_fact_earn_it() -> None:
    # No keyword, but most of the fact's wording: stated in other words.
    assert read("The tent poles are under warranty for three years")["tent-warranty"] is Verdict.STATED


# -- who pays, entities, ratings, sizes -----------------------------------------------------------------------------


def test_saying_the_buyer_pays_contradicts_a_free_label() -> None:
    assert wrong("Return postage is $5.50 at your cost") == {"return-label"}
    assert wrong("Sending it back costs $5.50") == {"return-label"}
    assert "return-label" not in wrong("I've refunded the $5.50 shipping to your card")


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("专票需要公司税号和开户行，5个工作日内开出", Verdict.STATED),
        ("开增值税普通发票的话5个工作日", Verdict.SILENT),  # another invoice type: says nothing about the 专票 fact
        ("We can issue a VAT invoice within 5 working days", Verdict.SILENT),  # "VAT" names no type
        ("专用发票3个工作日就能开出来", Verdict.CONTRADICTED),
    ],
)
def test_invoice_types_must_match(reply: str, verdict: Verdict) -> None:
    assert read(reply)["fapiao"] is verdict


def test_a_different_material_on_the_facts_topic_is_wrong() -> None:
    fabric = CHECK.compile([fact("fabric", "R300 短袖是锦纶加氨纶的冰感面料", ["冰感"])])
    assert wrong("这款是纯棉的", facts=fabric, prompt="冰感面料闷不闷") == {"fabric"}
    assert wrong("锦纶和氨纶的，穿着凉快", facts=fabric, prompt="冰感面料闷不闷") == set()


def test_a_rating_must_match() -> None:
    assert wrong("防晒是UPF50+的") == {"rating"}
    assert wrong("防晒等级是UPF40+") == set()


def test_a_size_before_the_measurements_is_not_a_wrong_fact() -> None:
    size = CHECK.compile([fact("size-l", "170cm、130斤建议 L 码", ["L码"], ["L"])])
    assert wrong("一般穿M码就行", facts=size) == set()  # blind: the customer gave nothing yet
    assert wrong("建议拍M码", facts=size, customer=["170，130斤"]) == {"size-l"}
    assert wrong("您170的话拍L码", facts=size, customer=["170，130斤"]) == set()


def test_a_question_states_nothing() -> None:
    assert read("是收货后10天内免费换颜色吗？")["swap-window"] is Verdict.SILENT


def test_one_fault_goes_to_one_fact() -> None:
    twins = CHECK.compile(
        [
            fact("pm-window", "We price match within 14 days of purchase.", ["14 days"], ["14"]),
            fact("pm-own", "Price match applies to our own prices only.", ["our own"]),
        ]
    )
    assert len(wrong("Sorry, we don't price match", facts=twins)) == 1


def test_evidence_is_the_wrong_figure_when_written_as_shown() -> None:
    (r,) = [r for r in CHECK.read("收货后7天内可以免费换颜色", SHOP) if r.contradiction]
    assert r.contradiction is not None and r.contradiction.evidence == "7天"


# -- the customer and the grader agree -----------------------------------------------------------------------------


def test_the_customer_reacts_to_exactly_the_wrong_facts_the_grader_reads() -> None:
    from simulator.scenario.loader import load_scenario

    # The shop's own scenario: size M for 165cm/104斤, a free exchange once within 7 days of signing.
    scenario = load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios/qinghe/presale-size-hesitant-office.yaml"
    )
    detector = ActDetector()
    facts = detector.facts.compile(scenario.expectations.facts, scenario.variable_values({}))
    for reply in ["签收后十五天内都能换", "换几次都行的", "签收后七天内可以免费换一次", "建议您拍L码", "建议拍M码"]:
        customer = ["我165，104斤"]
        by_customer = {f.id for f in detector.wrong_facts(reply, DetectContext(scenario, customer_texts=customer))}
        by_grader = {r.fact.id for r in detector.facts.read(reply, facts, customer=customer) if r.contradiction}
        assert by_customer == by_grader, reply


# -- the vocabulary file -------------------------------------------------------------------------------------------


def test_the_vocabulary_reports_problems_with_their_place(tmp_path: Path) -> None:
    bad = tmp_path / "facts.yaml"
    bad.write_text(
        "negation: [不]\nconcepts:\n  - {id: wash, words: ['re:(unclosed']}\n  - {id: wash, words: [x]}\nfoo: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as exc:
        load_fact_words(bad)
    text = str(exc.value)
    assert "facts.yaml:3:" in text and "regular expression" in text
    assert "unknown key 'foo'" in text


def test_the_shipped_vocabulary_loads() -> None:
    words = load_fact_words(Path(__file__).resolve().parent.parent / "scenarios" / "rules" / "facts.yaml")
    assert words.concepts and words.entities and words.topics


# -- with a knowledge base ------------------------------------------------------------------------------------------


def test_a_figure_only_a_scenario_fact_contradicts_is_judged_by_that_fact_not_a_crash() -> None:
    from fakes import FakeRetriever, chat, passage

    from simulator.grading import Grader
    from simulator.scenario.loader import load_scenario
    from simulator.settings import Settings

    scenario = load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios/northwind/aftersales-price-match-bargain-hunter.yaml"
    )
    kb = FakeRetriever([passage("northwind/policies/price-match#0", "Price match: our own price only, same item.")])
    grade = Grader(Settings(), retriever=kb).grade(
        chat("how long is the price match window?", "Price match is valid for 10 days after purchase."), scenario
    )
    window = grade.criterion("window-14")
    assert window is not None and window.status == "failed" and window.findings[0].evidence == "10 days"
    consistent = grade.criterion("kb-consistent")
    assert consistent is not None and not consistent.findings  # one fault, one finding: the fact's


def test_an_authors_known_wrong_answer_is_a_wrong_fact_unless_negated() -> None:
    window = CHECK.compile(
        [
            RequiredFact(
                id="from-signing",
                statement="退货期从签收之日起算，不从付款日算",
                source="demo/doc",
                keywords=["签收"],
                wrong=["从付款", "从下单", "from the order date"],
            )
        ]
    )
    assert wrong("7天是从付款那天开始算的", facts=window) == {"from-signing"}
    assert wrong("The 7 days run from the order date", facts=window) == {"from-signing"}
    assert wrong("不是从付款那天算，是从签收那天算", facts=window) == set()


def test_a_window_counted_from_another_event_is_wrong() -> None:
    window = CHECK.compile([fact("from-receipt", "收货后10天内可以申请换货", ["换货"], ["10"])])
    assert wrong("从下单那天起10天内可以换货", facts=window) == {"from-receipt"}
    assert wrong("收货后10天内都能换货", facts=window) == set()
    # The figure is hers, the event it counts from is the agent's claim.
    assert wrong("换货的10天是从付款那天算的", facts=window, customer=["不是10天内能换吗"]) == {"from-receipt"}


def test_a_bare_figure_of_the_same_magnitude_on_the_topic() -> None:
    boots = CHECK.compile([fact("half-up", "With wool socks go up half a size: EU 44.5", ["half a size up"], ["44.5"])])
    assert wrong("With wool socks take a 45", facts=boots) == {"half-up"}
    assert wrong("With wool socks take a 44.5", facts=boots) == set()
    assert wrong("With wool socks take a 44", facts=boots, customer=["i wear 44 normally"]) == set()  # her own


def test_days_without_a_numeral() -> None:
    delivery = CHECK.compile([fact("arrive", "发货后一般3到5天送达", ["送达"], ["3", "5"])])
    assert wrong("发货后第二天就送达", facts=delivery) == {"arrive"}
    assert wrong("发货后三到五天送达", facts=delivery) == set()


def test_a_red_line_claim_in_other_words() -> None:
    assert CHECK.claims("不会缩水") == frozenset({("shrink", "-")})
    assert CHECK.claims("绝对不缩水") is None  # also a guarantee: only as written
    assert CHECK.claims("(?<![说敢])不会缩水") == frozenset({("shrink", "-")})
    assert CHECK.crosses(["不会缩水"], "放心，缩水是不会有的") is not None
    assert CHECK.crosses(["不会缩水"], "不能保证不缩水哦，建议冷水洗") is None
    assert CHECK.crosses(["不会缩水"], "会不会缩水？") is None


def test_every_reply_that_contradicts_a_fact_is_a_finding() -> None:
    from fakes import chat

    from simulator.grading import Grader
    from simulator.scenario.loader import load_scenario
    from simulator.settings import Settings

    scenario = load_scenario(
        Path(__file__).resolve().parent.parent / "scenarios/qinghe/presale-size-hesitant-office.yaml"
    )
    grade = Grader(Settings()).grade(
        chat("万一不合适能换吗", "可以的，签收后十五天内都能换", "十五天？", "对，十五天内随便换"), scenario
    )
    policy = grade.criterion("exchange-policy")
    assert policy is not None and [f.turn for f in policy.findings] == [1, 3]


def test_reassurance_about_a_concept_is_neither_for_nor_against() -> None:
    pilling = CHECK.compile([fact("pills", "羊毛混纺可能轻微起球，用毛球修剪器处理", ["轻微起球"])])
    assert wrong("不用担心起球，轻微的用修剪器修一下就好", facts=pilling) == set()
    assert wrong("这款不会起球的", facts=pilling) == {"pills"}


def test_what_the_fact_says_must_not_be_is_its_wrong_answer() -> None:
    invoice = CHECK.compile([fact("as-paid", "发票按实付金额开，不能按吊牌价开", ["实付"])])
    assert wrong("发票可以按吊牌价给您开", facts=invoice) == {"as-paid"}
    assert wrong("不能按吊牌价开哦，只能按实付", facts=invoice) == set()
    match = CHECK.compile([fact("own-only", "We match our own prices, not prices at other stores.", ["our own"])])
    assert wrong("Sure, we can match prices at other stores", facts=match) == {"own-only"}


def test_an_aside_in_brackets_keeps_the_sentence_together() -> None:
    excluded = CHECK.compile(
        [
            fact("window", "价保自付款起 15 天内有效", ["价保"], ["15"]),
            fact("excluded", "直播间专属价（以及秒杀活动价）不参与价保", ["不参与价保"]),
        ]
    )
    assert wrong("直播间的专属价也可以价保的", facts=excluded) == {"excluded"}
    assert wrong("付款15天内都能价保", facts=excluded) == set()


def test_a_clause_continues_the_subject_of_its_sentence() -> None:
    # "5个工作日" belongs to the special invoice named before the comma, not to the ordinary one's 48 hours.
    invoices = CHECK.compile(
        [
            fact("special", "增值税专用发票5个工作日开出", ["专票"], ["5"]),
            fact("ordinary", "电子普通发票确认收货后48小时内开出", ["普票"], ["48"]),
        ]
    )
    assert wrong("增值税专用发票需要完整信息，5个工作日开出", facts=invoices) == set()


def test_ne_ends_a_question_only_after_a_question_word() -> None:
    assert CHECK.clauses("您平时穿多大码呢")[0].question
    assert not CHECK.clauses("这款是羊毛混纺的双面呢")[0].question
