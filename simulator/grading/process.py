"""Process (流程): required steps in order, authority limits, escalation, verifying before a remedy.

Steps are recognised with the customer engine's act detector (``simulator.acts.ActDetector``) plus the
lexicon's cues, so the grader and the simulated customer agree on what a reply did.
"""

from __future__ import annotations

import re

from simulator.grading.claims import clauses
from simulator.grading.context import GradingContext, performs_step
from simulator.grading.lexicon import Hit
from simulator.grading.result import CUT_OFF, CriterionResult, Finding, Source, deduct, unscored
from simulator.grading.scorer import evidence_finding
from simulator.quantities import Quantity, quantities, to_digits
from simulator.scenario.expectations import Authority, Step
from simulator.scenario.vocabulary import Act, Category, Dimension

D = Dimension.PROCESS
AUTHORITY_POINTS = 25.0
ESCALATION_POINTS = 15.0
VERIFY_POINTS = 20.0
_TO_YOU = re.compile(
    r"(给|为|帮|送|补|返|赔|退|少收)(您|你)|(您|你)(可以)?(领|拿到|获得)|(offer|give|credit|refund) you", re.I
)
_KINDS = {
    "compensation": re.compile(r"补偿|赔|红包|返|补贴|credit|compensat|goodwill", re.I),
    "discount": re.compile(r"优惠|便宜|减|券|折|让利|discount|off\b", re.I),
    "refund": re.compile(r"退款|退还|退(您|你)|退差价|refund", re.I),
}
_PUBLISHED = re.compile(r"满\d+减|运费险|insurance", re.I)
_ORDER_GIVEN = re.compile(r"\d{8,}|订单号|order (number|no|#)|照片|图片|photo", re.I)


def _amounts(text: str) -> list[tuple[float, str, str]]:
    """(amount, kind, clause) for every amount offered to the customer in ``text``."""
    out = []
    for clause in clauses(to_digits(text)):
        if _PUBLISHED.search(clause) or not _TO_YOU.search(clause):
            continue
        kinds = [k for k, pat in _KINDS.items() if pat.search(clause)]
        if not kinds:
            continue
        for q in money(clause):
            out.append((q.hi, kinds[0], clause.strip()))
    return out


def money(text: str) -> list[Quantity]:
    """Amounts of money in ``text`` (in digit form): yuan or dollars, however written."""
    return [q for q in quantities(text) if q.unit in ("yuan", "usd")]


def _limit(authority: Authority, kind: str) -> float:
    return {
        "compensation": authority.max_compensation_yuan,
        "discount": authority.max_discount_yuan,
        "refund": authority.max_refund_yuan,
    }[kind]


class ProcessScorer:
    """Steps, authority and escalation."""

    dimension = D

    def score(self, ctx: GradingContext) -> list[CriterionResult]:
        """Scenario steps, authority, escalation and (for after-sales) verifying before a remedy."""
        agents = ctx.agent_indices()
        steps = ctx.scenario.expectations.steps if ctx.scenario else []
        first_done = {st.id: self._first_done(ctx, st, agents) for st in steps}
        out = [self._step(ctx, st, first_done, agents) for st in steps]
        out.append(self._authority(ctx, agents))
        out.append(self._escalation(ctx, agents))
        if not any(st.act is Act.VERIFY_ORDER for st in steps):
            out.append(self._verify_first(ctx, agents))
        return out

    # -- steps -----------------------------------------------------------------------------------------------

    def step_done(self, ctx: GradingContext, step: Step, turn: int) -> bool:
        """Whether the reply at ``turn`` performs ``step``.

        See :func:`~simulator.grading.context.performs_step`: keywords decide, plus the detected act for asking,
        verifying, apologising, empathising, greeting and closing; without keywords the act decides.
        """
        return performs_step(step, ctx.texts[turn], ctx.acts_of(turn), ctx.variables)

    def _first_done(self, ctx: GradingContext, step: Step, agents: list[int]) -> int | None:
        return next((i for i in agents if self.step_done(ctx, step, i)), None)

    def _step(
        self, ctx: GradingContext, step: Step, first: dict[str, int | None], agents: list[int]
    ) -> CriterionResult:
        title = ctx.say("step.title", description=step.description)
        source = Source("scenario", step.source or step.id, step.description)
        if not agents:
            return unscored(D, step.id, title, step.points, "the transcript has no agent replies")
        at = first[step.id]
        if at is None:
            if not step.required:
                return deduct(D, step.id, title, step.points, [])
            if not ctx.transcript.complete:
                return unscored(D, step.id, title, step.points, CUT_OFF)
            f = Finding(
                D,
                step.id,
                step.points,
                ctx.say("step.missing", description=step.description),
                source=source,
                suggestion=ctx.step_suggestion(step),
            )
            return deduct(D, step.id, title, step.points, [f])
        early = [(b, t) for b in step.before if (t := first.get(b)) is not None and t < at]
        if early:
            b, t = early[0]
            f = evidence_finding(
                ctx,
                D,
                step.id,
                step.points,
                ctx.say("step.order", description=step.description, other=b),
                t,
                source=source,
                topic=step.description,
                suggestion_fallback=step.description,
            )
            return deduct(D, step.id, title, step.points, [f])
        return deduct(D, step.id, title, step.points, [])

    # -- authority -------------------------------------------------------------------------------------------

    def _authority(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        cid, title = "authority", "权限 within authority"
        if ctx.scenario is None:
            return unscored(D, cid, title, AUTHORITY_POINTS, "no scenario, so the agent's authority is unknown")
        auth = ctx.scenario.expectations.authority
        source = Source(
            "scenario",
            auth.source or "authority",
            ctx.say(
                "authority.limits",
                discount=auth.max_discount_yuan,
                compensation=auth.max_compensation_yuan,
                refund=auth.max_refund_yuan,
            ),
        )
        findings = []
        for i in agents:
            if ctx.lexicon.cue("escalate")(ctx.texts[i]):
                continue  # "我帮您申请100元补偿" asks someone who may decide
            for value, kind, _clause in _amounts(ctx.texts[i]):
                limit = _limit(auth, kind)
                if value > limit:
                    text = ctx.transcript.turns[i].text
                    num = f"{value:g}"
                    pos = text.find(num)
                    hit = Hit(pos, pos + len(num), num) if pos >= 0 else None
                    findings.append(
                        evidence_finding(
                            ctx,
                            D,
                            cid,
                            AUTHORITY_POINTS,
                            ctx.say("authority.exceeded", kind=kind, amount=num, limit=limit),
                            i,
                            hit,
                            source=source,
                            topic=ctx.say("authority.topic"),
                            suggestion_fallback=ctx.say("authority.better"),
                            red_line="authority-exceeded",
                        )
                    )
            acts = ctx.acts_of(i)
            action = ctx.lexicon.cue("action")(ctx.texts[i])
            if action and (
                (not auth.may_refund and acts & {Act.OFFER_REFUND, Act.OFFER_RETURN})
                or (not auth.may_exchange and Act.OFFER_EXCHANGE in acts)
            ):
                findings.append(
                    evidence_finding(
                        ctx,
                        D,
                        cid,
                        AUTHORITY_POINTS,
                        ctx.say("authority.no-refund-right"),
                        i,
                        source=source,
                        red_line="authority-exceeded",
                    )
                )
        return deduct(D, cid, title, AUTHORITY_POINTS, findings)

    def _escalation(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        cid, title = "escalation", "升级 escalation"
        if ctx.scenario is None:
            return unscored(D, cid, title, ESCALATION_POINTS, "no scenario, so the agent's authority is unknown")
        auth = ctx.scenario.expectations.authority
        demands = []
        for i in ctx.customer_indices():
            for clause in clauses(to_digits(ctx.texts[i])):
                kinds = [k for k, pat in _KINDS.items() if pat.search(clause)]
                for q in money(clause):
                    if kinds and q.hi > _limit(auth, kinds[0]):
                        demands.append(i)
        if not demands:
            return unscored(
                D, cid, title, ESCALATION_POINTS, "the customer asked for nothing beyond the agent's authority"
            )
        first = demands[0]
        later = [i for i in agents if i > first]
        if any(ctx.acts_of(i) & {Act.ESCALATE, Act.REFUSE} or ctx.lexicon.cue("escalate")(ctx.texts[i]) for i in later):
            return deduct(D, cid, title, ESCALATION_POINTS, [])
        turn = later[0] if later else None
        f = Finding(
            D,
            cid,
            ESCALATION_POINTS,
            ctx.say("escalation.missing"),
            turn=turn,
            evidence=ctx.transcript.turns[turn].text if turn is not None else "",
            source=Source("scenario", auth.source or "authority", "escalate what you may not decide"),
            suggestion=ctx.suggestion(
                turn if turn is not None else first,
                topic=ctx.say("authority.topic"),
                fallback=ctx.say("escalation.better"),
            ),
        )
        return deduct(D, cid, title, ESCALATION_POINTS, [f])

    def _verify_first(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        cid, title = "verify-first", "先核实再处理 verify before a remedy"
        if ctx.scenario is not None and ctx.scenario.category is Category.PRE_SALES:
            return unscored(D, cid, title, VERIFY_POINTS, "a pre-sales conversation has no after-sales remedy")
        actions = [
            i for i in agents if ctx.lexicon.cue("action")(ctx.texts[i]) and ctx.lexicon.cue("remedy")(ctx.texts[i])
        ]
        if not actions:
            return unscored(D, cid, title, VERIFY_POINTS, "no remedy was carried out in the transcript")
        first = actions[0]
        verified = any(
            Act.VERIFY_ORDER in ctx.acts_of(i) or ctx.lexicon.cue("verify")(ctx.texts[i]) for i in agents if i < first
        ) or any(_ORDER_GIVEN.search(ctx.texts[i]) for i in ctx.customer_indices() if i < first)
        if verified:
            return deduct(D, cid, title, VERIFY_POINTS, [])
        hit = ctx.lexicon.cue("action").find(ctx.texts[first])
        f = evidence_finding(
            ctx,
            D,
            cid,
            VERIFY_POINTS,
            ctx.say("verify.missing"),
            first,
            hit,
            source=Source("rule", cid, "verify the order before acting (after-sales SOP)"),
            topic=ctx.say("verify.topic"),
            suggestion_fallback=ctx.say("verify.better"),
        )
        return deduct(D, cid, title, VERIFY_POINTS, [f])
