"""Service (服务): greeting, closing, politeness, empathy, curt replies, forbidden words, response time, 答问比."""

from __future__ import annotations

import re
from typing import ClassVar

from simulator.acts import meaningful_length
from simulator.grading.context import GradingContext
from simulator.grading.lexicon import Hit
from simulator.grading.result import CriterionResult, Finding, Source, deduct, unscored
from simulator.grading.scorer import evidence_finding, rule_hits, rule_source
from simulator.scenario.model import Act, Dimension

D = Dimension.SERVICE
# Emoticon codes (#E-s57), emoji, punctuation and spaces carry no words.
_NOISE = re.compile(r"#E-[a-z]\d+|[\s\W_]+", re.UNICODE)
_EMOJI = re.compile("[\U0001f000-\U0001ffff\u2600-\u27bf]")
# A yes/no question answered yes or no is an answer, not a brush-off ("确定是正品吗" → "是的").
_YES_NO_Q = re.compile(r"吗|是不是|能不能|可不可以|有没有|对不对|是吧|\b(is|are|do|does|can|will)\b.*\?", re.I)
_YES_NO_A = re.compile(
    r"(是的?|对的?|可以的?|能|不能|不可以|不行|有的?|没有|不是|好的|行|yes|no|sure)[哦呢哈呀啦的~]*", re.I
)
DEFAULT_TARGET_SECONDS = 30.0
DEFAULT_SLOW_SECONDS = 90.0


def bare(text: str) -> str:
    """The words of a message without emoticons, emoji, punctuation or spaces."""
    return _NOISE.sub("", _EMOJI.sub("", text))


class ServiceScorer:
    """Rules for attitude and platform service rules. Points per criterion are listed in ``POINTS``."""

    dimension = D
    POINTS: ClassVar[dict[str, float]] = {
        "greeting": 10.0,
        "farewell": 10.0,
        "politeness": 20.0,
        "empathy": 15.0,
        "no-curt-replies": 20.0,
        "forbidden-words": 15.0,
        "response-time": 5.0,
        "reply-ratio": 5.0,
    }

    def score(self, ctx: GradingContext) -> list[CriterionResult]:
        """Every service criterion."""
        agents = ctx.agent_indices()
        if not agents:
            return [unscored(D, cid, cid, p, "the transcript has no agent replies") for cid, p in self.POINTS.items()]
        return [
            self._greeting(ctx, agents),
            self._closing(ctx, agents),
            self._politeness(ctx, agents),
            self._empathy(ctx),
            self._curt(ctx, agents),
            self._forbidden(ctx, agents),
            self._response_time(ctx, agents),
            self._reply_ratio(ctx),
        ]

    def _greeting(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["greeting"]
        first = agents[0]
        # A transcript that starts in the middle (an earlier agent turn missing) cannot show a greeting.
        if any(t.role == "agent" for t in ctx.transcript.turns[:first]):
            return unscored(D, "greeting", "问候 greeting", p, "the conversation's start is not in the transcript")
        if Act.GREET in ctx.acts_of(first) or ctx.lexicon.cue("greeting")(ctx.texts[first]):
            return deduct(D, "greeting", "问候 greeting", p, [])
        f = evidence_finding(
            ctx,
            D,
            "greeting",
            p,
            "第一句回复没有问候顾客",
            first,
            source=Source("rule", "greeting", "service rules: greet the customer in the first reply"),
            suggestion_fallback=_greeting_template(ctx),
        )
        return deduct(D, "greeting", "问候 greeting", p, [f])

    def _closing(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["farewell"]
        if not ctx.transcript.complete:
            return unscored(D, "farewell", "结束语 farewell", p, "the conversation was cut off before its end")
        turns = ctx.transcript.turns
        if turns[-1].role == "customer" and ctx.transcript.outcome is not None:
            return unscored(
                D, "farewell", "结束语 farewell", p, "the customer ended the conversation (no chance to close)"
            )
        tail = agents[-2:] if len(agents) > 1 else agents
        if any(Act.CLOSE in ctx.acts_of(i) or ctx.lexicon.cue("closing")(ctx.texts[i]) for i in tail):
            return deduct(D, "farewell", "结束语 farewell", p, [])
        last = agents[-1]
        f = evidence_finding(
            ctx,
            D,
            "farewell",
            p,
            "结束时没有致谢或道别",
            last,
            source=Source("rule", "closing", "service rules: thank the customer and invite them back"),
            topic="结束语 感谢",
            suggestion_fallback="感谢您的耐心～还有其他问题随时找我哦，祝您生活愉快！",
        )
        return deduct(D, "farewell", "结束语 farewell", p, [f])

    def _politeness(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["politeness"]
        findings: list[Finding] = []
        for i, rule, hit in rule_hits(ctx, ctx.lexicon.abuse, agents):
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "politeness",
                    p,
                    f"辱骂或嘲讽顾客：{rule.note}",
                    i,
                    hit,
                    source=rule_source(ctx, rule),
                    suggestion_fallback=rule.suggestion,
                )
            )
        for i, rule, hit in rule_hits(ctx, ctx.lexicon.blame, agents):
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "politeness",
                    10.0,
                    f"指责顾客或推卸：{rule.note}",
                    i,
                    hit,
                    source=rule_source(ctx, rule),
                    suggestion_fallback=rule.suggestion,
                )
            )
        substantive = [i for i in agents if meaningful_length(ctx.texts[i]) >= 8]
        cold = [i for i in substantive if not ctx.lexicon.cue("polite")(ctx.texts[i])]
        if substantive and len(cold) * 2 > len(substantive):
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "politeness",
                    5.0,
                    "多数回复没有任何礼貌用语（您/请/亲/谢谢）",
                    cold[0],
                    source=Source("rule", "polite-tone", "service rules: polite address"),
                )
            )
        return deduct(D, "politeness", "礼貌 politeness", p, findings)

    def _empathy(self, ctx: GradingContext) -> CriterionResult:
        p = self.POINTS["empathy"]
        upset = [i for i in ctx.customer_indices() if ctx.lexicon.cue("upset")(ctx.texts[i])]
        if not upset:
            return unscored(D, "empathy", "共情 empathy", p, "the customer was never upset")
        findings = []
        answered = 0
        for i in upset:
            answers = ctx.answers_to(i)
            if not answers:
                continue
            answered += 1
            ok = any(
                ctx.acts_of(a) & {Act.EMPATHISE, Act.APOLOGISE}
                or ctx.lexicon.cue("empathy")(ctx.texts[a])
                or ctx.lexicon.cue("apology")(ctx.texts[a])
                for a in answers
            )
            if not ok:
                findings.append(
                    evidence_finding(
                        ctx,
                        D,
                        "empathy",
                        8.0,
                        "顾客不满时没有先安抚情绪（理解/抱歉）",
                        answers[0],
                        source=Source("rule", "empathy", "sandwich: acknowledge the feeling → explain → solve"),
                        topic="安抚 道歉",
                        suggestion_fallback="非常理解您的心情，给您带来不便真的很抱歉，我马上帮您处理。",
                    )
                )
        if not answered:
            return unscored(D, "empathy", "共情 empathy", p, "the upset messages were not answered in the transcript")
        return deduct(D, "empathy", "共情 empathy", p, findings)

    def _curt(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["no-curt-replies"]
        findings = []
        for i in agents:
            words = bare(ctx.texts[i])
            spaced = " ".join(_NOISE.sub(" ", _EMOJI.sub("", ctx.texts[i])).split()).lower()
            rule = next((r for r in ctx.lexicon.perfunctory if r.find(words) or r.find(spaced)), None)
            prompt = ctx.prompt_of(i)
            asked = prompt is not None and ctx.is_question(prompt)
            if rule is not None:
                msg = f"敷衍回复：{rule.note}"
                src = rule_source(ctx, rule)
            elif (
                asked
                and meaningful_length(spaced) <= 2
                and not re.search(r"\d", spaced)
                and not (_YES_NO_Q.search(ctx.texts[prompt]) and _YES_NO_A.fullmatch(words))  # type: ignore[index]
            ):
                msg = "顾客提问，只回了一两个字"
                src = Source("rule", "one-word", "service rules: no one-word replies")
            else:
                continue
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "no-curt-replies",
                    10.0,
                    msg,
                    i,
                    source=src,
                    suggestion_fallback=getattr(rule, "suggestion", ""),
                )
            )
        return deduct(D, "no-curt-replies", "不敷衍 no curt replies", p, findings)

    def _forbidden(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["forbidden-words"]
        findings = []
        for i, rule, hit in rule_hits(ctx, ctx.lexicon.forbidden, agents):
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "forbidden-words",
                    8.0,
                    f"服务禁语：{rule.note}",
                    i,
                    hit,
                    source=rule_source(ctx, rule),
                    suggestion_fallback=rule.suggestion,
                )
            )
        if ctx.scenario:
            for phrase in ctx.scenario.expectations.forbidden_phrases:
                for i in agents:
                    pos = ctx.texts[i].find(phrase)
                    if pos >= 0:
                        findings.append(
                            evidence_finding(
                                ctx,
                                D,
                                "forbidden-words",
                                8.0,
                                f"本场景禁用语：{phrase}",
                                i,
                                Hit(pos, pos + len(phrase), phrase),
                                source=Source("scenario", "forbidden_phrases", phrase),
                            )
                        )
        return deduct(D, "forbidden-words", "服务禁语 forbidden words", p, findings)

    def _response_time(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["response-time"]
        target = ctx.scenario.end.target_reply_seconds if ctx.scenario else DEFAULT_TARGET_SECONDS
        slow = ctx.scenario.end.slow_reply_seconds if ctx.scenario else DEFAULT_SLOW_SECONDS
        turns = ctx.transcript.turns
        delays = [
            (i, turns[i].at - turns[i - 1].at)  # type: ignore[operator]
            for i in agents
            if i > 0 and turns[i - 1].role == "customer" and turns[i].at is not None and turns[i - 1].at is not None
        ]
        if not delays:
            return unscored(D, "response-time", "响应时间 response time", p, "the transcript has no timestamps ('at')")
        findings = []
        for i, d in delays:
            if d > target:
                findings.append(
                    evidence_finding(
                        ctx,
                        D,
                        "response-time",
                        2.0 if d > slow else 1.0,
                        f"回复用时 {d:.0f} 秒，超过目标 {target:.0f} 秒",
                        i,
                        source=Source("rule", "response-time", f"target {target:.0f} s, slow {slow:.0f} s"),
                    )
                )
        return deduct(D, "response-time", "响应时间 response time", p, findings)

    def _reply_ratio(self, ctx: GradingContext) -> CriterionResult:
        p = self.POINTS["reply-ratio"]
        customers = ctx.customer_indices()
        if not customers:
            return unscored(D, "reply-ratio", "答问比 reply ratio", p, "the customer said nothing")
        findings = []
        last = len(ctx.transcript.turns) - 1
        for i in customers:
            if ctx.answers_to(i) or not ctx.is_question(i):
                continue
            if i == last and not ctx.transcript.complete:
                continue  # the cut-off point, not an ignored question
            turn = ctx.transcript.turns[i]
            findings.append(
                Finding(
                    D,
                    "reply-ratio",
                    2.5,
                    "顾客的问题没有得到回复",
                    turn=i,
                    evidence="",
                    source=Source("rule", "reply-ratio", f"customer asked: {turn.text[:80]}"),
                    suggestion=ctx.suggestion(i),
                )
            )
        return deduct(D, "reply-ratio", "答问比 reply ratio", p, findings)


def _greeting_template(ctx: GradingContext) -> str:
    if ctx.locale.startswith("en"):
        return "Hi, thanks for reaching out! I'm happy to help."
    return "亲，您好，很高兴为您服务～请问有什么可以帮您？"


def metrics(ctx: GradingContext) -> dict[str, float | None]:
    """答问比 and response-time figures trainers read."""
    agents = ctx.agent_indices()
    customers = ctx.customer_indices()
    turns = ctx.transcript.turns
    delays = [
        turns[i].at - turns[i - 1].at  # type: ignore[operator]
        for i in agents
        if i > 0 and turns[i - 1].role == "customer" and turns[i].at is not None and turns[i - 1].at is not None
    ]
    return {
        "agent_messages": float(len(agents)),
        "customer_messages": float(len(customers)),
        "reply_ratio": round(len(agents) / len(customers), 2) if customers else None,
        "mean_response_s": round(sum(delays) / len(delays), 1) if delays else None,
        "max_response_s": round(max(delays), 1) if delays else None,
    }
