"""Process (流程): required steps in order, authority limits, escalation, verifying before a remedy, the ladder.

* **Steps** are recognised by :func:`~simulator.grading.context.performs_step` (the scenario's keywords and the
  act detector, so the grader and the simulated customer agree on what a reply did). A remedy step is not done by
  a reply that mentions the remedy *in principle* while asking for details ("换码没问题，先发下订单号我核实").
  A step is out of order when a step that must come after it was done first — whether or not it was done later,
  which a cut-off transcript shows as well as a whole one. A step never done is missing only on a whole
  conversation; a later rung of the remedy ladder is not owed once the customer accepted an earlier one.
* **Verifying first**: a reply that decides the case (:meth:`Remedies.decision`) before the order is verified is a
  fault of the scenario's verify step (or of ``verify-first`` without one); a remedy for a fault in the goods
  decided before any photo was asked for or sent is a ``verify-first`` fault.
* **The ladder** 能补偿不换货、能换货不退货: where the scenario lists a lower rung (a compensation or exchange step),
  proposing a higher one first — "退了重新拍" for a size the exchange solves — is a fault of that lower step,
  unless the customer asked for the higher rung.
* **Authority** and **escalation**: :mod:`simulator.grading.authority`.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.acts import substitute
from simulator.grading.authority import authority_result, escalation_result
from simulator.grading.context import GradingContext, performs_step
from simulator.grading.intents import IntentDetector
from simulator.grading.lexicon import Hit
from simulator.grading.remedies import REMEDY_ACTS, RUNG, Decision, Remedies, remedies_of
from simulator.grading.result import CUT_OFF, CriterionResult, Finding, Source, deduct, unscored
from simulator.grading.scorer import evidence_finding
from simulator.scenario.expectations import Step
from simulator.scenario.vocabulary import Act, Category, Dimension, Outcome

D = Dimension.PROCESS
VERIFY_POINTS = 20.0
MIN_REPLIES_WHEN_ABANDONED = 2  # as the grader: fewer replies in a given-up attempt leave absences unjudged


# What a decision was, in words (message ids spelled out so the catalogue test sees them).
DECISION_MESSAGES = {
    "remedy-done": "decision.remedy-done",
    "exception": "decision.exception",
    "agreed": "decision.agreed",
    "money": "decision.money",
    "ruling": "decision.ruling",
    "proposal": "decision.proposal",
}


@dataclass(frozen=True)
class _Order:
    """A step found out of order: the turn where a later step (or a decision) came first."""

    turn: int
    hit: Hit | None
    other: str  # what came first, in words


class ProcessScorer:
    """Steps, authority, escalation, verifying first and the remedy ladder."""

    dimension = D

    def __init__(self, intents: IntentDetector | None = None):
        self.intents = intents or IntentDetector()

    def score(self, ctx: GradingContext) -> list[CriterionResult]:
        """Scenario steps, authority, escalation and (after-sales) verifying before a remedy."""
        agents = ctx.agent_indices()
        rem = remedies_of(ctx, self.intents)
        steps = ctx.scenario.expectations.steps if ctx.scenario else []
        out = self._steps(ctx, rem, steps, agents)
        out.append(authority_result(ctx, rem))
        out.append(escalation_result(ctx, rem))
        out.append(self._verify_first(ctx, rem, steps, agents))
        return out

    # -- steps -----------------------------------------------------------------------------------------------

    def step_done(self, ctx: GradingContext, step: Step, turn: int, *, firm: bool = True) -> bool:
        """Whether the reply at ``turn`` performs ``step``.

        With ``firm`` a remedy offered in principle ("换码没问题，先发下订单号") does not count: it decides nothing yet,
        so it cannot come too early. It does count as the step being done at all (``firm=False``).
        """
        if not performs_step(step, ctx.texts[turn], ctx.acts_of(turn), ctx.variables):
            return False
        return not (firm and step.act in REMEDY_ACTS and remedies_of(ctx, self.intents).in_principle(turn))

    def _steps(self, ctx: GradingContext, rem: Remedies, steps: list[Step], agents: list[int]) -> list[CriterionResult]:
        first = {st.id: next((i for i in agents if self.step_done(ctx, st, i)), None) for st in steps}
        ever = {
            st.id: first[st.id]
            if first[st.id] is not None
            else next((i for i in agents if self.step_done(ctx, st, i, firm=False)), None)
            for st in steps
        }
        by_id = {st.id: st for st in steps}
        orders: dict[str, _Order] = {}
        for st in steps:
            at = first[st.id]
            early = [
                _Order(t, self._evidence(ctx, rem, by_id[b], t), by_id[b].description)
                for b in st.before
                if b in by_id and (t := first[b]) is not None and (at is None or t < at)
            ]
            if st.act is Act.VERIFY_ORDER:
                early += self._decided_unverified(ctx, rem, first[st.id], agents)
            if early:
                orders[st.id] = min(early, key=lambda o: o.turn)
        orders = self._ladder(ctx, rem, steps, first, agents, orders)
        return [self._step_result(ctx, rem, st, ever[st.id], orders.get(st.id), agents) for st in steps]

    @staticmethod
    def _evidence(ctx: GradingContext, rem: Remedies, step: Step, turn: int) -> Hit | None:
        """The words by which ``turn`` did ``step``: its decision, else the step's keyword, else (None) the reply."""
        d = rem.decision(turn)
        if d is not None and d.hit is not None:
            return d.hit
        text = ctx.texts[turn].lower()
        for k in step.keywords:
            pos = text.find(substitute(k, ctx.variables).lower())
            if pos >= 0:
                return Hit(pos, pos + len(k), ctx.transcript.turns[turn].text[pos : pos + len(k)])
        return None

    def _decided_unverified(
        self, ctx: GradingContext, rem: Remedies, verify_turn: int | None, agents: list[int]
    ) -> list[_Order]:
        """Decisions taken before the order was verified (by the agent's verify step or the customer's order id)."""
        if not rem.after_sales:
            return []
        verified = rem.verified_from
        if verify_turn is not None:
            verified = verify_turn if verified is None else min(verified, verify_turn)
        out = []
        for i in agents:
            if verified is not None and i >= verified:
                break
            d = rem.decision(i)
            if d is not None:
                out.append(_Order(i, d.hit, ctx.say(DECISION_MESSAGES[d.why])))
                break
        return out

    def _ladder(
        self,
        ctx: GradingContext,
        rem: Remedies,
        steps: list[Step],
        first: dict[str, int | None],
        agents: list[int],
        orders: dict[str, _Order],
    ) -> dict[str, _Order]:
        """One remedy-order fault per turn, on the lowest rung skipped (能补偿不换货、能换货不退货)."""
        rungs = [st for st in steps if st.act in RUNG and RUNG[st.act] < 2]
        remedy_ids = {st.id for st in steps if st.act in REMEDY_ACTS}
        # Candidates from the steps' own order, then from any higher rung proposed first.
        cands: dict[int, list[tuple[int, int, str, Hit | None]]] = {}
        for pos, st in enumerate(steps):
            o = orders.get(st.id)
            if st.id in remedy_ids and o is not None and st.act in RUNG:
                proposed = rem.rung_proposed(o.turn)
                if proposed is not None and rem.customer_rung(o.turn) >= proposed[0]:
                    continue  # the customer asked for that rung: taking them at their word skips nothing
                cands.setdefault(o.turn, []).append((RUNG[st.act], pos, st.id, o.hit))
        if rungs and rem.after_sales:
            for i in agents:
                proposed = rem.rung_proposed(i)
                if proposed is None:
                    continue
                rung, hit = proposed
                floor = max(rem.customer_rung(i), 0)
                for pos, st in enumerate(steps):
                    if st not in rungs or not floor <= RUNG[st.act] < rung:
                        continue
                    done = first[st.id]
                    if done is None or done > i:
                        cands.setdefault(i, []).append((RUNG[st.act], pos, st.id, hit))
        out = {k: v for k, v in orders.items() if k not in remedy_ids}
        for turn in sorted(cands):
            _rung, _pos, sid, hit = min(cands[turn], key=lambda c: c[:3])
            if sid not in out:
                out[sid] = _Order(turn, hit, ctx.say("decision.higher-rung"))
        return out

    def _step_result(
        self,
        ctx: GradingContext,
        rem: Remedies,
        step: Step,
        at: int | None,
        order: _Order | None,
        agents: list[int],
    ) -> CriterionResult:
        title = ctx.say("step.title", description=step.description)
        source = Source("scenario", step.source or step.id, step.description)
        if not agents:
            return unscored(D, step.id, title, step.points, "the transcript has no agent replies")
        if order is not None:
            mid = "step.order" if at is not None else "step.order-never"
            f = evidence_finding(
                ctx,
                D,
                step.id,
                step.points,
                ctx.say(mid, description=step.description, other=order.other),
                order.turn,
                order.hit,
                source=source,
                topic=step.description,
                suggestion_fallback=step.description,
            )
            return deduct(D, step.id, title, step.points, [f])
        if at is not None or not step.required:
            return deduct(D, step.id, title, step.points, [])
        if not absence_judged(ctx):
            return unscored(D, step.id, title, step.points, CUT_OFF)
        if step.act in REMEDY_ACTS and self._ladder_settled(ctx, rem, step, agents):
            return deduct(D, step.id, title, step.points, [], reason="an earlier remedy settled the case")
        f = Finding(
            D,
            step.id,
            step.points,
            ctx.say("step.missing", description=step.description),
            source=source,
            suggestion=ctx.step_suggestion(step),
        )
        return deduct(D, step.id, title, step.points, [f])

    def _ladder_settled(self, ctx: GradingContext, rem: Remedies, step: Step, agents: list[int]) -> bool:
        """A further remedy is not owed once another one was given and the customer was content with it."""
        others = any(rem.rung_proposed(i) is not None or rem.decision(i) is not None for i in agents)
        return others and rem.resolved()

    # -- verifying first -------------------------------------------------------------------------------------

    def _verify_first(
        self, ctx: GradingContext, rem: Remedies, steps: list[Step], agents: list[int]
    ) -> CriterionResult:
        """Deciding before the order is verified (without a verify step of the scenario's own), and deciding a
        fault in the goods before any photo was asked for or sent."""
        cid, title = "verify-first", ctx.say("verify.title")
        if ctx.scenario is not None and ctx.scenario.category is Category.PRE_SALES:
            return unscored(D, cid, title, VERIFY_POINTS, "a pre-sales conversation has no after-sales remedy")
        has_step = any(st.act is Act.VERIFY_ORDER for st in steps)
        if has_step and rem.quality_claim_at is None:
            return unscored(D, cid, title, VERIFY_POINTS, "the scenario's own verify step covers it")
        decisions = [d for i in agents if (d := self._decision(ctx, rem, i)) is not None]
        if not decisions:
            return unscored(D, cid, title, VERIFY_POINTS, "no remedy was decided in the transcript")
        findings: list[Finding] = []
        verified = rem.verified_from
        unverified = [d for d in decisions if verified is None or d.turn < verified]
        if unverified and not has_step:
            findings.append(self._verify_finding(ctx, unverified[0], "verify.missing"))
        claim = rem.quality_claim_at
        if claim is not None and ctx.scenario is not None:
            photos = rem.evidence_from
            for d in decisions:
                if d.turn < claim or (verified is None or d.turn < verified):
                    continue
                if photos is None or photos > d.turn:
                    findings.append(self._verify_finding(ctx, d, "verify.photos"))
                break
        return deduct(D, cid, title, VERIFY_POINTS, findings)

    def _decision(self, ctx: GradingContext, rem: Remedies, i: int) -> Decision | None:
        """A decision, or (no scenario: a real chat, where the order is on the agent's screen) a remedy carried
        out."""
        d = rem.decision(i)
        if ctx.scenario is None and d is not None and d.why != "remedy-done":
            return None
        return d

    def _verify_finding(self, ctx: GradingContext, d: Decision, mid: str) -> Finding:
        return evidence_finding(
            ctx,
            D,
            "verify-first",
            VERIFY_POINTS,
            ctx.say(mid),
            d.turn,
            d.hit,
            source=Source("rule", "verify-first", ctx.say("verify.rule")),
            topic=ctx.say("verify.topic"),
            suggestion_fallback=ctx.say("verify.better"),
        )


def absence_judged(ctx: GradingContext) -> bool:
    """Whether something never done can be judged: the conversation ran to its end and was not given up at once."""
    if not ctx.transcript.complete:
        return False
    replies = len(ctx.agent_indices())
    return not (ctx.transcript.outcome == Outcome.ABANDONED.value and replies < MIN_REPLIES_WHEN_ABANDONED)
