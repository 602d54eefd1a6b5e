"""The offline customer: plays a scenario's beats, no LLM needed.

For each trainee reply (the semantics scenario authors rely on):

1. Detect the reply's acts (:class:`~simulator.acts.ActDetector`; ``slow`` from the response time).
2. Apply reactions: the persona's ``angrier_when`` / ``calmer_when`` for every detected act, and the built-in
   reactions of :class:`~simulator.scenario.model.Persona` (curt, rude, blame, slow, and apologise/empathise
   while upset) unless the persona lists the same act, which replaces the default.
3. Pick the beat: among beats whose ``after`` beats have all fired (and that have not fired yet when ``once``),
   the ones with a matching trigger; the highest ``priority`` wins, then file order. It says one of its lines
   (variant chosen by the seed), changes mood and patience, reveals facts and may end with its ``outcome``.
   If the beat asks something (its lines are questions) that the trainee has already answered — a later beat's
   trigger matches this reply or an earlier one — that later beat fires in the same turn instead of the
   question: the customer never re-asks what it was told. Facts the reply asks for that the beat does not give
   are answered too.
4. No beat matched: a reply that states a wrong value for a fact the customer knows ("您身高170对吧") is
   corrected; a reply that asks for known facts (their ``ask_keywords``) is answered with them, one that asks
   for something the customer does not know (an unknown fact's ``ask_keywords``) gets its "don't know" line;
   a rude or blaming reply gets an offended line, an over-promise a doubtful one; otherwise a fallback line.
   Anything but an answer costs 1 patience.
5. Patience at 0 ends with ``end.on_patience_exhausted``; the ``end.max_turns``-th reply ends with
   ``end.on_max_turns`` — each with a short leaving line.
6. No line is said twice in a conversation (:mod:`~simulator.customer.variety`), and the mood shown agrees
   with the line's tone (:mod:`~simulator.customer.tone`).

Everything is a function of (seed, state, transcript, reply): no hidden randomness.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from simulator.acts import ActDetector, DetectContext, asks, substitute
from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.customer.facts import FactBook, Line, numbers
from simulator.customer.state import CustomerState
from simulator.customer.tone import mood_for_line
from simulator.customer.variety import Said, fresh
from simulator.scenario.beats import Beat, Trigger
from simulator.scenario.model import Scenario
from simulator.scenario.persona import KnownFact, Reaction, UnknownFact
from simulator.scenario.vocabulary import Act, Locale, Outcome
from simulator.text import normalise_text
from simulator.turn import Speaker, TurnKind, TurnSource

MOOD_MIN, MOOD_MAX = -3, 2

# Persona docstring: the reactions every customer has unless angrier_when / calmer_when lists the act.
BUILTIN_REACTIONS: dict[Act, Reaction] = {
    Act.CURT: Reaction(act=Act.CURT, mood=-1, patience=-1, note="one-word or brush-off reply"),
    Act.RUDE: Reaction(act=Act.RUDE, mood=-2, patience=-3, note="rude reply"),
    Act.BLAME: Reaction(act=Act.BLAME, mood=-2, patience=-2, note="blamed the customer or the courier"),
    Act.SLOW: Reaction(act=Act.SLOW, mood=-1, patience=-1, note="replied too slowly"),
    Act.OVER_PROMISE: Reaction(act=Act.OVER_PROMISE, mood=-1, patience=0, note="promised what nobody can guarantee"),
}
SOOTHING = (Act.APOLOGISE, Act.EMPATHISE)
NO_BEAT_PATIENCE = -1

DEFAULT_FALLBACK = {
    Locale.ZH_CN: ("嗯？所以呢？", "你还没回答我的问题呀", "啊？我没太明白"),
    Locale.EN: ("Sorry, so what about my question?", "You haven't really answered me.", "Hm, I don't follow."),
}
# What a buyer says to a promise no shop can keep (unless a beat or a trusting persona says otherwise).
DOUBT = {
    Locale.ZH_CN: ("真的吗？你能保证？", "这么肯定？到时候做不到怎么办？", "你说得这么绝对，我反而有点不放心。"),
    Locale.EN: (
        "Can you actually promise that?",
        "Really? And if it doesn't work out?",
        "That sounds too good to be true.",
    ),
}
# What a buyer says to a rude or blaming reply no beat handles (a generic fallback would ignore the insult).
OFFENDED = {
    Locale.ZH_CN: ("你这什么态度？", "会不会好好说话？", "你这样说话我真不想买了。", "我问个问题而已，至于吗？"),
    Locale.EN: (
        "Excuse me? There's no need to be rude.",
        "Wow, okay. That's not how you talk to a customer.",
        "Seriously? What kind of service is this?",
    ),
}
# Opening a correction of a wrong fact about the customer.
CORRECTION = {
    Locale.ZH_CN: ("不对，", "不是哦，", "不是的，"),
    Locale.EN: ("No, ", "Actually no, ", "That's not right, "),
}
_QUESTION_LINE = re.compile(r"[?？]|吗|呢|怎么|什么|哪|多少|能不能|可不可以|会不会|是不是")
_FACT_CLAUSE = re.compile(r"[，。！？；,!?;\n]+")
_SENTENCE = re.compile(r"(?<=[。！？!?~～\n])")
# A claim about the customer addresses them ("您身高170对吧"); "签收后7天内可以换" is policy, not a claim.
_ADDRESSED = re.compile(r"您|你|亲|\byou\b|\byour\b")
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
        self._books: dict[tuple[tuple[str, str], ...], FactBook] = {}

    @property
    def scenario(self) -> Scenario:
        """The scenario being played."""
        return self._scenario

    def open(self, ctx: TurnContext) -> CustomerResponse:
        """The opening line (variant chosen by the seed), shown with a mood that agrees with it."""
        text = substitute(pick(self._scenario.opening, ctx.seed, "opening"), ctx.variables)
        state = ctx.state.model_copy(deep=True)
        state.mood = mood_for_line(state.mood, text)
        return CustomerResponse([CustomerMessage(text)], state)

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        """Answer one trainee reply."""
        return self.plan(ctx).response()

    # -- the engine ------------------------------------------------------------------------------------------

    def plan(self, ctx: TurnContext) -> Plan:
        """Work out the customer's turn (acts, reactions, beat, line, new state, outcome) without saying it."""
        s = self._scenario
        loc = s.locale
        reply = ctx.reply or ""
        customer_texts = [t.text for t in ctx.transcript if t.role is Speaker.CUSTOMER and t.kind is TurnKind.MESSAGE]
        said = Said(customer_texts)
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
        book = self.facts(ctx.variables)
        asking = Act.ASK in acts
        asked = self.asked_facts(reply, ctx.variables) if asking else []
        wrong = self.contradicted_facts(reply, ctx.variables, customer_texts)
        answered: list[KnownFact] = []
        messages: list[CustomerMessage] = []
        if beat is not None:
            fired = self._chain(beat, reply, acts, state, ctx.variables)
            for b in fired:
                n = state.fired.get(b.id, 0)
                state.fired[b.id] = n + 1
                for key in b.reveals:
                    if key not in state.revealed:
                        state.revealed.append(key)
                reactions.append(AppliedReaction(None, b.mood, b.patience, f"beat {b.id}"))
            beat = fired[-1]
            n = state.fired[beat.id] - 1
            line = fresh([substitute(x, ctx.variables) for x in beat.say], said, ctx.seed, f"beat:{beat.id}", n, loc)
            said.add(line)
            given = {k for b in fired for k in b.reveals}
            stated = set(book.stated(line))
            # Facts a question in the reply asks for (not a policy sentence that happens to say 签收) are answered
            # even though the beat does not give them.
            questions = " ".join(q for q in _SENTENCE.split(reply) if asks(q))
            asked_here = self.asked_facts(questions, ctx.variables) if questions else []
            extra = [f for f in [*wrong, *asked_here] if f.key not in given and f.key not in stated]
            extra = list({f.key: f for f in extra}.values())
            if extra:
                line = " ".join([line, *(self._fact_line(f, ctx, said) for f in extra)])
                answered = extra
                state.revealed += [f.key for f in extra if f.key not in state.revealed]
            for u in self.asked_unknowns(questions, ctx.variables) if questions else []:
                if u.say:  # "具体几点签收我不清楚" next to what the beat says
                    opts = [substitute(x, ctx.variables) for x in u.say]
                    unknown_line = fresh(opts, said, ctx.seed, f"unknown:{u.key}", 0, loc)
                    said.add(unknown_line)
                    line = f"{line} {unknown_line}"
            if any(f.key in stated or f in extra for f in wrong):
                line = fresh(CORRECTION[loc], said, ctx.seed, "correction", state.turns, loc) + line
            messages.append(CustomerMessage(line, beat_id=beat.id))
        else:
            answered = list({f.key: f for f in [*wrong, *asked]}.values())
            unknown = self.asked_unknowns(reply, ctx.variables) if asking and not answered else []
            if answered:
                line = " ".join(self._fact_line(f, ctx, said) for f in answered)
                if wrong:
                    line = fresh(CORRECTION[loc], said, ctx.seed, "correction", state.turns, loc) + line
            elif unknown and unknown[0].say:
                u = unknown[0]
                line = fresh([substitute(x, ctx.variables) for x in u.say], said, ctx.seed, f"unknown:{u.key}", 0, loc)
            else:
                if Act.RUDE in acts or Act.BLAME in acts:
                    options: Sequence[str] = OFFENDED[loc]
                    key, n = "offended", state.turns
                elif Act.OVER_PROMISE in acts and self._doubts_promises():
                    options = DOUBT[loc]
                    key, n = "doubt", state.turns
                else:
                    options = [substitute(x, ctx.variables) for x in (s.end.fallback or DEFAULT_FALLBACK[loc])]
                    key, n = "fallback", state.fallbacks
                line = fresh(options, said, ctx.seed, key, n, loc)
                state.fallbacks += 1
                reactions.append(AppliedReaction(None, 0, NO_BEAT_PATIENCE, "reply matched no beat"))
            said.add(line)
            for f in answered:
                if f.key not in state.revealed:
                    state.revealed.append(f.key)
            messages.append(CustomerMessage(line))
        for r in reactions:
            state.mood = max(MOOD_MIN, min(MOOD_MAX, state.mood + r.mood))
            state.patience = max(0, state.patience + r.patience)
        state.turns += 1
        outcome, reason = (beat.outcome, "outcome") if beat is not None and beat.outcome else (None, None)
        leaving = None
        if outcome is None and state.patience <= 0:
            outcome, reason = s.end.on_patience_exhausted, "patience"
            leave = LEAVING[loc].get(outcome, LEAVING[loc][Outcome.LEFT])
            leaving = fresh(leave, said, ctx.seed, f"leave:{outcome}", 0, loc)
        elif outcome is None and state.turns >= s.end.max_turns:
            outcome, reason = s.end.on_max_turns, "max-turns"
            key = "max-turns" if outcome is Outcome.LEFT else outcome
            leave = LEAVING[loc].get(key, LEAVING[loc]["max-turns"])
            leaving = fresh(leave, said, ctx.seed, f"leave:{key}", 0, loc)
        if leaving:
            messages.append(CustomerMessage(leaving))
        # The face shown beside the turn must not contradict what it says.
        state.mood = mood_for_line(state.mood, " ".join(m.text for m in messages))
        return Plan(acts, beat, messages[0].text, answered, reactions, state, outcome, reason, leaving, messages)

    def facts(self, variables: Mapping[str, str]) -> FactBook:
        """The scenario's known facts for these variables, ready to be looked for in text (cached)."""
        key = tuple(sorted(variables.items()))
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = FactBook(self._scenario.known_facts, variables)
        return book

    def _fact_line(self, fact: KnownFact, ctx: TurnContext, said: Said) -> str:
        options = [substitute(x, ctx.variables) for x in (fact.say or [fact.value])]
        line = fresh(options, said, ctx.seed, f"fact:{fact.key}", 0, self._scenario.locale)
        said.add(line)
        return line

    def _doubts_promises(self) -> bool:
        persona = self._scenario.persona
        own = [r for r in (*persona.angrier_when, *persona.calmer_when) if r.act is Act.OVER_PROMISE]
        return not own or any(r.mood <= 0 for r in own)

    def _chain(
        self, beat: Beat, reply: str, acts: Sequence[Act], state: CustomerState, variables: Mapping[str, str]
    ) -> list[Beat]:
        """``beat``, then the beats its question leads to when the same reply already answers it.

        A beat whose lines are all questions, that gives no new fact and is no reaction to a bad move (mood and
        patience ≥ 0) is skipped over to the follow-up beat — ``after`` it, itself progress (mood and patience
        ≥ 0, no outcome but a success) — whose trigger this reply matches too ("建议M码，7天内可以换" gets no
        "万一不合身能换吗？"). Earlier replies are not searched: keyword triggers match them out of context.
        """
        fired = [beat]
        done = dict(state.fired)
        for _ in range(3):
            current = fired[-1]
            if current.outcome is not None or any(k not in state.revealed for k in current.reveals):
                break
            if current.mood < 0 or current.patience < 0:
                break  # a reaction to a bad move, not a question waiting for an answer
            if not current.say or not all(_QUESTION_LINE.search(x.strip()) for x in current.say):
                break
            done[current.id] = done.get(current.id, 0) + 1
            follow = self._answered_follow_up(current, reply, acts, done, variables)
            if follow is None:
                break
            fired.append(follow)
        return fired

    def _answered_follow_up(
        self, beat: Beat, reply: str, acts: Sequence[Act], done: Mapping[str, int], variables: Mapping[str, str]
    ) -> Beat | None:
        s = self._scenario
        best: Beat | None = None
        for b in s.beats:
            if beat.id not in b.after or not all(done.get(a) for a in b.after) or (b.once and done.get(b.id)):
                continue
            if b.mood < 0 or b.patience < 0 or (b.outcome is not None and b.outcome not in s.goal.success):
                continue  # only progress skips a question; a complaint or leaving needs its own reply
            if best is not None and b.priority <= best.priority:
                continue
            if any(self._answers(t, reply, acts, variables) for t in b.when):
                best = b
        return best

    def _answers(self, trigger: Trigger, reply: str, acts: Sequence[Act], variables: Mapping[str, str]) -> bool:
        """Strong evidence that ``reply`` already answers a question: the trigger matches, and a keyword trigger
        matches with two of its keywords ("7天…换…运费险"), not one word used in passing ("寄回的运费")."""
        if not self.detector.matches(trigger, reply, self._scenario, acts=acts, variables=variables):
            return False
        if not trigger.keywords:
            return True
        norm = normalise_text(reply)
        hits = {k for k in trigger.keywords if k.strip() and normalise_text(substitute(k, variables)) in norm}
        return len(hits) >= 2

    def contradicted_facts(
        self, reply: str, variables: Mapping[str, str], customer_texts: Sequence[str] = ()
    ) -> list[KnownFact]:
        """Known facts the reply states with a wrong value ("您身高170对吧" when the customer is 165cm).

        A clause is about a fact when it has one of the fact's ``ask_keywords``; it is wrong when it states none
        of the fact's forms but holds a number with as many digits as the fact's (a 3-digit height; an order
        number ±1 digit), other than numbers the customer said itself. Only a clause addressed to the customer
        (您, 你, you) is a claim about them.
        """
        if not reply.strip():
            return []
        book = self.facts(variables)
        own = {n for t in customer_texts for n in numbers(t)}
        out: list[KnownFact] = []
        for fact in self._scenario.known_facts:
            forms = book.facts.get(fact.key)
            exact = [sig for sig in (forms.signatures if forms else ()) if sig.exact]
            if not exact:
                continue
            sizes = {len(x) for sig in exact for x in (*sig.numbers, *sig.codes)}
            keywords = [normalise_text(substitute(k, variables)) for k in fact.ask_keywords if k.strip()]
            for clause in _FACT_CLAUSE.split(normalise_text(reply)):
                if not any(k in clause for k in keywords) or not _ADDRESSED.search(clause):
                    continue
                line = Line(clause)
                if any(line.states(sig) for sig in exact):
                    break
                claimed = [n for n in line.numbers - own if len(n) in sizes or (len(n) >= 5 and _near(len(n), sizes))]
                if claimed:
                    out.append(fact)
                    break
        return out

    def asked_unknowns(self, reply: str, variables: Mapping[str, str]) -> list[UnknownFact]:
        """Unknown facts whose ``ask_keywords`` appear in the reply (the caller checks it asks)."""
        norm = normalise_text(reply)
        return [
            u
            for u in self._scenario.unknown_facts
            if any(k.strip() and normalise_text(substitute(k, variables)) in norm for k in u.ask_keywords)
        ]

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


def _near(n: int, sizes: set[int]) -> bool:
    return any(abs(n - z) <= 1 for z in sizes)
