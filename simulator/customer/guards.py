"""Checks on an LLM customer's answer for the known failure modes of LLM user simulators.

Each check returns a short reason when the answer breaks a rule; the LLM customer re-asks once with the reasons
and falls back to the scripted customer if the second answer is no better.

* prompt echo — it repeats the instructions or the answer template; wrong language (a zh-CN customer
  answering without Chinese);
* role swap — it talks like the agent ("有什么可以帮您", "how can I help") or echoes the agent's message;
* leak — it gives a known fact's value the trainee has not asked for yet;
* invention — it states a number that appears nowhere in the scenario or the conversation;
* restart — it greets or opens the conversation again;
* early end — it ends with an outcome the scenario has not reached (a purchase nobody earned, or leaving while
  still calm);
* too cooperative — it is pleased with, or buys after, a reply that was rude, blamed it, gave wrong information
  or over-promised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from simulator.acts import similarity, substitute
from simulator.customer.prompt import Control
from simulator.customer.scripted import Plan
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Act, Locale, Outcome
from simulator.text import has_cjk, normalise_text
from simulator.turn import Speaker, Turn

_AGENT_TALK = re.compile(
    r"有什么(可以|能)?(帮|为)(您|你)|很高兴为(您|你)服务|我是.{0,8}客服|为您服务|请问还有什么|欢迎光临|亲[，,]?(您好|你好)"
    r"|how (can|may) i (help|assist)|i'?m (the|an?|your) (agent|assistant|customer service)|as an ai"
    r"|thank you for contacting|is there anything else i can"
)
_GREETING_START = re.compile(r"^(在吗|在不在|你好|您好|hello|hi\b|hey\b)")
_SPEAKER_PREFIX = re.compile(r"^\s*(顾客|买家|客户|customer|buyer|user)\s*[:：]\s*", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![0-9.])\d+(?:\.\d+)?")
_PROMPT_ECHO = re.compile(
    r"<your chat message>|answer (again )?as the customer|broke the rules|customer-note|mood_delta"
    r"|\boutcome\b.{0,4}null"
    r"|json object|you are role-playing|facts you know",
    re.IGNORECASE,
)
_NEGATIVE_ACTS = (Act.RUDE, Act.BLAME, Act.WRONG_INFO, Act.OVER_PROMISE, Act.CASHBACK)


def clean_reply(text: str) -> str:
    """Strip a speaker label the model may prepend ("顾客：", "Customer:") and surrounding quotes."""
    text = _SPEAKER_PREFIX.sub("", text.strip())
    return text.strip().strip('"“”').strip()


def scenario_numbers(scenario: Scenario, variables: Mapping[str, str]) -> set[str]:
    """Every number the customer could know from the scenario (not the reference answers or the rubric)."""
    text = (
        substitute(scenario.model_dump_json(exclude={"references", "expectations"}), variables)
        + " "
        + " ".join(variables.values())
    )
    return set(_NUMBER.findall(normalise_text(text)))


def violations(
    control: Control,
    *,
    scenario: Scenario,
    variables: Mapping[str, str],
    transcript: Sequence[Turn],
    reply: str,
    plan: Plan,
    allowed_numbers: set[str],
) -> list[str]:
    """Reasons the answer breaks the customer's rules (empty = acceptable)."""
    out: list[str] = []
    text = normalise_text(control.reply)
    if not text.strip():
        return ["the reply is empty"]
    if _PROMPT_ECHO.search(text):
        return ["you repeated the instructions instead of answering as the customer"]
    if scenario.locale is Locale.ZH_CN and not has_cjk(text):
        out.append("answer in Chinese, like the customer")
    if _AGENT_TALK.search(text) or similarity(control.reply, reply) >= 0.8:
        out.append("you answered as the shop's agent — you are the customer")
    customer_turns = [t for t in transcript if t.role is Speaker.CUSTOMER]
    if customer_turns and (
        _GREETING_START.match(text)
        or any(similarity(control.reply, substitute(o, variables)) >= 0.7 for o in scenario.opening)
    ):
        out.append("you started the conversation again — continue it")
    asked = {f.key for f in plan.answered_facts} | set(plan.beat.reveals if plan.beat else ())
    allowed_facts = set(plan.state.revealed) | asked
    for fact in scenario.known_facts:
        if fact.key in allowed_facts:
            continue
        value = normalise_text(substitute(fact.value, variables))
        nums = [n for n in _NUMBER.findall(value) if len(n) >= 2]
        if (nums and any(n in _NUMBER.findall(text) for n in nums)) or (not nums and len(value) >= 2 and value in text):
            out.append(f"you gave '{fact.key}' before the agent asked for it")
    conversation = " ".join([t.text for t in transcript] + [reply])
    known = allowed_numbers | set(_NUMBER.findall(normalise_text(conversation)))
    invented = [n for n in _NUMBER.findall(text) if n not in known and (len(n) >= 2 or float(n) >= 10)]
    if invented:
        out.append(f"you stated {', '.join(invented[:3])}, which you were never told — do not invent facts")
    ending = control.outcome if control.outcome is not None else (Outcome.LEFT if control.stop else None)
    if ending is not None and ending != plan.outcome:
        success = ending in scenario.goal.success
        upset = plan.state.mood + control.mood_delta <= -2 or plan.state.patience <= 1
        if success or not upset:
            out.append(f"you ended the conversation ({ending.value}) before the goal was reached — continue")
    if any(a in plan.acts for a in _NEGATIVE_ACTS) and (
        control.mood_delta > 0 or (control.outcome is not None and control.outcome in scenario.goal.success)
    ):
        out.append("the agent's message was rude, wrong or over-promising — do not be pleased or agree")
    return out
