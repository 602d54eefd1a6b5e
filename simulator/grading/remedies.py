"""How the agent handled the customer's problem, turn by turn: what was verified, what was decided, which rung
of the remedy ladder was offered — read once per transcript and shared by the process checks.

Doing is not offering. "换码没问题，先发下订单号我核实" offers the remedy *in principle* while asking for details:
it decides nothing yet. A reply **decides** the case when it carries out a remedy ("已经给您安排换货了", "I've
swapped your order"), offers money, agrees to the customer's figure, bends the policy, rules on the request
("退不了的", "worn boots can't be returned") or proposes a remedy outright without asking for anything.

The remedy ladder 能补偿不换货、能换货不退货: compensation (rung 0), exchange (rung 1), return or refund of the goods
(rung 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from simulator.acts import substitute
from simulator.grading.context import GradingContext
from simulator.grading.intents import (
    CONCEPTS,
    CUSTOMER_NEGATION,
    NEGATION,
    Intent,
    IntentDetector,
    clause_of,
    clause_spans,
    cue_hits,
    gated_sentences,
    negated_at,
)
from simulator.grading.lexicon import Hit
from simulator.grading.offers import Money, Offer
from simulator.scenario.vocabulary import Act, Category

REMEDY_ACTS = frozenset({Act.OFFER_COMPENSATION, Act.OFFER_EXCHANGE, Act.OFFER_RETURN, Act.OFFER_REFUND})
RUNG = {Act.OFFER_COMPENSATION: 0, Act.OFFER_EXCHANGE: 1, Act.OFFER_RETURN: 2, Act.OFFER_REFUND: 2}
RETURN_RUNG = 2

# Rung 2 in words: the goods go back for money, or "refund and reorder" instead of an exchange. A refund of a
# fee or a price difference is not a return.
_RETURN_RUNG = re.compile(
    r"退货|退了|退掉|退款|退钱|全额退|重新(拍|下单|买)"
    r"|\breturn (it|them|the|this)\b|\bsend (it|them|the \w+) back for\b"
    r"|寄回.{0,15}(退款|退钱|退给)|\bsend (it|them|the \w+) back\b.{0,40}(\brefund|\bmoney|\bback to you|\$)"
    r"|\brefund and (re)?order|\bplace a new order|\bre-?order\b|\bfull refund|\bmoney back"
    r"|\brefund (it|them|the order|your order|the whole|the full)\b",
    re.I,
)
_EXCHANGE_WORD = re.compile(
    r"(?<!替)换(?!季|句|个角度|位|做|作|成是|言)|\bexchange|\bswap|\breplace|\bnew (one|size)", re.I
)
# Asking, not telling: a request for the order, photos or the condition ("麻烦发一下订单号", "could you send").
_REQUEST = re.compile(
    r"[?？]|吗|麻烦|(?<!申)请|方便|发(一)?下|发我|发给我|提供|告诉|拍(一下|下|张|个)|看看"
    r"|\bcould you\b|\bcan you\b|\bplease\b"
    r"|\bsend (me|us|over)\b|\bshare\b|\bwhat('s| is) (your|the)\b|\blet me know\b|\bpop\b|\bmay i\b",
    re.I,
)
# The customer sending photos: an attachment, or saying so.
_ATTACHED = re.compile(
    r"\[(图片|视频|照片|image|photo|picture|video)\]|照片(发|给)|(发|拍)了?(照片|图)|\battached\b"
    r"|\bhere('s| is| are) (a |the |some )?(photo|picture|pic|image)s?",
    re.I,
)
_EXCHANGE_REQUEST = re.compile(
    r"换|\bswap|\bexchange|\bswitch|\b(bigger|smaller|different) size|\bsize (up|down)", re.I
)
_NOT_ASKED = re.compile(r"没(说|想|要)|不(想|要|是要)|\bdidn'?t (ask|want|say)|\bnot (asking|looking)", re.I)
# An id a customer pastes: NW-482913, 18 digits.
_ORDER_ID = re.compile(r"\b[A-Z]{1,4}-?\d{5,}\b|\d{8,}")
_QUESTION_END = re.compile(r"[?？]\s*$|(吗|呢)[。.!！~～\s]*$")
_SENTENCE = re.compile(r"[^。！!？?\n]+[。！!？?]*")


@dataclass(frozen=True)
class Decision:
    """A turn where the agent decided the case, and the words that show it."""

    turn: int
    hit: Hit | None
    why: str  # remedy-done | money | agreed | exception | ruling | proposal


@dataclass
class Remedies:
    """One transcript's remedies, verification and decisions (see the module docstring)."""

    ctx: GradingContext
    detector: IntentDetector
    _intents: dict[int, dict[str, Intent]] = field(default_factory=dict)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)

    # -- reading a turn --------------------------------------------------------------------------------------

    def intents(self, turn: int) -> dict[str, Intent]:
        """Concepts of :mod:`simulator.grading.intents` the agent turn shows."""
        embedder = self.ctx.embedder if self.ctx.scenario is not None else None  # real chats: lexicon only
        concepts = self.meaning_for
        if embedder is not None and not self._vectors and self.detector.use_meaning and concepts:
            # Every agent sentence worth a meaning test in one embedder batch, not one call per reply.
            texts = [self.ctx.texts[i] for i in self.ctx.agent_indices()]
            todo = list(dict.fromkeys(t[a:b].strip() for t in texts for a, b in gated_sentences(t, concepts)))
            if todo:
                for t, v in zip(todo, embedder.embed(todo), strict=True):
                    self._vectors[t] = np.asarray(v, dtype=np.float32)
        if turn not in self._intents:
            self._intents[turn] = self.detector.find(
                self.ctx.lexicon, self.ctx.texts[turn], embedder, self._vectors, meaning_for=concepts
            )
        return self._intents[turn]

    @cached_property
    def meaning_for(self) -> tuple[str, ...]:
        """Concepts worth a meaning test in this transcript: a remedy carried out matters after-sales only."""
        return tuple(c for c in CONCEPTS if c != REMEDY_DONE_KEY or self.after_sales)

    @cached_property
    def money(self) -> Money:
        """Offers, demands and the order amount."""
        ctx = self.ctx
        scenario_texts: list[str] = []
        if ctx.scenario is not None:
            sc = ctx.scenario
            scenario_texts = [sc.summary, sc.persona.background]
            scenario_texts += [substitute(k.value, ctx.variables) for k in sc.known_facts]
            scenario_texts += list(ctx.variables.values())
        roles = [t.role for t in ctx.transcript.turns]
        return Money(ctx.lexicon, ctx.texts, roles, [t for t in scenario_texts if t])

    def offers(self, turn: int) -> list[Offer]:
        """Money the agent offers at ``turn`` (cached by :class:`Money`'s caller)."""
        key = f"offers:{turn}"
        if key not in self.ctx.memo:
            self.ctx.memo[key] = self.money.offers(turn)
        got: list[Offer] = self.ctx.memo[key]
        return got

    def asks_for_details(self, turn: int) -> bool:
        """The reply asks for the order, photos or the item's condition: a sentence with a verify or evidence word
        that is a request ("麻烦发一下订单号", "Could you send me your order number?"), not a report ("照片收到了")."""
        text = self.ctx.texts[turn]
        lex = self.ctx.lexicon
        for m in _SENTENCE.finditer(text):
            sentence = m.group(0)
            if (lex.cue("verify")(sentence) or lex.cue("evidence")(sentence)) and _REQUEST.search(sentence):
                return True
        return False

    def remedy_acts(self, turn: int) -> set[Act]:
        """Remedy acts the reply performs, less what it only negates ("不需要退货", "I can't refund it")."""
        acts = self.ctx.acts_of(turn) & REMEDY_ACTS
        if not acts:
            return set()
        text = self.ctx.texts[turn]
        live = [text[a:b] for a, b in clause_spans(text) if not NEGATION.search(text[a:b])]
        if not live:
            return set()
        detect = self.ctx.acts
        if detect is None:
            return acts
        kept: set[Act] = set()
        for clause in live:
            kept |= set(detect.detect(clause)) & acts
        return kept

    def in_principle(self, turn: int) -> bool:
        """Mentions a remedy while asking for details, without carrying anything out or naming money."""
        return (
            self.asks_for_details(turn)
            and REMEDY_DONE_KEY not in self.intents(turn)
            and not self.offers(turn)
            and not self.ctx.lexicon.cue("agree_demand")(self.ctx.texts[turn])
        )

    def is_question(self, turn: int, hit: Hit | None = None) -> bool:
        """Whether the sentence holding ``hit`` (or the whole reply) asks rather than states."""
        text = self.ctx.texts[turn]
        if hit is None:
            return bool(_QUESTION_END.search(text.strip()))
        for m in _SENTENCE.finditer(text):
            if m.start() <= hit.start < m.end():
                return bool(_QUESTION_END.search(m.group(0).strip()))
        return False

    def rung_proposed(self, turn: int) -> tuple[int, Hit | None] | None:
        """The highest ladder rung the reply proposes or carries out, with its words; None for none or in principle."""
        if self.in_principle(turn):
            return None
        text = self.ctx.texts[turn]
        acts = self.remedy_acts(turn)
        ret = [m for m in _RETURN_RUNG.finditer(text) if not negated_at(text, m.start())]
        exchange = bool(_EXCHANGE_WORD.search(text))  # a return with an exchange is the exchange's logistics
        if exchange:
            acts.add(Act.OFFER_EXCHANGE)
        if ret and not exchange and Act.OFFER_COMPENSATION not in acts:
            a, b = clause_of(text, ret[0].start())  # the clause, so the evidence reads as what was said
            return RETURN_RUNG, Hit(a, b, self.ctx.transcript.turns[turn].text[a:b])
        rungs = {RUNG[a] for a in acts if RUNG[a] < RETURN_RUNG}
        if Act.OFFER_REFUND in acts and (not ret or exchange):
            rungs.add(0)  # money back without the goods going back: a fee, a difference — compensation's rung
        if not rungs:
            return None
        return max(rungs), None

    # -- the case --------------------------------------------------------------------------------------------

    @cached_property
    def after_sales(self) -> bool:
        """A conversation about goods already bought (any scenario category but pre-sales)."""
        sc = self.ctx.scenario
        return sc is None or sc.category is not Category.PRE_SALES

    def customer_gave_order(self, turn: int) -> bool:
        """The customer's message carries an order id (or the scenario's own order id)."""
        text = self.ctx.texts[turn]
        if _ORDER_ID.search(text):
            return True
        sc = self.ctx.scenario
        if sc is not None:
            for k in sc.known_facts:
                if k.key.startswith("order"):
                    value = substitute(k.value, self.ctx.variables).strip()
                    if value and value in text:
                        return True
        return False

    @cached_property
    def verified_from(self) -> int | None:
        """The first turn after which the order is known: the agent asked for it, or the customer gave it."""
        ctx = self.ctx
        for i, t in enumerate(ctx.transcript.turns):
            if t.role == "agent" and self.asks_for_details(i):
                return i
            if t.role == "customer" and self.customer_gave_order(i):
                return i
        return None

    @cached_property
    def quality_claim_at(self) -> int | None:
        """The first customer turn that reports a fault in the goods (a negated one — "nothing broken" — is not)."""
        for i in self.ctx.customer_indices():
            if cue_hits(self.ctx.lexicon, "quality_problem", self.ctx.texts[i], negation=CUSTOMER_NEGATION):
                return i
        return None

    @cached_property
    def evidence_from(self) -> int | None:
        """The first turn where photos were asked for (by the agent) or sent (by the customer)."""
        lex = self.ctx.lexicon
        for i, t in enumerate(self.ctx.transcript.turns):
            text = self.ctx.texts[i]
            if t.role == "customer" and _ATTACHED.search(text):
                return i
            if t.role == "agent" and any(
                lex.cue("evidence")(m.group(0)) and _REQUEST.search(m.group(0)) for m in _SENTENCE.finditer(text)
            ):
                return i
        return None

    def decision(self, turn: int) -> Decision | None:
        """How the reply at ``turn`` decides the case, if it does."""
        text = self.ctx.texts[turn]
        found = self.intents(turn)
        if REMEDY_DONE_KEY in found:
            return Decision(turn, found[REMEDY_DONE_KEY].hit, "remedy-done")
        action = self.ctx.lexicon.cue("action").find(text)
        if action is not None and self.ctx.lexicon.cue("remedy")(text) and not negated_at(text, action.start):
            return Decision(turn, action, "remedy-done")  # 已为您办理退款, I've processed the refund
        if "policy_exception" in found:
            return Decision(turn, found["policy_exception"].hit, "exception")
        agreed = self.ctx.lexicon.cue("agree_demand").find(text)
        if agreed is not None:
            return Decision(turn, agreed, "agreed")
        offers = self.offers(turn)
        if offers:
            return Decision(turn, offers[0].hit, "money")
        if self.in_principle(turn):
            return None
        ruling = self.ctx.lexicon.cue("ruling").find(text)
        if ruling is not None and not self.is_question(turn, ruling):
            return Decision(turn, ruling, "ruling")
        rung = self.rung_proposed(turn)
        if rung is not None and not self.is_question(turn, rung[1]):
            return Decision(turn, rung[1], "proposal")
        return None

    def customer_rung(self, before: int) -> int:
        """The highest rung the customer asked for before ``before`` (−1 for none): 2 a return or refund, 1 a swap."""
        rung = -1
        for i in self.ctx.customer_indices():
            if i >= before:
                break
            text = self.ctx.texts[i]
            if _NOT_ASKED.search(text):
                continue
            if self.ctx.lexicon.cue("return_request")(text):
                rung = max(rung, RETURN_RUNG)
            elif _EXCHANGE_REQUEST.search(text):
                rung = max(rung, 1)
        return rung

    def resolved(self) -> bool:
        """The conversation ended with the customer content: outcome resolved, or (no outcome) thanks last."""
        outcome = self.ctx.transcript.outcome
        if outcome is not None:
            return outcome == "resolved"
        customers = self.ctx.customer_indices()
        return bool(customers) and bool(self.ctx.lexicon.cue("positive")(self.ctx.texts[customers[-1]]))


REMEDY_DONE_KEY = "remedy_done"


def remedies_of(ctx: GradingContext, detector: IntentDetector) -> Remedies:
    """The transcript's :class:`Remedies`, computed once and kept in ``ctx.memo``."""
    got = ctx.memo.get("remedies")
    if not isinstance(got, Remedies):
        got = Remedies(ctx, detector)
        ctx.memo["remedies"] = got
    return got
