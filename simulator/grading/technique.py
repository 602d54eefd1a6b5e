"""Technique (技巧): needs discovery, FABE, 问答赞推, objections, closing the sale, matching, no over-promising.

Generic criteria (needs discovery when the agent recommends, objections when the customer objects, no
over-promising) apply to every transcript; the others apply when the scenario lists the technique.
"""

from __future__ import annotations

import re
from typing import ClassVar

from simulator.acts import meaningful_length
from simulator.grading.context import GradingContext
from simulator.grading.result import CUT_OFF, CriterionResult, Finding, Source, deduct, unscored
from simulator.grading.scorer import evidence_finding, rule_hits, rule_source
from simulator.grading.service import ANOTHER_WAY
from simulator.scenario.vocabulary import Act, Category, Dimension, Outcome, Technique

D = Dimension.TECHNIQUE
_MATCHING = re.compile(
    r"搭配|配上|一起穿|同系列|套装|叠穿|pair (it|them) with|goes well with|match(es)? (with|your)", re.I
)
_EXPECTATION = re.compile(
    r"(\d+|[一二两三四五六七八九十]+)\s*(个)?(小时|工作日|天|h|hours?|(business |working )?days?)"
    r"|今天|明天|后天|尽快|预计"
    r"|稍后|马上|第一时间|一有(进展|消息|结果)|(周|星期|礼拜)[一二三四五六日天]|之前|以内|之内|回复您|联系您|通知您"
    r"|within|by (today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)|once it|as soon as"
    r"|(i|we)('ll| will) (update|let you know|email|contact|get back|assess|check|send|process)|\bnext\b|shortly"
    r"|就行|就可以了|然后|之后|收到后|到时候|下一步|按.{0,12}(寄回|操作|申请)|\bthen\b|after that|once (we|you)",
    re.I,
)
# Acts that arrange something for the customer, after which she is owed what happens next and when.
_COMMITMENTS = {
    Act.PROMISE_ACTION,
    Act.ESCALATE,
    Act.OFFER_EXCHANGE,
    Act.OFFER_RETURN,
    Act.OFFER_REFUND,
    Act.OFFER_COMPENSATION,
}


def _over_promise_findings(ctx: GradingContext, agents: list[int]) -> list[Finding]:
    out = []
    # "不能保证" is honest, not a promise: the hits said, as the customer reads them (simulator/phrases.py).
    for i, rule, hit in rule_hits(ctx, ctx.lexicon.over_promise, agents, said=True):
        out.append(
            evidence_finding(
                ctx,
                D,
                "no-over-promise",
                10.0,
                ctx.say("over-promise", note=rule.note),
                i,
                hit,
                source=rule_source(ctx, rule),
                suggestion_fallback=rule.suggestion,
            )
        )
    return out


def _asks_about_product(ctx: GradingContext, c: int) -> bool:
    """Whether customer message ``c`` asks about the product's qualities (material, warmth, what it does) — a
    pitch (FABE) is owed then, not for a size or a delivery date. Bare numbers (her size) do not count."""
    text = ctx.texts[c]
    if not ctx.is_question(c):
        return False
    hits = ctx.lexicon.cue("feature").find_all(text) + ctx.lexicon.cue("benefit").find_all(text)
    return any(not h.text.strip().isdigit() for h in hits)


class TechniqueScorer:
    """Communication technique."""

    dimension = D
    POINTS: ClassVar[dict[str, float]] = {
        Technique.NEEDS_DISCOVERY.value: 25.0,
        Technique.FABE.value: 20.0,
        Technique.ASK_ANSWER_PRAISE_RECOMMEND.value: 15.0,
        Technique.MATCHING.value: 10.0,
        Technique.OBJECTION_HANDLING.value: 20.0,
        Technique.CLOSING.value: 20.0,
        Technique.EMPATHY_SANDWICH.value: 15.0,
        Technique.REASSURANCE.value: 10.0,
        Technique.DE_ESCALATION.value: 15.0,
        Technique.EXPECTATION_SETTING.value: 10.0,
        "no-over-promise": 20.0,
    }

    def score(self, ctx: GradingContext) -> list[CriterionResult]:
        """Generic criteria plus the scenario's techniques."""
        agents = ctx.agent_indices()
        if not agents:
            return [unscored(D, c, c, p, "the transcript has no agent replies") for c, p in self.POINTS.items()]
        expected = set(ctx.scenario.expectations.techniques) | set(ctx.scenario.skills) if ctx.scenario else set()
        recs = [i for i in agents if Act.RECOMMEND in ctx.acts_of(i)]
        out = [
            self._needs_discovery(ctx, agents, recs, Technique.NEEDS_DISCOVERY in expected),
            self._fabe(ctx, agents, recs, Technique.FABE in expected),
            self._objections(ctx),
            self._closing(ctx, agents, Technique.CLOSING in expected),
            deduct(
                D,
                "no-over-promise",
                "不过度承诺 no over-promising",
                self.POINTS["no-over-promise"],
                _over_promise_findings(ctx, agents),
            ),
        ]
        if Technique.ASK_ANSWER_PRAISE_RECOMMEND in expected:
            out.append(self._aapr(ctx, agents, recs))
        if Technique.MATCHING in expected:
            out.append(
                self._simple(
                    ctx,
                    agents,
                    Technique.MATCHING,
                    lambda i: bool(_MATCHING.search(ctx.texts[i])),
                    ctx.say("matching.missing"),
                    ctx.say("matching.topic"),
                )
            )
        if Technique.REASSURANCE in expected:
            out.append(
                self._simple(
                    ctx,
                    agents,
                    Technique.REASSURANCE,
                    lambda i: Act.REASSURE in ctx.acts_of(i) or ctx.lexicon.cue("reassure")(ctx.texts[i]),
                    ctx.say("reassurance.missing"),
                    ctx.say("reassurance.topic"),
                )
            )
        if Technique.EXPECTATION_SETTING in expected:
            # What happens next is owed once the agent has arranged something (a remedy, a chase, an escalation):
            # a chat that arranged nothing has other faults, not a missing timeline.
            committed = [
                i for i in agents if ctx.acts_of(i) & _COMMITMENTS or ctx.lexicon.cue("remedy_done")(ctx.texts[i])
            ]
            if committed:
                later = [i for i in agents if i >= committed[0]]
                out.append(
                    self._simple(
                        ctx,
                        later,
                        Technique.EXPECTATION_SETTING,
                        lambda i: bool(_EXPECTATION.search(ctx.texts[i])),
                        ctx.say("expectation.missing"),
                        ctx.say("expectation.topic"),
                    )
                )
            else:
                cid = Technique.EXPECTATION_SETTING.value
                out.append(unscored(D, cid, cid, self.POINTS[cid], "nothing was arranged that needs a timeline"))
        if Technique.EMPATHY_SANDWICH in expected or Technique.DE_ESCALATION in expected:
            out.extend(
                self._sandwich(ctx, t) for t in (Technique.EMPATHY_SANDWICH, Technique.DE_ESCALATION) if t in expected
            )
        return out

    # -- criteria --------------------------------------------------------------------------------------------

    def _needs_discovery(
        self, ctx: GradingContext, agents: list[int], recs: list[int], expected: bool
    ) -> CriterionResult:
        cid, title, p = Technique.NEEDS_DISCOVERY.value, "需求挖掘 needs discovery", self.POINTS["needs-discovery"]
        asks = [i for i in agents if Act.ASK in ctx.acts_of(i)]
        if ctx.scenario is not None and not expected:
            return unscored(D, cid, title, p, "the scenario does not ask for needs discovery")
        if recs:
            first = recs[0]
            if any(a < first for a in asks) or (first in asks and first == agents[0]):
                return deduct(D, cid, title, p, [])
            f = evidence_finding(
                ctx,
                D,
                cid,
                p,
                ctx.say("needs.recommended-first"),
                first,
                source=Source("rule", cid, "ask before recommending"),
                topic=ctx.say("needs.topic"),
            )
            return deduct(D, cid, title, p, [f])
        if not expected:
            return unscored(D, cid, title, p, "no recommendation was made")
        if asks:
            return deduct(D, cid, title, p, [])
        if not ctx.transcript.complete:
            return unscored(D, cid, title, p, CUT_OFF)
        f = Finding(
            D,
            cid,
            p,
            ctx.say("needs.never-asked"),
            source=Source("scenario", cid, "expected technique"),
            suggestion=ctx.suggestion(agents[0], topic=ctx.say("needs.topic")),
        )
        return deduct(D, cid, title, p, [f])

    def _fabe(self, ctx: GradingContext, agents: list[int], recs: list[int], expected: bool) -> CriterionResult:
        cid, title, p = Technique.FABE.value, ctx.say("fabe.title"), self.POINTS["fabe"]
        if not expected:
            return unscored(D, cid, title, p, "FABE is graded when the scenario lists it")
        if not any(_asks_about_product(ctx, c) for c in ctx.customer_indices()):
            return unscored(D, cid, title, p, "the customer never asked about the product itself")
        explaining = sorted(set(recs) | {i for i in agents if Act.EXPLAIN_PRODUCT in ctx.acts_of(i)})
        if not explaining:
            if not ctx.transcript.complete:
                return unscored(D, cid, title, p, CUT_OFF)
            f = Finding(
                D,
                cid,
                p,
                ctx.say("fabe.missing"),
                source=Source("scenario", cid, "expected technique"),
                suggestion=ctx.suggestion(agents[-1], topic=ctx.say("fabe.topic")),
            )
            return deduct(D, cid, title, p, [f])
        window = " ".join(ctx.texts[i] for i in agents if explaining[0] <= i)
        feature = ctx.lexicon.cue("feature")(window)
        benefit = ctx.lexicon.cue("benefit")(window)
        if feature and benefit:
            return deduct(D, cid, title, p, [])
        if not ctx.transcript.complete:
            return unscored(D, cid, title, p, CUT_OFF)
        f = evidence_finding(
            ctx,
            D,
            cid,
            p / 2,
            ctx.say("fabe.no-feature" if not feature else "fabe.no-benefit"),
            explaining[0],
            source=Source("rule", cid, "feature → advantage → benefit → evidence"),
            topic=ctx.say("fabe.topic"),
        )
        return deduct(D, cid, title, p, [f])

    def _objections(self, ctx: GradingContext) -> CriterionResult:
        cid, title, p = (
            Technique.OBJECTION_HANDLING.value,
            "异议处理 objection handling",
            self.POINTS["objection-handling"],
        )
        objections = [i for i in ctx.customer_indices() if ctx.lexicon.cue("objection")(ctx.texts[i])]
        handled = 0
        findings = []
        for i in objections:
            answers = ctx.answers_to(i)
            if not answers:
                continue
            handled += 1
            text = " ".join(ctx.texts[a] for a in answers)
            acts = set().union(*(ctx.acts_of(a) for a in answers))
            # Looking into it (asking, checking the order, a screenshot) handles an objection too; blaming or
            # snapping at the buyer never does, whatever else the reply says.
            addresses = (
                meaningful_length(text) >= 6
                and not acts & {Act.CURT, Act.BLAME, Act.RUDE}
                and (
                    acts
                    & {
                        Act.REASSURE,
                        Act.EXPLAIN_PRODUCT,
                        Act.STATE_POLICY,
                        Act.OFFER_DISCOUNT,
                        Act.OFFER_GIFT,
                        Act.EMPATHISE,
                        Act.ANSWER,
                        Act.RECOMMEND,
                        Act.ASK,
                        Act.VERIFY_ORDER,
                        Act.CHECK_LOGISTICS,
                        Act.ESCALATE,
                    }
                    or any(ctx.lexicon.cue(c)(text) for c in ("reassure", "benefit", "feature", "empathy"))
                )
            )
            if not addresses:
                findings.append(
                    evidence_finding(
                        ctx,
                        D,
                        cid,
                        10.0,
                        ctx.say("objection.unaddressed"),
                        answers[0],
                        source=Source("rule", cid, "answer the doubt with value, proof or a fitting offer"),
                        topic=ctx.say("objection.topic"),
                    )
                )
        if not handled:
            return unscored(D, cid, title, p, "the customer raised no objection")
        return deduct(D, cid, title, p, findings)

    def _closing(self, ctx: GradingContext, agents: list[int], expected: bool) -> CriterionResult:
        cid, title, p = Technique.CLOSING.value, "促成 closing the sale", self.POINTS["closing"]
        presale = ctx.scenario is not None and ctx.scenario.category is Category.PRE_SALES
        if not (expected or presale):
            return unscored(D, cid, title, p, "not a sales conversation the grader knows of")
        if ctx.scenario is not None and not presale:
            # After-sales, complaints, logistics: no sale is owed, whatever "closing" means in the scenario's list.
            return unscored(D, cid, title, p, "no sale is owed in an after-sales conversation")
        if ctx.transcript.outcome == Outcome.BOUGHT.value:
            return deduct(D, cid, title, p, [])
        if any(Act.URGE_PAYMENT in ctx.acts_of(i) or ctx.lexicon.cue("urge_payment")(ctx.texts[i]) for i in agents):
            return deduct(D, cid, title, p, [])
        if not ctx.transcript.complete:
            return unscored(D, cid, title, p, CUT_OFF)
        f = evidence_finding(
            ctx,
            D,
            cid,
            p,
            ctx.say("closing.missing"),
            agents[-1],
            source=Source("rule", cid, "move the customer to payment"),
            topic=ctx.say("closing.topic"),
        )
        return deduct(D, cid, title, p, [f])

    def _aapr(self, ctx: GradingContext, agents: list[int], recs: list[int]) -> CriterionResult:
        cid, title = Technique.ASK_ANSWER_PRAISE_RECOMMEND.value, ctx.say("aapr.title")
        p = self.POINTS[cid]
        have = {
            "aapr.ask": any(Act.ASK in ctx.acts_of(i) for i in agents),
            "aapr.answer": any(ctx.acts_of(i) & {Act.ANSWER, Act.EXPLAIN_PRODUCT, Act.STATE_POLICY} for i in agents),
            "aapr.praise": any(Act.PRAISE in ctx.acts_of(i) or ctx.lexicon.cue("praise")(ctx.texts[i]) for i in agents),
            "aapr.recommend": bool(recs),
        }
        missing = [ctx.say(k) for k, v in have.items() if not v]
        if missing and not ctx.transcript.complete:
            return unscored(D, cid, title, p, CUT_OFF)
        findings = [
            Finding(
                D,
                cid,
                p / 4,
                ctx.say("aapr.missing", part=m),
                source=Source("scenario", cid, "expected technique"),
                suggestion=ctx.suggestion(agents[-1], topic=m),
            )
            for m in missing
        ]
        return deduct(D, cid, title, p, findings)

    def _simple(
        self, ctx: GradingContext, agents: list[int], tech: Technique, check, message: str, topic: str
    ) -> CriterionResult:
        cid, p = tech.value, self.POINTS[tech.value]
        if any(check(i) for i in agents):
            return deduct(D, cid, cid, p, [])
        if not ctx.transcript.complete:
            return unscored(D, cid, cid, p, CUT_OFF)
        f = Finding(
            D,
            cid,
            p,
            message,
            source=Source("scenario", cid, "expected technique"),
            suggestion=ctx.suggestion(agents[-1], topic=topic),
        )
        return deduct(D, cid, cid, p, [f])

    def _sandwich(self, ctx: GradingContext, tech: Technique) -> CriterionResult:
        cid, p = tech.value, self.POINTS[tech.value]
        upset = [i for i in ctx.customer_indices() if ctx.is_upset(i)]
        answered = [(i, ctx.answers_to(i)) for i in upset if ctx.answers_to(i)]
        if not answered:
            return unscored(D, cid, cid, p, "the customer was never upset in the transcript")
        findings = []
        for _i, answers in answered:
            text = " ".join(ctx.texts[a] for a in answers)
            acts = set().union(*(ctx.acts_of(a) for a in answers))
            feeling = any(ctx.acknowledges(a) for a in answers)
            solution = (
                bool(
                    acts
                    & {
                        Act.OFFER_COMPENSATION,
                        Act.OFFER_EXCHANGE,
                        Act.OFFER_RETURN,
                        Act.OFFER_REFUND,
                        Act.PROMISE_ACTION,
                        Act.ESCALATE,
                        Act.CHECK_LOGISTICS,
                        Act.VERIFY_ORDER,
                        Act.REASSURE,
                    }
                )
                or ctx.lexicon.cue("remedy")(text)
                or bool(ANOTHER_WAY.search(text))
            )
            if not (feeling and solution):
                findings.append(
                    evidence_finding(
                        ctx,
                        D,
                        cid,
                        p / 2,
                        ctx.say("sandwich.no-feeling" if not feeling else "sandwich.no-solution"),
                        answers[0],
                        source=Source(
                            "rule",
                            "sandwich-solution" if feeling else "sandwich-feeling",
                            "feeling → explain → solution",
                        ),
                        topic=ctx.say("sandwich.topic"),
                    )
                )
        return deduct(D, cid, cid, p, findings)
