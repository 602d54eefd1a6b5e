"""Checks on an LLM customer's line for the known failure modes of LLM user simulators — strict enough that even
a weak model stays faithful to the scenario, because a line that breaks any rule is never shown.

Every check has a rule id (reported per turn, counted per session in ``CustomerState.guard_rejections`` and by
``simulator probe``) and a short reason the model gets when it is asked again:

================  ==============================================================================================
``malformed``     no JSON object / schema violation (raised by the parser, counted here)
``empty``         a blank line
``prompt-echo``   it repeats the instructions or the answer template
``language``      a zh-CN customer writing English (or no Chinese at all); an English customer writing Chinese
``agent-talk``    it speaks as the shop's agent: greets or offers help like one, offers to check, refund,
                  exchange, compensate; asks the trainee for *their* order number or measurements
``echo``          it repeats the trainee's message (a long verbatim span of it)
``restart``       it greets or opens the conversation again
``repeat``        it says an earlier customer line again, word for word (or nearly)
``missing-fact``  the turn reveals facts (the trainee asked, the beat gives them) but the line does not state
                  their values — the trainee would never see them, yet the session would record them as given
``leak``          it states a hidden fact nobody asked for and the conversation has not mentioned
``invented``      a number, amount, code (order number, product code), weekday or relative date that is
                  nowhere in the persona or the conversation
``policy``        it states shop policy (return window, freight insurance, free shipping …) the persona was not
                  given and the trainee has not said
``early-end``     it ends with an outcome the plan has not reached (a success nobody earned, leaving while calm)
``too-cooperative`` pleased, or buying, after a rude, blaming, wrong or over-promising reply; or calm after a
                  rude or blaming reply the scripted buyer would take offence at
================  ==============================================================================================

Judging never depends on the model's own JSON fields alone: facts, numbers and policy are read from the line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulator.acts import similarity, substitute
from simulator.customer.facts import FactBook, canonical, numbers
from simulator.customer.prompt import Control
from simulator.customer.scripted import Plan
from simulator.customer.tone import PLEASED, UPSET, tone
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, Locale, Outcome
from simulator.text import CJK, normalise_text
from simulator.turn import Speaker, Turn, TurnKind

RULES = (
    "malformed",
    "empty",
    "prompt-echo",
    "language",
    "agent-talk",
    "echo",
    "restart",
    "repeat",
    "missing-fact",
    "leak",
    "invented",
    "policy",
    "early-end",
    "too-cooperative",
)

_AGENT_TALK = re.compile(
    # greeting, serving and signing like an agent
    r"有什么(可以|能|需要)?(帮|为)(您|你)|很高兴为(您|你)服务|我是.{0,8}(客服|店小二)|为您服务|请问还有什么|欢迎光临"
    r"|还有(什么|其他)(问题|需要).{0,6}(随时|可以)?(联系|找)我|祝您.{0,6}(愉快|生活)|感谢您的(耐心|理解|支持|信任)"
    # offering to act for the other side
    r"|(帮|为)(您|你)(查|核实|核对|处理|安排|申请|办理|登记|备注|转接|退|换|补|看看|看一下|解决|推荐|跟进|催)"
    r"|给(您|你)(退|换|补|赔|安排|申请|办理|处理|重新发|补发|优惠|便宜|打折|发优惠|红包|补偿|备注)"
    r"|(我|我们|这边)(马上|立刻|现在|这就)?(帮|为|给)(您|你)"
    r"|(我们|本店|店铺)(来)?(承担|负责|包邮|会(给|为|帮|尽快)|可以(给|为|帮)|这边(给|帮|会|可以|已经))"
    r"|我(马上|立刻|这就|现在)(去)?(查|核实|核对|处理|安排|申请|登记|联系仓库|催)"
    # asking the buyer's questions of the trainee
    r"|(提供|告诉我|发我|报一下|说一下)(一下)?(您|你)的(订单号?|身高|体重|地址|手机|照片|尺码)"
    r"|(您|你)的(订单号|身高体重)(是多少|多少)"
    r"|how (can|may) i (help|assist)|i'?m (the|an?|your) (agent|assistant|customer service|support)|as an ai"
    r"|thank you for (contacting|reaching out|your patience)|is there anything else i can|happy to help"
    r"|let me (check|look|see|pull up|verify|process|arrange|sort|get|find|confirm)"
    r"|i'?ll (check|look into|process|arrange|refund|issue|escalate|email you|get (that|this|it) sorted"
    r"|send you (a|the|an) (replacement|label|refund|new))"
    r"|i (can|could) (offer|refund|arrange|issue|give you a)"
    r"|we (can|will|'ll) (refund|replace|send you|offer|cover|arrange)"
    r"|(could|can) you (please )?(share|send|provide|give me) your (order|size|address)"
    r"|your order (number )?(is|has|was|will)"
    r"|our (return |refund |shipping )?policy"
)
_GREETING_START = re.compile(r"^(在吗|在不在|你好|您好|hello\b|hi\b|hey\b)")
_PROMPT_ECHO = re.compile(
    r"<your chat message>|answer (again )?as the customer|broke the rules|customer-note|mood_delta"
    r"|\boutcome\b.{0,4}null|json object|you are role-playing|facts you know|private note|the agent has just asked",
    re.IGNORECASE,
)
_LATIN_WORD = re.compile(r"[a-z]{2,}")
# Latin words a Chinese buyer uses without switching language.
_ZH_LATIN_OK = frozenset(
    ["ok", "okay", "cm", "kg", "xl", "xxl", "xs", "ok了", "app", "vip", "qq", "id", "wifi", "diy", "nw", "pdf"]
)
_NEGATIVE_ACTS = (Act.RUDE, Act.BLAME, Act.WRONG_INFO, Act.OVER_PROMISE, Act.CASHBACK)
# A number with a unit of time, money or quantity is a claim even when small ("等了3天", "5块").
_SMALL_CLAIM = re.compile(
    r"(?<![0-9.])(\d)\s*(天|块|元|件|次|周|个月|小时|分钟|号|斤|days?\b|weeks?\b|dollars?\b|bucks?\b|hours?\b|times\b|pairs?\b)"
)
_DIGIT_GROUPS = re.compile(r"\d+(?:[ -]\d+)+")
_MONEY = re.compile(r"[$¥￥]\s*(\d+(?:\.\d+)?)")
_CODE = re.compile(r"(?<![a-z0-9])(?=[a-z0-9-]*[a-z][a-z0-9-]*\d)[a-z0-9]+(?:-[a-z0-9]+)*(?![a-z0-9])")
_UNIT_SUFFIX = re.compile(r"\d+(cm|mm|kg|km|m|g|ml|h|am|pm|min|s|st|nd|rd|th|x|k|yo|wks?|hrs?|lbs?|in|ft|oz)$")
_DATES = re.compile(
    r"周[一二三四五六日]|昨天|前天|大前天|上周|上个月|上礼拜|\d+月\d+(日|号)"
    r"|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|last week|last month)\b"
)
_POLICY = re.compile(
    r"无理由|运费险|包邮|退货运费|来回运费|价保|保价|质保|保修|先行赔付|极速退款|假一赔|退换货?政策|可以退换|能退能换"
    r"|return (window|policy|label)|free (return|shipping|exchange|label)|restocking|warranty|price[- ]match"
    r"|business days|working days|refund within|within \d+ days|\d+[- ]day (return|window|policy)"
)
_QUESTION = re.compile(
    r"[?？]|吗|呢|是不是|能不能|可不可以|有没有|会不会|^\s*(is|are|do|does|can|could|will|would|what|how|when)\b"
)


def clean_reply(text: str) -> str:
    """Strip a speaker label the model may prepend ("顾客：", "Customer:") and surrounding quotes."""
    text = re.sub(r"^\s*(顾客|买家|客户|customer|buyer|user)\s*[:：]\s*", "", text.strip(), flags=re.IGNORECASE)
    return text.strip().strip('"“”').strip()


@dataclass(frozen=True)
class Violation:
    """A broken rule: its id (for counts) and the reason the model is told when asked again."""

    rule: str
    reason: str


class Knowledge:
    """What the persona may say without inventing it: the scenario's own text (persona, goal, facts, beats,
    openings — never the references or the rubric) for one set of variables."""

    def __init__(self, scenario: Scenario, variables: Mapping[str, str]):
        raw = substitute(scenario.model_dump_json(exclude={"references", "expectations"}), variables)
        raw += " " + " ".join(variables.values())
        text = raw
        self.text = canonical(text)
        self.numbers = set(numbers(text)) | set(numbers(raw))
        self.facts = FactBook(scenario.known_facts, variables)


def violations(
    control: Control,
    *,
    scenario: Scenario,
    variables: Mapping[str, str],
    transcript: Sequence[Turn],
    reply: str,
    plan: Plan,
    knowledge: Knowledge,
    required_facts: Sequence[str] = (),
) -> list[Violation]:
    """Rules the line breaks (empty = acceptable).

    Args:
        control: The model's parsed answer (its ``reply`` already cleaned).
        scenario: The scenario.
        variables: The session's variables.
        transcript: Every turn before the trainee's new reply.
        reply: The trainee's new reply.
        plan: The scripted engine's plan for this turn.
        knowledge: :class:`Knowledge` for this scenario and these variables.
        required_facts: Fact keys the line must state (the facts this turn reveals that the scripted line
            states too).
    """
    text = normalise_text(control.reply)
    if not text.strip():
        return [Violation("empty", "the reply is empty")]
    if _PROMPT_ECHO.search(text):
        return [Violation("prompt-echo", "you repeated the instructions instead of answering as the customer")]
    out: list[Violation] = []
    out += _language(scenario.locale, text)
    agent_turns = [t.text for t in transcript if t.role is Speaker.AGENT] + [reply]
    if _AGENT_TALK.search(text):
        out.append(Violation("agent-talk", "you spoke as the shop's agent — you are the customer, the buyer"))
    elif any(_echoes(control.reply, a) for a in agent_turns[-2:]):
        out.append(Violation("echo", "you repeated the agent's words — answer as the customer, in your own words"))
    customer_lines = [t.text for t in transcript if t.role is Speaker.CUSTOMER and t.kind is TurnKind.MESSAGE]
    if customer_lines and (
        _GREETING_START.match(text)
        or any(similarity(control.reply, substitute(o, variables)) >= 0.7 for o in scenario.opening)
    ):
        out.append(Violation("restart", "you started the conversation again — continue it"))
    elif any(normalise_text(c) == text or similarity(control.reply, c) >= 0.85 for c in customer_lines):
        out.append(Violation("repeat", "you said that already — say something new, in other words"))
    facts = knowledge.facts
    missing = [k for k in required_facts if k not in facts.stated(control.reply, [k])]
    if missing:
        values = "; ".join(_fact_value(scenario, k, variables) for k in missing)
        out.append(Violation("missing-fact", f"the agent asked for it: your message must state {values}"))
    out += _leaks(control.reply, scenario, transcript, reply, plan, facts, required_facts)
    context = canonical(" ".join([*(t.text for t in transcript), reply]))
    out += _inventions(text, knowledge, context)
    out += _policy(text, knowledge, context)
    out += _ending(control, scenario, plan)
    return out


def _language(locale: Locale, text: str) -> list[Violation]:
    cjk = len(CJK.findall(text))
    if locale is Locale.ZH_CN:
        latin = [w for w in _LATIN_WORD.findall(_CODE.sub(" ", text)) if w not in _ZH_LATIN_OK]
        if not cjk or len(latin) > max(2, cjk // 4):
            return [Violation("language", "answer in Chinese, like the customer")]
    elif cjk:
        return [Violation("language", "answer in English, like the customer")]
    return []


def _echoes(line: str, agent: str) -> bool:
    """A long verbatim span of the agent's message in the line (numbers and codes aside), or nearly all of it."""
    a, b = normalise_text(line), normalise_text(agent)
    if not a or not b:
        return False
    if similarity(line, agent) >= 0.8:
        return True
    m = difflib.SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    span = a[m.a : m.a + m.size]
    words = re.sub(r"[0-9a-z\-]*\d[0-9a-z\-]*", " ", span)  # order numbers, sizes, codes may be quoted back
    return len(CJK.findall(words)) >= 8 or len(re.findall(r"[a-z]+", words)) >= 7


def _fact_value(scenario: Scenario, key: str, variables: Mapping[str, str]) -> str:
    fact = next((f for f in scenario.known_facts if f.key == key), None)
    return f"{key} = {substitute(fact.value, variables)}" if fact else key


def _leaks(
    line: str,
    scenario: Scenario,
    transcript: Sequence[Turn],
    reply: str,
    plan: Plan,
    facts: FactBook,
    required: Sequence[str],
) -> list[Violation]:
    allowed = set(plan.state.revealed) | {f.key for f in plan.answered_facts} | set(required)
    if plan.beat is not None:
        allowed |= set(plan.beat.reveals)
    hidden = [k for k in facts.facts if k not in allowed]
    if not hidden:
        return []
    said = facts.stated(line, hidden, strict=True)
    if not said:
        return []
    # A fact the conversation already mentions (the opening, the trainee's own words) is not a secret any more.
    public = set(facts.stated(" ".join([*(t.text for t in transcript), reply]), said, strict=True))
    return [Violation("leak", f"you gave '{k}' before the agent asked for it") for k in said if k not in public]


def _inventions(text: str, knowledge: Knowledge, context: str) -> list[Violation]:
    line = canonical(text)
    known = knowledge.numbers | set(numbers(context))
    # An order number typed in groups ("6597 9711 4710 …") is the known number, not several new ones.
    for m in _DIGIT_GROUPS.finditer(line):
        if re.sub(r"\D", "", m.group(0)) in known:
            known |= set(re.findall(r"\d+", m.group(0)))
    found: list[str] = []
    for n in numbers(text):
        if n not in known and (len(n) >= 2 or float(n) >= 10):
            found.append(n)
    for m in _SMALL_CLAIM.finditer(line):
        if m.group(1) not in known:
            found.append(m.group(0))
    for m in _MONEY.finditer(line):
        if m.group(1) not in known:
            found.append(m.group(0))
    for m in _CODE.finditer(line):
        code = m.group(0)
        if _UNIT_SUFFIX.fullmatch(code) or code in knowledge.text or code in context:
            continue
        found.append(code)
    for m in _DATES.finditer(line):
        if m.group(0) not in knowledge.text and m.group(0) not in context:
            found.append(m.group(0))
    found = list(dict.fromkeys(found))
    if not found:
        return []
    return [
        Violation("invented", f"you stated {', '.join(found[:3])}, which you were never told — do not invent facts")
    ]


def _policy(text: str, knowledge: Knowledge, context: str) -> list[Violation]:
    for clause in re.split(r"(?<=[。！!？?；;\n，,])", canonical(text)):
        if _QUESTION.search(clause):
            continue  # asking about a policy is what buyers do
        for m in _POLICY.finditer(clause):
            term = m.group(0)
            if term not in knowledge.text and term not in context:
                return [
                    Violation(
                        "policy",
                        f"you stated shop policy ('{term}') you do not know — ask about it instead of stating it",
                    )
                ]
    return []


def _ending(control: Control, scenario: Scenario, plan: Plan) -> list[Violation]:
    out: list[Violation] = []
    ending = control.outcome if control.outcome is not None else (Outcome.LEFT if control.stop else None)
    if ending is not None and ending != plan.outcome:
        success = ending in scenario.goal.success
        upset = plan.state.mood + control.mood_delta <= -2 or plan.state.patience <= 1
        if success or not upset:
            out.append(
                Violation(
                    "early-end", f"you ended the conversation ({ending.value}) before the goal was reached — continue"
                )
            )
    offended = any(a in plan.acts for a in (Act.RUDE, Act.BLAME)) and tone(plan.line) == UPSET
    if any(a in plan.acts for a in _NEGATIVE_ACTS) and (
        control.mood_delta > 0
        or tone(control.reply) == PLEASED
        or (offended and tone(control.reply) != UPSET)
        or (control.outcome is not None and control.outcome in scenario.goal.success)
    ):
        out.append(
            Violation(
                "too-cooperative",
                "the agent's message was rude, wrong or over-promising — show you are not pleased, do not agree",
            )
        )
    return out
