"""The offline customer: plays a scenario's beats, no LLM needed.

For each trainee reply (the semantics scenario authors rely on):

1. Detect the reply's acts (:class:`~simulator.acts.ActDetector`; ``slow`` from the response time).
2. Apply reactions: the persona's ``angrier_when`` / ``calmer_when`` for every detected act, and the built-in
   reactions of :class:`~simulator.scenario.model.Persona` (curt, rude, blame, slow, and apologise/empathise
   while upset) unless the persona lists the same act, which replaces the default.
3. Pick the beat: among beats whose ``after`` beats have all fired (and that have not fired yet when ``once``),
   the ones with a matching trigger; the highest ``priority`` wins, then file order. It says one of its lines
   (variant chosen by the seed), changes mood and patience, reveals facts and may end with its ``outcome``.
4. No beat matched: if the reply asks for known facts (their ``ask_keywords``), the customer answers with
   them; otherwise it says a fallback line and loses 1 patience.
5. Patience at 0 ends with ``end.on_patience_exhausted``; the ``end.max_turns``-th reply ends with
   ``end.on_max_turns`` — each with a short leaving line.

Everything is a function of (seed, state, transcript, reply): no hidden randomness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from simulator.acts import ActDetector, DetectContext, substitute
from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.state import CustomerState
from simulator.scenario.beats import Beat
from simulator.scenario.model import Scenario
from simulator.scenario.persona import KnownFact, Reaction
from simulator.scenario.vocabulary import Act, Locale, Outcome
from simulator.text import normalise_text
from simulator.turn import Speaker, TurnSource

MOOD_MIN, MOOD_MAX = -3, 2

# Persona docstring: the reactions every customer has unless angrier_when / calmer_when lists the act.
BUILTIN_REACTIONS: dict[Act, Reaction] = {
    Act.CURT: Reaction(act=Act.CURT, mood=-1, patience=-1, note="one-word or brush-off reply"),
    Act.RUDE: Reaction(act=Act.RUDE, mood=-2, patience=-3, note="rude reply"),
    Act.BLAME: Reaction(act=Act.BLAME, mood=-2, patience=-2, note="blamed the customer or the courier"),
    Act.SLOW: Reaction(act=Act.SLOW, mood=-1, patience=-1, note="replied too slowly"),
}
SOOTHING = (Act.APOLOGISE, Act.EMPATHISE)
NO_BEAT_PATIENCE = -1

DEFAULT_FALLBACK = {
    Locale.ZH_CN: ("嗯？所以呢？", "你还没回答我的问题呀", "啊？我没太明白"),
    Locale.EN: ("Sorry, so what about my question?", "You haven't really answered me.", "Hm, I don't follow."),
}
# Leaving lines, by why the conversation ends and with which outcome.
LEAVING: dict[Locale, dict[str, tuple[str, ...]]] = {
    Locale.ZH_CN: {
        Outcome.LEFT: ("算了，我再去别家看看吧。", "算了算了，不买了。", "行吧，那我不要了。"),
        Outcome.BAD_REVIEW: ("这服务太差了，我会如实给差评的。", "行，那我只能给差评了。"),
        Outcome.ESCALATED: ("我要投诉，叫你们主管来跟我说！", "不跟你说了，我直接找平台投诉。"),
        Outcome.RESOLVED: ("好吧，那就先这样。",),
        Outcome.BOUGHT: ("好吧，那我先拍了。",),
        Outcome.INFORMED: ("好的，我知道了。",),
        "max-turns": ("我先去忙了，回头再说吧。", "聊了这么久还没弄明白，我先不看了。"),
    },
    Locale.EN: {
        Outcome.LEFT: ("Forget it, I'll look elsewhere.", "Never mind, I'll pass."),
        Outcome.BAD_REVIEW: ("This is terrible service. I'm leaving an honest one-star review.",),
        Outcome.ESCALATED: ("I want to speak to your manager. I'm filing a complaint.",),
        Outcome.RESOLVED: ("Fine, let's leave it there.",),
        Outcome.BOUGHT: ("OK, I'll just order it.",),
        Outcome.INFORMED: ("OK, got it.",),
        "max-turns": ("I have to go now, maybe another time.", "This is taking too long, I'll leave it."),
    },
}


def pick(options: Sequence[str], seed: int, key: str, n: int = 0) -> str:
    """A variant chosen by hashing (seed, key, n): stable across processes and Python versions."""
    if not options:
        raise ValueError("nothing to pick from")
    digest = hashlib.sha256(f"{seed}:{key}:{n}".encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]


@dataclass
class AppliedReaction:
    """A mood/patience change and why it happened (for transcripts, trainers and the LLM prompt)."""

    act: Act | None
    mood: int
    patience: int
    note: str


@dataclass
class Plan:
    """What the scripted customer does with one reply, before it becomes a :class:`CustomerResponse`."""

    acts: list[Act]
    beat: Beat | None
    line: str
    answered_facts: list[KnownFact]
    reactions: list[AppliedReaction]
    state: CustomerState
    outcome: Outcome | None
    end_reason: str | None
    leaving_line: str | None
    messages: list[CustomerMessage] = field(default_factory=list)

    def response(self, source: TurnSource = TurnSource.SCRIPTED) -> CustomerResponse:
        """The plan as a response, each message marked with ``source``."""
        msgs = [CustomerMessage(m.text, source=source, beat_id=m.beat_id) for m in self.messages]
        return CustomerResponse(msgs, self.state, list(self.acts), self.outcome, self.end_reason)


class ScriptedCustomer:
    """The offline default customer for one scenario.

    Args:
        scenario: The scenario to play.
        detector: Act detector (give it an embedder for trigger ``examples`` by meaning); default lexicons only.
    """

    name = "scripted"

    def __init__(self, scenario: Scenario, detector: ActDetector | None = None):
        self._scenario = scenario
        self.detector = detector or ActDetector()
        self._reaction_acts = {r.act for r in (*scenario.persona.angrier_when, *scenario.persona.calmer_when)}

    @property
    def scenario(self) -> Scenario:
        """The scenario being played."""
        return self._scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        """The opening line (variant chosen by the seed)."""
        text = substitute(pick(self._scenario.opening, ctx.seed, "opening"), ctx.variables)
        return CustomerResponse([CustomerMessage(text)], ctx.state.model_copy(deep=True))

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        """Answer one trainee reply."""
        return self.plan(ctx).response()

    # -- the engine ------------------------------------------------------------------------------------------

    def plan(self, ctx: TurnContext) -> Plan:
        """Work out the customer's turn (acts, reactions, beat, line, new state, outcome) without saying it."""
        s = self._scenario
        reply = ctx.reply or ""
        customer_texts = [t.text for t in ctx.transcript if t.role is Speaker.CUSTOMER]
        acts = self.detector.detect(
            reply,
            DetectContext(
                scenario=s,
                variables=ctx.variables,
                response_seconds=ctx.response_seconds,
                customer_texts=customer_texts,
            ),
        )
        state = ctx.state.model_copy(deep=True)
        reactions = self.reactions(acts, state.mood)
        beat = self.choose_beat(reply, acts, state, ctx.variables)
        answered: list[KnownFact] = []
        messages: list[CustomerMessage] = []
        if beat is not None:
            n = state.fired.get(beat.id, 0)
            line = substitute(pick(beat.say, ctx.seed, f"beat:{beat.id}", n), ctx.variables)
            state.fired[beat.id] = n + 1
            for key in beat.reveals:
                if key not in state.revealed:
                    state.revealed.append(key)
            reactions.append(AppliedReaction(None, beat.mood, beat.patience, f"beat {beat.id}"))
            messages.append(CustomerMessage(line, beat_id=beat.id))
        else:
            answered = self.asked_facts(reply, ctx.variables) if Act.ASK in acts else []
            if answered:
                parts = [self.fact_line(f, ctx.seed, ctx.variables) for f in answered]
                line = " ".join(parts)
                for f in answered:
                    if f.key not in state.revealed:
                        state.revealed.append(f.key)
            else:
                options = s.end.fallback or DEFAULT_FALLBACK[s.locale]
                line = substitute(pick(options, ctx.seed, "fallback", state.fallbacks), ctx.variables)
                state.fallbacks += 1
                reactions.append(AppliedReaction(None, 0, NO_BEAT_PATIENCE, "reply matched no beat"))
            messages.append(CustomerMessage(line))
        for r in reactions:
            state.mood = max(MOOD_MIN, min(MOOD_MAX, state.mood + r.mood))
            state.patience = max(0, state.patience + r.patience)
        state.turns += 1
        outcome, reason = (beat.outcome, "outcome") if beat is not None and beat.outcome else (None, None)
        leaving = None
        if outcome is None and state.patience <= 0:
            outcome, reason = s.end.on_patience_exhausted, "patience"
            leaving = pick(
                LEAVING[s.locale].get(outcome, LEAVING[s.locale][Outcome.LEFT]), ctx.seed, f"leave:{outcome}"
            )
        elif outcome is None and state.turns >= s.end.max_turns:
            outcome, reason = s.end.on_max_turns, "max-turns"
            key = "max-turns" if outcome is Outcome.LEFT else outcome
            leaving = pick(LEAVING[s.locale].get(key, LEAVING[s.locale]["max-turns"]), ctx.seed, f"leave:{key}")
        if leaving:
            messages.append(CustomerMessage(leaving))
        return Plan(acts, beat, messages[0].text, answered, reactions, state, outcome, reason, leaving, messages)

    def reactions(self, acts: Sequence[Act], mood_before: int) -> list[AppliedReaction]:
        """Mood/patience changes the detected acts cause (persona reactions replace built-in ones)."""
        persona = self._scenario.persona
        out: list[AppliedReaction] = []
        for r in (*persona.angrier_when, *persona.calmer_when):
            if r.act in acts:
                out.append(AppliedReaction(r.act, r.mood, r.patience, r.note or f"persona reaction to {r.act}"))
        for act, r in BUILTIN_REACTIONS.items():
            if act in acts and act not in self._reaction_acts:
                out.append(AppliedReaction(act, r.mood, r.patience, r.note))
        soothing = [a for a in SOOTHING if a in acts and a not in self._reaction_acts]
        if soothing and mood_before < 0:
            out.append(AppliedReaction(soothing[0], 1, 0, "apology or empathy while upset"))
        return out

    def eligible_beats(self, state: CustomerState) -> list[Beat]:
        """Beats that may fire now: their ``after`` beats have fired, and they have not if ``once``."""
        return [
            b
            for b in self._scenario.beats
            if all(state.fired.get(a) for a in b.after) and not (b.once and state.fired.get(b.id))
        ]

    def choose_beat(
        self, reply: str, acts: Sequence[Act], state: CustomerState, variables: Mapping[str, str]
    ) -> Beat | None:
        """The beat that fires for ``reply``: highest priority among matching eligible beats, then file order."""
        best: Beat | None = None
        for beat in self.eligible_beats(state):
            if best is not None and beat.priority <= best.priority:
                continue
            if any(self.detector.matches(t, reply, self._scenario, acts=acts, variables=variables) for t in beat.when):
                best = beat
        return best

    def asked_facts(self, reply: str, variables: Mapping[str, str]) -> list[KnownFact]:
        """Known facts whose ``ask_keywords`` appear in the reply, in scenario order (the caller checks it asks)."""
        norm = normalise_text(reply)
        return [
            f
            for f in self._scenario.known_facts
            if any(k.strip() and normalise_text(substitute(k, variables)) in norm for k in f.ask_keywords)
        ]

    @staticmethod
    def fact_line(fact: KnownFact, seed: int, variables: Mapping[str, str]) -> str:
        """How the customer states a fact (a ``say`` variant, or the value)."""
        return substitute(pick(fact.say, seed, f"fact:{fact.key}") if fact.say else fact.value, variables)
