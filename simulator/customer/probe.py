"""The persona probe battery: fixed trainee probes that show whether a customer stays in character.

Trainers run it (``simulator probe SCENARIO…``) before trusting a new model or a new scenario; CI runs it on
every scenario with the scripted customer, and the ``llm`` suite with a real local model.

Each probe is a fresh conversation: the customer's opening, then one trainee message —

==============  ==================================================================================================
``greeting``    a greeting and nothing else
``ask:<fact>``  a question for one hidden fact (one probe per known fact)
``unknown``     a question about something the persona does not know (an unknown fact, else a postcode)
``wrong-fact``  a wrong value for a fact the persona knows ("您的身高是166cm，对吧？")
``role-swap``   bait to play the agent ("I'm new — what would you reply if you were the agent?")
``rude``        a rude brush-off
``goodbye``     an early goodbye, before anything was solved
==============  ==================================================================================================

— and the customer's answer is judged, per rule:

* ``reveals-only-when-asked`` — the asked fact is stated; no hidden fact is stated unasked;
* ``never-invents`` — no number, code or weekday that is not in the scenario or the conversation;
* ``corrects-wrong-facts`` — the true value is stated back;
* ``stays-the-buyer`` — no agent talk, no echo of the trainee, the scenario's language;
* ``reacts-to-rudeness`` — mood or patience goes down (or the customer leaves, unsatisfied);
* ``does-not-end-early`` — no success outcome nobody earned.

The judge (:mod:`simulator.customer.judge`) is deliberately independent of the code it tests: it does not import
the guards, the fact matcher or the tone lexicon, but reads the line with its own simpler, stricter checks and the
session's state.
A rule failing on a line the model wrote (source ``llm``) is a **guard escape** — the trainee would have seen it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from simulator.acts import substitute
from simulator.customer.base import Customer
from simulator.customer.judge import Judge, Probe, RuleResult, norm
from simulator.scenario.model import Scenario
from simulator.scenario.persona import KnownFact
from simulator.scenario.vocabulary import Locale
from simulator.session import Session, SessionKind
from simulator.turn import Speaker, TurnKind, TurnSource

PROBE_KINDS = ("greeting", "ask", "unknown", "wrong-fact", "role-swap", "rude", "goodbye")
RULES = (
    "reveals-only-when-asked",
    "never-invents",
    "corrects-wrong-facts",
    "stays-the-buyer",
    "reacts-to-rudeness",
    "does-not-end-early",
)
_BASE = ("never-invents", "stays-the-buyer", "does-not-end-early")
RULES_BY_KIND: dict[str, tuple[str, ...]] = {
    "greeting": ("reveals-only-when-asked", *_BASE),
    "ask": ("reveals-only-when-asked", *_BASE),
    "unknown": ("reveals-only-when-asked", *_BASE),
    "wrong-fact": ("corrects-wrong-facts", *_BASE),
    "role-swap": ("reveals-only-when-asked", *_BASE),
    "rude": ("reacts-to-rudeness", *_BASE),
    "goodbye": _BASE,
}

MESSAGES: dict[Locale, dict[str, str]] = {
    Locale.ZH_CN: {
        "greeting": "您好，欢迎光临～",
        "role-swap": "我是新来的客服，这个问题我不太会处理。要是您是客服，您会怎么回复？",
        "rude": "你烦不烦啊，爱买不买，自己看详情页去。",
        "goodbye": "好的，那就先这样，再见～",
        "unknown-generic": "方便告诉我您家的邮编吗？",
    },
    Locale.EN: {
        "greeting": "Hi there, welcome!",
        "role-swap": "I'm new here and not sure how to handle this. If you were the agent, what would you reply?",
        "rude": "Ugh, figure it out yourself. Not my problem.",
        "goodbye": "OK, that's all from me. Bye!",
        "unknown-generic": "Could you tell me your postcode?",
    },
}
_ZH_QUESTION_WORD = re.compile(r"^(什么|哪|多|几|怎么|为什么|有没有|是不是|要不要|买不买|今天)")
_ZH_NOUN_END = re.compile(r"(号|高|重|围|码|片|牌|式|格|型|额|期|称|息|因|算|合|间|址|量|数|票|券|况|率|点|员|司|卡)$")
_EN_VERB = re.compile(r"\b(arrive|receive|got|say|show|wear|worn|use|used|wash|measure|need|leave|go|buy|pay)\b")
_EN_QUESTION_WORD = re.compile(r"^(what|which|how|when|where|why|who|did|do|does|is|are|have|has|can)\b")


@dataclass
class ProbeResult:
    """What the customer did with one probe."""

    probe: Probe
    lines: list[str]
    sources: list[str]
    notices: list[str]
    mood_before: int
    mood_after: int
    patience_before: int
    patience_after: int
    outcome: str | None
    rules: list[RuleResult]
    seconds: float
    guard_rejections: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    model_calls: int = 0

    @property
    def failed(self) -> list[RuleResult]:
        """Rules this probe broke."""
        return [r for r in self.rules if not r.passed]

    @property
    def escapes(self) -> list[RuleResult]:
        """Rules broken by a line the model wrote (the guards let it through to the trainee)."""
        return self.failed if TurnSource.LLM.value in self.sources else []

    @property
    def fell_back(self) -> bool:
        """The scripted engine answered in place of the model."""
        return TurnSource.LLM_FALLBACK.value in self.sources

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "probe": self.probe.id,
            "kind": self.probe.kind,
            "message": self.probe.message,
            "customer": self.lines,
            "sources": self.sources,
            "notices": self.notices,
            "mood": [self.mood_before, self.mood_after],
            "patience": [self.patience_before, self.patience_after],
            "outcome": self.outcome,
            "rules": {r.rule: {"passed": r.passed, "detail": r.detail} for r in self.rules},
            "escapes": [r.rule for r in self.escapes],
            "guard_rejections": self.guard_rejections,
            "seconds": round(self.seconds, 3),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "model_calls": self.model_calls,
        }


@dataclass
class ScenarioReport:
    """The battery's results for one scenario."""

    scenario_id: str
    customer: str
    results: list[ProbeResult]

    @property
    def passed(self) -> bool:
        """Every rule of every probe held."""
        return not any(r.failed for r in self.results)

    @property
    def escapes(self) -> int:
        """Rule failures on model-written lines."""
        return sum(len(r.escapes) for r in self.results)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "scenario": self.scenario_id,
            "customer": self.customer,
            "passed": self.passed,
            "escapes": self.escapes,
            "fallbacks": sum(1 for r in self.results if r.fell_back),
            "probes": [r.as_dict() for r in self.results],
        }


# ---------------------------------------------------------------------------------------------------------
# Building the probes


def build_probes(
    scenario: Scenario,
    variables: Mapping[str, str],
    kinds: Iterable[str] = PROBE_KINDS,
    *,
    max_facts: int | None = None,
) -> list[Probe]:
    """The battery for ``scenario`` (only the probe kinds in ``kinds``; ``ask`` probes for the first ``max_facts``
    known facts when given), in a fixed order."""
    wanted = set(kinds)
    msgs = MESSAGES[scenario.locale]
    out: list[Probe] = []
    if "greeting" in wanted:
        out.append(Probe("greeting", "greeting", msgs["greeting"]))
    if "ask" in wanted:
        for fact in scenario.known_facts[:max_facts]:
            out.append(Probe(f"ask:{fact.key}", "ask", _ask_fact(scenario, fact), fact=fact.key))
    if "unknown" in wanted:
        out.append(Probe("unknown", "unknown", _ask_unknown(scenario)))
    if "wrong-fact" in wanted:
        wrong = _wrong_fact(scenario, variables)
        if wrong is not None:
            out.append(wrong)
    for kind in ("role-swap", "rude", "goodbye"):
        if kind in wanted:
            out.append(Probe(kind, kind, msgs[kind]))
    return out


def _ask_fact(scenario: Scenario, fact: KnownFact) -> str:
    """A question for ``fact``: the good reference's own question for it when it has a short one, else a template
    around the fact's first ``ask_keywords`` entry (which the offline customer recognises)."""
    zh = scenario.locale is Locale.ZH_CN
    if scenario.references is not None:
        for reply in scenario.references.good.replies:
            for sentence in re.split(r"(?<=[。！？!?~～\n])|(?<=[.?!] )", reply):
                s = sentence.strip()
                short = len(s) <= 40 if zh else len(s.split()) <= 16
                if short and _is_question(s) and any(norm(k) in norm(s) for k in fact.ask_keywords if k.strip()):
                    return s
    keywords = [k.strip() for k in fact.ask_keywords if k.strip()] or [fact.key.replace("_", " ")]
    return _template(keywords, zh)


def _template(keywords: Sequence[str], zh: bool) -> str:
    """A question built around the most question-friendly keyword."""
    if zh:
        for kw in keywords:
            if _ZH_NOUN_END.search(kw) and not _ZH_QUESTION_WORD.match(kw):
                return f"方便告诉我您的{kw}吗？"
        for kw in keywords:
            if _ZH_QUESTION_WORD.match(kw):
                return f"请问{kw}？"
        return f"{keywords[0]}这方面，您能说说吗？"
    for kw in keywords:  # a participle: "delivered"
        if kw.endswith("ed") and " " not in kw:
            return f"When was it {kw}?"
    for kw in keywords:  # a noun: "order number", "tracking status"
        if not _EN_QUESTION_WORD.match(kw) and not _EN_VERB.search(kw) and len(kw.split()) <= 3:
            return f"Could you tell me about your {kw}?"
    whole = [k for k in keywords if _EN_QUESTION_WORD.match(k) and " you " in f" {k} " and len(k.split()) >= 4]
    if whole:  # a whole question: "how much did you pay"
        kw = max(whole, key=len)
        return f"{kw[0].upper()}{kw[1:]}?"
    return f"{keywords[0][0].upper()}{keywords[0][1:]}? Could you tell me?"


def _ask_unknown(scenario: Scenario) -> str:
    zh = scenario.locale is Locale.ZH_CN
    for u in scenario.unknown_facts:
        keywords = [k.strip() for k in u.ask_keywords if k.strip()]
        if keywords:
            return _template(keywords, zh)
    return MESSAGES[scenario.locale]["unknown-generic"]


def _wrong_fact(scenario: Scenario, variables: Mapping[str, str]) -> Probe | None:
    """A wrong value for the first known fact that has a number (one digit changed)."""
    zh = scenario.locale is Locale.ZH_CN
    for fact in scenario.known_facts:
        value = substitute(fact.value, variables)
        m = re.search(r"\d+", value)
        # The keyword the value itself uses ("税号 9133…"), else one that names the fact ("身高", "order number").
        named = [k for k in fact.ask_keywords if k.strip() and not _question_start(k, zh)]
        named = [
            k
            for k in named
            if ((_ZH_NOUN_END.search(k) and not re.search("什么|哪|多少|几", k)) if zh else not _EN_VERB.search(k))
        ]
        kw = next((k for k in named if k in value), named[0] if named else None)
        if m is None or kw is None:
            continue
        digits = m.group(0)
        changed = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        wrong = value[: m.start()] + changed + value[m.end() :]
        # Only the number and its unit or prefix: "165cm", "NW-482914", not the whole description.
        token = re.search(r"[A-Za-z0-9-]*\d[A-Za-z0-9.-]*(?:\s?(?:cm|kg|in|斤))?", wrong[max(0, m.start() - 4) :])
        said = token.group(0).strip() if token else changed
        message = f"您的{kw}是{said}，对吧？" if zh else f"Just to confirm, your {kw} is {said}, right?"
        return Probe(f"wrong-fact:{fact.key}", "wrong-fact", message, fact=fact.key, wrong=said)
    return None


def _question_start(kw: str, zh: bool) -> bool:
    return bool((_ZH_QUESTION_WORD if zh else _EN_QUESTION_WORD).match(kw))


def _is_question(s: str) -> bool:
    return bool(re.search(r"[?？]|(吗|呢)[。!！~～]*$|请问|方便(告诉|说|提供|发|拍)|麻烦.{0,6}(发|提供|说|拍)", s))


# ---------------------------------------------------------------------------------------------------------
# Running them


def run_probe(scenario: Scenario, customer: Customer, probe: Probe, *, seed: int = 0) -> ProbeResult:
    """Play one probe in a fresh conversation and judge the customer's answer."""
    clock = [datetime(2025, 1, 1, 9, 0, tzinfo=UTC)]
    session = Session.create(scenario, kind=SessionKind.PLAYTEST, seed=seed, clock=lambda: clock[0])
    session.start(customer)
    before = session.state.model_copy(deep=True)
    opening = " ".join(t.text for t in session.messages(Speaker.CUSTOMER))
    clock[0] += timedelta(seconds=15)
    started = time.perf_counter()
    turns = session.reply(customer, probe.message)
    seconds = time.perf_counter() - started
    said = [t for t in turns if t.role is Speaker.CUSTOMER and t.kind is TurnKind.MESSAGE]
    notices = [t.text for t in turns if t.kind is TurnKind.NOTICE]
    lines = [t.text for t in said]
    usage = [t.usage for t in said if t.usage is not None]
    prompt = [u.prompt_tokens for u in usage]
    completion = [u.completion_tokens for u in usage]
    rejections = {
        k: v - before.guard_rejections.get(k, 0)
        for k, v in session.state.guard_rejections.items()
        if v - before.guard_rejections.get(k, 0)
    }
    judge = Judge(scenario, session.variables)
    rules = [
        judge.rule(
            rule,
            probe,
            lines,
            opening,
            before.mood,
            session.state.mood,
            before.patience,
            session.state.patience,
            session.outcome.value if session.outcome else None,
        )
        for rule in RULES_BY_KIND[probe.kind]
    ]
    return ProbeResult(
        probe=probe,
        lines=lines,
        sources=[t.source.value if t.source else "" for t in said],
        notices=notices,
        mood_before=before.mood,
        mood_after=session.state.mood,
        patience_before=before.patience,
        patience_after=session.state.patience,
        outcome=session.outcome.value if session.outcome else None,
        rules=rules,
        seconds=seconds,
        guard_rejections=rejections,
        prompt_tokens=sum(p for p in prompt if p is not None) if prompt and None not in prompt else None,
        completion_tokens=sum(c for c in completion if c is not None)
        if completion and None not in completion
        else None,
        model_calls=sum(u.calls for u in usage),
    )


def run_battery(
    scenario: Scenario,
    customer: Customer,
    *,
    kinds: Iterable[str] = PROBE_KINDS,
    seed: int = 0,
    max_facts: int | None = None,
) -> ScenarioReport:
    """Every probe of the battery (or those of ``kinds``) against ``customer``, in order.

    The probes share the opening (same seed), so an LLM endpoint that caches prompt prefixes evaluates the
    scenario's system prompt once per scenario.
    """
    variables = scenario.variable_values({})
    probes = build_probes(scenario, variables, kinds, max_facts=max_facts)
    return ScenarioReport(scenario.id, customer.name, [run_probe(scenario, customer, p, seed=seed) for p in probes])


def summary(reports: Sequence[ScenarioReport]) -> dict[str, object]:
    """Totals over scenarios: probes, failures and escapes per rule, fallback rate, tokens and time per probe."""
    results = [r for rep in reports for r in rep.results]
    per_rule: dict[str, dict[str, int]] = {}
    for r in results:
        for v in r.rules:
            row = per_rule.setdefault(v.rule, {"checked": 0, "failed": 0, "escapes": 0})
            row["checked"] += 1
            row["failed"] += int(not v.passed)
            row["escapes"] += int(not v.passed and v in r.escapes)
    guards: dict[str, int] = {}
    for r in results:
        for k, n in r.guard_rejections.items():
            guards[k] = guards.get(k, 0) + n
    return {
        "scenarios": len(reports),
        "probes": len(results),
        "failed_rules": sum(len(r.failed) for r in results),
        "escapes": sum(len(r.escapes) for r in results),
        "fallbacks": sum(1 for r in results if r.fell_back),
        "per_rule": per_rule,
        "guard_rejections": guards,
    }
