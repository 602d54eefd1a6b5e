"""The LLM customer's prompt: a stable, cacheable prefix and a small per-turn suffix.

Layout (providers cache the longest identical prefix between calls):

1. **system** — persona, goal, known and unknown facts, beats as guidance, rules and the JSON answer format.
   Identical for every turn of a session (it depends only on the scenario and the session's variables).
2. **history** — the conversation so far: customer lines as ``assistant``, trainee lines as ``user``, plain
   text. Append-only, so each call's prefix is the previous call's prompt minus its suffix.
3. **suffix** — appended to the last trainee message: current mood and patience, facts already given, facts the
   trainee has just asked for, and what the scenario expects now. Only this part changes from call to call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulator.acts import substitute
from simulator.customer.scripted import Plan
from simulator.customer.state import CustomerState
from simulator.llm.base import ChatMessage
from simulator.scenario.beats import Trigger
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Locale, Mood, Outcome
from simulator.turn import Speaker, Turn, TurnKind

SUFFIX_MARK = "\n\n[customer-note]\n"


class Control(BaseModel):
    """The JSON the model must answer with: the customer's line plus control signals (validated)."""

    model_config = ConfigDict(extra="ignore")

    reply: str = Field(min_length=1, max_length=600)
    mood_delta: int = Field(default=0, ge=-2, le=2)
    outcome: Outcome | None = None
    stop: bool = False

    @field_validator("reply")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("empty reply")
        return v

    @field_validator("outcome", mode="before")
    @classmethod
    def _none_words(cls, v: object) -> object:
        # Models write "none", "null" or "" for "no outcome".
        return None if isinstance(v, str) and v.strip().lower() in ("", "none", "null", "continue") else v


class ParseError(ValueError):
    """The model's output is not a valid control object."""


def parse_control(text: str) -> Control:
    """The first JSON object in ``text`` (code fences and chatter around it are tolerated), validated."""
    start = text.find("{")
    if start < 0:
        raise ParseError("no JSON object in the output")
    try:
        obj, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise ParseError("the JSON is not an object")
    try:
        return Control.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ParseError(f"{'.'.join(map(str, first['loc'])) or 'output'}: {first['msg']}") from None


def _trigger_words(t: Trigger) -> str:
    if t.keywords:
        return "says something like: " + " / ".join(t.keywords[:6])
    if t.examples:
        return "says something like: " + " / ".join(t.examples[:2])
    if t.about:
        return f"{t.act.value} about {t.about}"
    return f"does '{t.act.value}'"


def system_prompt(scenario: Scenario, variables: Mapping[str, str]) -> str:
    """The stable prefix: everything about the customer that does not change during a conversation."""
    s, p = scenario, scenario.persona
    v = dict(variables)
    zh = s.locale is Locale.ZH_CN
    lines = [
        "You are role-playing a CUSTOMER (a buyer) chatting with a customer-service agent of an online shop. "
        "The other side is a trainee agent; you never play the agent.",
        "Write in Chinese (zh-CN), like a real buyer on Taobao/JD: short, colloquial, sometimes typos or emoji."
        if zh
        else "Write in English, like a real online shopper: short, casual messages.",
        "",
        "## Who you are",
        f"- Name: {p.name}; age group: {p.age_group.value}"
        + (f"; gender: {p.gender}" if p.gender else "")
        + (f"; occupation: {p.occupation}" if p.occupation else ""),
        f"- Traits: {', '.join(p.traits)}",
        f"- How you type: {p.speaking_style}",
    ]
    if p.background:
        lines.append(f"- Background (private): {substitute(p.background, v)}")
    lines += ["", "## What you want", substitute(s.goal.description, v)]
    if s.known_facts:
        lines += ["", "## Facts you know — give each one ONLY when the agent asks for it"]
        for f in s.known_facts:
            say = f' (e.g. "{substitute(f.say[0], v)}")' if f.say else ""
            lines.append(f"- {f.key}: {substitute(f.value, v)}{say}")
    if s.unknown_facts:
        lines += ["", "## Things you do NOT know — never make them up; say you don't know"]
        for u in s.unknown_facts:
            say = f' (e.g. "{u.say[0]}")' if u.say else ""
            lines.append(f"- {u.key}: {u.description}{say}")
    lines += ["", "## How the conversation usually goes (guidance, not a script)"]
    for b in s.beats:
        when = "; or ".join(_trigger_words(t) for t in b.when)
        after = f" (only after: {', '.join(b.after)})" if b.after else ""
        end = f" → the conversation ends: {b.outcome.value}" if b.outcome else ""
        guide = f" — {b.guidance}" if b.guidance else ""
        lines.append(
            f'- [{b.id}] when the agent {when}{after}: you say something like "{substitute(b.say[0], v)}"{guide}{end}'
        )
    reacts = [*p.angrier_when, *p.calmer_when]
    if reacts:
        lines += ["", "## What changes your mood"]
        lines += [f"- {r.act.value}: mood {r.mood:+d}" + (f" ({r.note})" if r.note else "") for r in reacts]
    outcomes = ", ".join(o.value for o in Outcome if o not in (Outcome.ABANDONED, Outcome.TIMED_OUT))
    lines += [
        "",
        "## Rules",
        "- You are the customer. Never greet like an agent, never offer help, never explain shop policy as if you "
        "worked there, never start the conversation over.",
        "- Give a known fact only when the agent asks for it. Never invent numbers, order details or facts you "
        "were not given.",
        "- Do not make it easy: if the agent is curt, rude, blames you, gives wrong information or promises "
        "what sounds impossible, be doubtful or annoyed, do not agree.",
        "- Only end the conversation when the private note says the goal is reached or you have lost patience.",
        "- Never repeat the agent's words, never repeat your own earlier messages, never ask again about something "
        "the agent already told you.",
        "- Never state shop policy (returns, shipping, insurance) yourself; ask about it.",
        "- One short chat message per answer.",
        "",
        "## Answer format",
        "Answer with ONE JSON object and nothing else:",
        '{"reply": "<your chat message>", "outcome": null}',
        f"(outcome stays null while the conversation goes on; when you end it, one of: {outcomes})",
    ]
    return "\n".join(lines)


def history(transcript: Sequence[Turn]) -> list[ChatMessage]:
    """The conversation as chat messages: the customer is the assistant, the trainee is the user."""
    out: list[ChatMessage] = []
    for t in transcript:
        if t.kind is not TurnKind.MESSAGE or t.role is Speaker.SYSTEM:
            continue
        out.append(ChatMessage("assistant" if t.role is Speaker.CUSTOMER else "user", t.text))
    return out


def note(scenario: Scenario, state: CustomerState, plan: Plan, variables: Mapping[str, str]) -> str:
    """The per-turn suffix: where the customer stands now and what the scenario expects next."""
    v = dict(variables)
    mood = Mood.from_level(plan.state.mood).value
    revealed = ", ".join(state.revealed) or "none"
    parts = [
        f"mood: {mood}; patience: {plan.state.patience}/{scenario.persona.patience}; facts already given: {revealed}",
    ]
    asked = [f.key for f in plan.answered_facts]
    if plan.beat is not None:
        asked += [k for k in plan.beat.reveals if k not in asked]
    if asked:
        facts = "; ".join(f"{f.key} = {substitute(f.value, v)}" for f in scenario.known_facts if f.key in asked)
        parts.append(f"the agent has just asked for: {facts} — your message MUST state these values")
    if plan.beat is not None:
        hint = plan.beat.guidance or plan.beat.id
        parts.append(f'the scenario now expects [{plan.beat.id}]: {hint}; e.g. "{plan.line}"')
    else:
        parts.append(f'the agent\'s message did not move things forward; react like "{plan.line}"')
    bad = [a.value for a in plan.acts if a.value in ("curt", "rude", "blame", "over-promise", "wrong-info", "slow")]
    if bad:
        parts.append(f"the agent's message was: {', '.join(bad)} — do not be pleased about it")
    if plan.outcome is not None:
        parts.append(f'END the conversation now: outcome "{plan.outcome.value}"')
    else:
        parts.append("the conversation continues: outcome null")
    language = "in Chinese" if scenario.locale is Locale.ZH_CN else "in English"
    parts.append(f"Answer as the customer ({language}) with the JSON object only.")
    return SUFFIX_MARK + "\n".join(parts)


def build_messages(
    scenario: Scenario,
    variables: Mapping[str, str],
    transcript: Sequence[Turn],
    reply: str,
    state: CustomerState,
    plan: Plan,
) -> list[ChatMessage]:
    """System prefix + history + the trainee's reply carrying the per-turn note."""
    msgs = [ChatMessage("system", system_prompt(scenario, variables)), *history(transcript)]
    msgs.append(ChatMessage("user", reply + note(scenario, state, plan, variables)))
    return msgs
