"""What the grader says to the trainee, in the conversation's language.

Every text the grader itself writes into a finding — the message, the fallback better reply, a title without an
English half, the retrieval topic used to find a 话术 line — is an entry here, keyed by a stable id with one
template per locale. Scorers call ``ctx.say(id, **fields)`` (:meth:`GradingContext.say`), which picks the
conversation's locale (the scenario's, else the lexicon's guess from the transcript).

What is *not* here: rule notes and suggestions (they come from the locale's lexicon,
``scenarios/rules/{zh-CN,en}.yaml``), and text a trainer wrote in a scenario (step descriptions, fact statements,
red-line descriptions), which is shown as authored. Unscored reasons are English in every locale.

Templates are ``str.format`` strings. The zh-CN texts are exactly the ones the grader has always produced; a
test checks that every entry has both locales with the same placeholders and no CJK in the English one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EN = "en"
ZH = "zh-CN"
LOCALES = (ZH, EN)


@dataclass(frozen=True)
class Text:
    """One message in every locale."""

    zh: str
    en: str

    def get(self, locale: str) -> str:
        """The template for ``locale`` (English for ``en*``, Chinese otherwise)."""
        return self.en if locale_key(locale) == EN else self.zh


def locale_key(locale: str) -> str:
    """``en`` for any English locale, ``zh-CN`` for everything else (the two the grader has lexicons for)."""
    return EN if locale.lower().startswith("en") else ZH


CATALOGUE: dict[str, Text] = {
    # -- service ---------------------------------------------------------------------------------------------
    "greeting.missing": Text("第一句回复没有问候顾客", "The first reply does not greet the customer"),
    "greeting.better": Text(
        "亲，您好，很高兴为您服务～请问有什么可以帮您？", "Hi, thanks for reaching out! I'm happy to help."
    ),
    "farewell.missing": Text("结束时没有致谢或道别", "The conversation ends without thanks or a goodbye"),
    "farewell.topic": Text("结束语 感谢", "closing thanks anything else"),
    "farewell.better": Text(
        "感谢您的耐心～还有其他问题随时找我哦，祝您生活愉快！",
        "Thank you for your patience! If anything else comes up, just message me. Have a great day!",
    ),
    "politeness.abuse": Text("辱骂或嘲讽顾客：{note}", "Insulting or mocking the customer: {note}"),
    "politeness.blame": Text("指责顾客或推卸：{note}", "Blaming the customer or passing the buck: {note}"),
    "politeness.cold": Text(
        "多数回复没有任何礼貌用语（您/请/亲/谢谢）",
        "Most replies carry no courtesy at all (please, thank you, sorry, happy to help)",
    ),
    "empathy.missing": Text(
        "顾客不满时没有先安抚情绪（理解/抱歉）",
        "The customer was upset and the reply did not acknowledge it first (I understand / I'm sorry)",
    ),
    "alternative.missing": Text(
        "拒绝顾客时没有给出替代方案（说明原因，并提供别的办法）",
        "The reply says no without offering anything else (give the reason and another way)",
    ),
    "alternative.topic": Text("替代方案 其他办法", "alternative option warranty"),
    "alternative.better": Text(
        "这个确实没办法按您说的处理，不过我可以帮您……（给出替代方案），您看可以吗？",
        "I can't do that one, but here's what I can do for you: … (offer another way). Would that work?",
    ),
    "empathy.topic": Text("安抚 道歉", "apology understand frustration"),
    "empathy.better": Text(
        "非常理解您的心情，给您带来不便真的很抱歉，我马上帮您处理。",
        "I completely understand how frustrating this is, and I'm sorry for the trouble. Let me sort it out for you "
        "right away.",
    ),
    "curt.perfunctory": Text("敷衍回复：{note}", "Perfunctory reply: {note}"),
    "curt.short": Text(
        "顾客问得具体，回复只有寥寥几个字，没有说明",
        "The customer asked in detail and got a few bare words with no explanation",
    ),
    "unanswered.when": Text(
        "顾客问什么时候/多久，回复没有给出时间",
        "The customer asked when or how long and the reply gives no time",
    ),
    "unanswered.topic": Text("时效 几天 什么时候", "how long when days"),
    "curt.one-word": Text("顾客提问，只回了一两个字", "The customer asked a question and got a one- or two-word reply"),
    "forbidden.rule": Text("服务禁语：{note}", "Forbidden phrase: {note}"),
    "forbidden.scenario": Text("本场景禁用语：{phrase}", "Phrase forbidden in this scenario: {phrase}"),
    "response-time.slow": Text(
        "回复用时 {seconds:.0f} 秒，超过目标 {target:.0f} 秒",
        "Reply took {seconds:.0f} s, over the {target:.0f} s target",
    ),
    "reply-ratio.unanswered": Text("顾客的问题没有得到回复", "The customer's question got no reply"),
    # -- technique -------------------------------------------------------------------------------------------
    "over-promise": Text("过度承诺：{note}", "Over-promise: {note}"),
    "needs.recommended-first": Text(
        "没有先了解顾客需求就直接推荐", "Recommended something before asking about the customer's needs"
    ),
    "needs.never-asked": Text("整场没有询问顾客的需求", "The customer's needs were never asked about"),
    "needs.topic": Text("询问需求", "ask about needs"),
    "fabe.title": Text("FABE 介绍", "FABE product presentation"),
    "fabe.missing": Text("没有介绍产品的卖点和好处", "The product's features and benefits were never presented"),
    "fabe.no-feature": Text(
        "介绍产品时缺少卖点（材质/数据）", "The product presentation lacks a concrete feature (material, figures)"
    ),
    "fabe.no-benefit": Text(
        "介绍产品时缺少给顾客的好处", "The product presentation does not say what it does for the customer"
    ),
    "fabe.topic": Text("产品卖点", "product features benefits"),
    "objection.unaddressed": Text(
        "顾客有顾虑/异议，回复没有回应顾虑",
        "The customer raised a doubt or objection and the reply did not address it",
    ),
    "objection.topic": Text("异议 顾虑", "objection concern"),
    "closing.missing": Text("没有引导顾客下单", "The customer was never invited to place the order"),
    "closing.topic": Text("催付 下单", "place the order checkout"),
    "aapr.title": Text("问答赞推", "ask-answer-praise-recommend"),
    "aapr.missing": Text("问答赞推缺少「{part}」", 'Ask-answer-praise-recommend is missing the "{part}" step'),
    "aapr.ask": Text("问 ask", "ask"),
    "aapr.answer": Text("答 answer", "answer"),
    "aapr.praise": Text("赞 praise", "praise"),
    "aapr.recommend": Text("推 recommend", "recommend"),
    "matching.missing": Text("没有做搭配推荐", "No matching or complementary item was suggested"),
    "matching.topic": Text("搭配推荐", "matching items"),
    "reassurance.missing": Text("没有打消顾客的顾虑", "The customer's concern was never put to rest"),
    "reassurance.topic": Text("打消顾虑 放心", "reassure don't worry"),
    "expectation.missing": Text(
        "没有告诉顾客处理时效或下一步", "The customer was not told what happens next or by when"
    ),
    "expectation.topic": Text("时效 多久", "how long timeline"),
    "sandwich.no-feeling": Text(
        "三明治话术缺少：先安抚情绪", "The empathy sandwich lacks its first layer: acknowledge the feeling"
    ),
    "sandwich.no-solution": Text(
        "三明治话术缺少：给出具体解决方案", "The empathy sandwich lacks its last layer: a concrete solution"
    ),
    "sandwich.topic": Text("安抚 解决方案", "apology solution"),
    # -- knowledge -------------------------------------------------------------------------------------------
    "fact.title": Text("知识点 {statement}", "Fact: {statement}"),
    "fact.wrong": Text(
        "说错了：「{said}」与知识点不符（应为 {expected}）",
        'Wrong: "{said}" does not match the fact (should be {expected})',
    ),
    "fact.opposite": Text(
        "说反了：「{said}」与知识点相反（知识点：{expected}）",
        'Says the opposite of the fact: "{said}" (the fact: {expected})',
    ),
    "fact.missing": Text("没有说明这个知识点", "This fact was never stated"),
    "fact.missing-numbers": Text(
        "没有说明这个知识点（关键数字：{numbers}）", "This fact was never stated (its key figures: {numbers})"
    ),
    "kb.contradiction": Text(
        "「{said}」与知识库不符（知识库：{expected}）", '"{said}" contradicts the knowledge base (it says {expected})'
    ),
    "list.sep": Text("、", ", "),
    # -- process ---------------------------------------------------------------------------------------------
    "step.title": Text("步骤 {description}", "Step: {description}"),
    "step.missing": Text("缺少步骤：{description}", "Missing step: {description}"),
    "step.order": Text(
        "顺序错误：应先「{description}」，再做「{other}」", 'Wrong order: "{description}" should come before "{other}"'
    ),
    "step.order-never": Text(
        "顺序错误：还没有「{description}」就「{other}」",
        'Wrong order: "{other}" came before "{description}", which was never done first',
    ),
    "decision.remedy-done": Text("直接办理了补救", "carried out a remedy"),
    "decision.exception": Text("破例处理", "made an exception"),
    "decision.agreed": Text("答应了顾客开出的金额", "agreed to the customer's figure"),
    "decision.money": Text("给出了金额", "offered money"),
    "decision.ruling": Text("直接下了结论", "gave a verdict on the request"),
    "decision.proposal": Text("直接给出了处理方案", "proposed a remedy outright"),
    "decision.higher-rung": Text("给了更高一级的方案（换货/退货）", "offered a higher rung of the ladder first"),
    "authority.title": Text("权限内处理", "Within authority"),
    "money.compensation": Text("补偿", "compensation"),
    "money.refund": Text("退款", "refund"),
    "money.discount": Text("优惠", "discount"),
    "authority.amount": Text(
        "超出权限：{kind}{currency}{amount}，权限上限{currency}{limit:g}，应向组长申请",
        "Beyond your authority: {kind} of {currency}{amount} against a limit of {currency}{limit:g}; ask your "
        "team lead",
    ),
    "authority.exception": Text(
        "超出权限：擅自破例，政策例外要由组长决定",
        "Beyond your authority: an exception to the policy is your team lead's call",
    ),
    "authority.personal": Text(
        "超出权限：私下或自掏腰包给钱，所有补偿都要走平台",
        "Beyond your authority: money from your own pocket or outside the platform; every remedy goes through the shop",
    ),
    "authority.gift": Text(
        "超出权限：擅自免费送商品，只能用公开的优惠和权限内的补偿",
        "Beyond your authority: giving goods away free; only published offers and credit within your limit",
    ),
    "escalation.title": Text("超出权限及时升级", "Escalating what you may not decide"),
    "escalation.rule": Text(
        "超出权限的诉求：不直接拒绝，也不擅自答应，申请组长",
        "Above your authority: neither refuse flatly nor promise it; ask your team lead",
    ),
    "escalation.refused": Text(
        "顾客的诉求超出权限，却拒绝升级或直接回绝",
        "The request is above your authority and you refused it instead of escalating",
    ),
    "escalation.ignored": Text(
        "顾客再次要求找上级/超出权限的处理，没有升级",
        "The customer asked again for someone senior and it was not escalated",
    ),
    "verify.title": Text("先核实再处理", "Verify before a remedy"),
    "verify.rule": Text(
        "售后先核实订单和问题（照片），再处理", "After-sales: check the order and the problem (photos) first"
    ),
    "verify.photos": Text(
        "商品质量问题，还没看照片就给了处理方案",
        "A fault in the goods was settled before any photo was asked for or seen",
    ),
    "authority.limits": Text(
        "折扣≤{discount:g}元 补偿≤{compensation:g}元 退款≤{refund:g}元",
        "discount ≤ ${discount:g}, compensation ≤ ${compensation:g}, refund ≤ ${refund:g}",
    ),
    "authority.topic": Text("申请 组长", "team lead approval escalate"),
    "authority.better": Text(
        "这个金额需要我帮您向组长申请，我会在订单上备注，尽快给您答复。",
        "That amount needs my team lead's approval. I'll note it on your order and get back to you as soon as I can.",
    ),
    "authority.no-refund-right": Text(
        "无权直接办理退换，应升级处理", "You may not carry out a refund, return or exchange yourself; escalate it"
    ),
    "escalation.better": Text(
        "这个需要我帮您向组长申请，我先在订单上备注，24小时内给您回复。",
        "I need to ask my team lead about this. I'll note it on your order and get back to you within 24 hours.",
    ),
    "verify.missing": Text(
        "没有先核实订单/问题就直接办理", "A remedy was carried out before the order or the problem was verified"
    ),
    "verify.topic": Text("核实订单", "verify the order number"),
    "verify.better": Text(
        "麻烦您提供一下订单号，我先帮您核实一下情况～",
        "Could you share your order number? I'll check the details first.",
    ),
    # -- red lines, notes, judge -----------------------------------------------------------------------------
    "red-line": Text("红线：{description}", "Red line: {description}"),
    "red-line.phone": Text("红线：发送了顾客未提供的手机号", "Red line: sent a phone number the customer never gave"),
    "unscored.abandoned": Text(
        "对话在第 {replies} 条回复后就放弃了，内容太少，无法评分",
        "The conversation was given up after {replies} reply(ies): too little to grade",
    ),
    "given-up": Text(
        "对话中途放弃：没做到的部分不计分，所以这次不算通过",
        "The conversation was given up: what was never done is not scored, so the attempt does not pass",
    ),
    "reaction.lost": Text(
        "顾客带着怒气或投诉离开，而服务中有失礼或敷衍的回复：无论得分多少，都不算通过",
        "The customer left angry or complaining after rude or curt replies: not passed, whatever the points",
    ),
    "injection.ignored": Text(
        "回复中含有指令式文字，已忽略（不影响评分）",
        "The reply contains instruction-like text; it was ignored (no effect on the score)",
    ),
    "judge.met": Text("（LLM 评审认为已做到，不扣分）", " (the LLM judge found it done: no deduction)"),
    "judge.not-met": Text("LLM 评审：{reason}", "LLM judge: {reason}"),
}


# Criterion titles as trainers and trainees read them, one language at a time (scorers may keep a bilingual
# title for logs; reports show these). Scenario criteria (facts, steps) are titled by the scenario's own text.
TITLES: dict[str, Text] = {
    "greeting": Text("问候", "Greeting"),
    "farewell": Text("结束语", "Closing the chat"),
    "politeness": Text("礼貌", "Politeness"),
    "empathy": Text("共情安抚", "Empathy"),
    "no-curt-replies": Text("不敷衍", "No curt replies"),
    "forbidden-words": Text("服务禁语", "Forbidden words"),
    "response-time": Text("响应时间", "Response time"),
    "reply-ratio": Text("答问比", "Reply ratio"),
    "answers-question": Text("答其所问", "Answering the question"),
    "no-flat-refusal": Text("拒绝给替代方案", "A no with a way out"),
    "needs-discovery": Text("需求挖掘", "Needs discovery"),
    "fabe": Text("FABE 介绍", "FABE"),
    "ask-answer-praise-recommend": Text("问答赞推", "Ask, answer, praise, recommend"),
    "matching": Text("搭配推荐", "Matching"),
    "objection-handling": Text("异议处理", "Objection handling"),
    "closing": Text("促成下单", "Closing the sale"),
    "empathy-sandwich": Text("共情三明治", "Empathy sandwich"),
    "reassurance": Text("打消顾虑", "Reassurance"),
    "de-escalation": Text("安抚降温", "De-escalation"),
    "expectation-setting": Text("告知时效与下一步", "Setting expectations"),
    "no-over-promise": Text("不过度承诺", "No over-promising"),
    "kb-consistent": Text("与知识库一致", "Consistent with the knowledge base"),
    "authority": Text("权限内处理", "Within authority"),
    "escalation": Text("超出权限时上报", "Escalating what you may not decide"),
    "verify-first": Text("先核实再处理", "Verify before a remedy"),
    "red-line": Text("红线", "Red lines"),
}
_CJK_PART = re.compile(r"[\u3400-\u9fff][^A-Za-z]*")


def criterion_title(criterion: str, title: str, locale: str) -> str:
    """The title of criterion ``criterion`` in ``locale``: the catalogue's, else the locale's half of a
    bilingual scorer title ("问候 greeting"), else the title as it stands (a scenario's own text)."""
    if criterion in TITLES:
        return TITLES[criterion].get(locale)
    cjk = _CJK_PART.match(title)
    if cjk and cjk.end() < len(title) and re.search(r"[A-Za-z]{3}", title[cjk.end() :]):
        return cjk.group(0).strip() if locale_key(locale) == ZH else title[cjk.end() :].strip()
    return title


def say(locale: str, mid: str, **fields: object) -> str:
    """The message ``mid`` in ``locale`` with ``fields`` filled in.

    Raises:
        KeyError: ``mid`` is not in the catalogue (a programming error, caught by the tests).
    """
    return CATALOGUE[mid].get(locale).format(**fields)
