"""Service (服务): greeting, closing, politeness, empathy, curt replies, forbidden words, response time, 答问比."""

from __future__ import annotations

import re
from typing import ClassVar

from simulator.acts import meaningful_length
from simulator.grading.context import GradingContext
from simulator.grading.lexicon import Hit
from simulator.grading.result import CriterionResult, Finding, Source, deduct, unscored
from simulator.grading.scorer import evidence_finding, rule_hits, rule_source
from simulator.scenario.vocabulary import Act, Dimension

D = Dimension.SERVICE
# Emoticon codes (#E-s57), emoji, punctuation and spaces carry no words.
_NOISE = re.compile(r"#E-[a-z]\d+|[\s\W_]+", re.UNICODE)
# The same, but keeping apostrophes inside words ("don't", "that's") and one space between words.
_SPACED_NOISE = re.compile(r"#E-[a-z]\d+|[^\w']+|_|(?<!\w)'|'(?!\w)", re.UNICODE)
_EMOJI = re.compile("[\U0001f000-\U0001ffff\u2600-\u27bf]")
# Courteous acts count as courtesy as much as polite words do: a greeting, thanks, an apology, empathy.
_COURTEOUS_ACTS = {Act.GREET, Act.CLOSE, Act.APOLOGISE, Act.EMPATHISE}
_COURTEOUS_CUES = ("polite", "greeting", "closing", "apology", "empathy")
SHORT_ANSWER = 5  # counted units (CJK characters, Latin words) of a reply that is a bare answer …
DETAILED_QUESTION = 12  # … to a question at least this long
# A question about time ("什么时候", "多久", "how long", "by when") and the time words an answer gives.
_WHEN_QUESTION = re.compile(
    r"什么时候|啥时候|多久|几天|多长时间|哪天|几号|能不能到|来得及|赶得上"
    r"|\bhow long\b|\bwhen\b|\bby when\b|\bhow soon\b",
    re.I,
)
# A reply that takes up the timing without a time (an honest "I can't promise the day", "only waiting") answers
# the question; it may have other faults.
_TIMING_TOPIC = re.compile(
    r"送到|到货|送达|哪天|日期|等|打包票|保证|控制|顺丰|快递|物流|经理|组长"
    r"|\b(arrive|arrival|deliver|delivery|date|slot|guarantee|promise|courier|tracking)\b",
    re.I,
)
_TIME_WORDS = re.compile(
    r"\d|[一二两三四五六七八九十半]+\s*(个)?(小时|天|工作日|周|分钟)|今天|明天|后天|今晚|周[一二三四五六日末]|星期|礼拜"
    r"|小时|马上|稍后|之前|以内|之内|来得及|赶得上|\b(today|tomorrow|tonight|monday|tuesday|wednesday|thursday"
    r"|friday|saturday|sunday|weekend|hours?|days?|weeks?|within|before|by)\b",
    re.I,
)
DEFAULT_TARGET_SECONDS = 30.0
DEFAULT_SLOW_SECONDS = 90.0


def bare(text: str) -> str:
    """The words of a message without emoticons, emoji, punctuation or spaces."""
    return _NOISE.sub("", _EMOJI.sub("", text))


def spaced(text: str) -> str:
    """The words of a message, lower-cased and separated by single spaces (apostrophes inside words kept)."""
    return " ".join(_SPACED_NOISE.sub(" ", _EMOJI.sub("", text.replace("’", "'"))).split()).lower()


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
        "no-flat-refusal": 10.0,
        "answers-question": 10.0,
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
            self._alternative(ctx, agents),
            self._answers_when(ctx),
        ]

    def _greeting(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["greeting"]
        first = agents[0]
        # A transcript that starts in the middle (an earlier agent turn missing) cannot show a greeting.
        if any(t.role == "agent" for t in ctx.transcript.turns[:first]):
            return unscored(D, "greeting", "问候 greeting", p, "the conversation's start is not in the transcript")
        # A warm opening is a greeting, the buyer's name first, or (to an upset buyer) an apology.
        name = ctx.scenario.persona.name if ctx.scenario else ""
        given = name.split()[0].lower() if name.split() else ""
        opens_with_name = bool(given) and ctx.texts[first].lstrip().lower().startswith(given)
        if (
            Act.GREET in ctx.acts_of(first)
            or ctx.lexicon.cue("greeting")(ctx.texts[first])
            or opens_with_name
            or _opens_with_apology(ctx, first)
        ):
            return deduct(D, "greeting", "问候 greeting", p, [])
        f = evidence_finding(
            ctx,
            D,
            "greeting",
            p,
            ctx.say("greeting.missing"),
            first,
            source=Source("rule", "greeting", "service rules: greet the customer in the first reply"),
            suggestion_fallback=ctx.say("greeting.better"),
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
            ctx.say("farewell.missing"),
            last,
            source=Source("rule", "closing", "service rules: thank the customer and invite them back"),
            topic=ctx.say("farewell.topic"),
            suggestion_fallback=ctx.say("farewell.better"),
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
                    ctx.say("politeness.abuse", note=rule.note),
                    i,
                    hit,
                    source=rule_source(ctx, rule),
                    suggestion_fallback=rule.suggestion,
                )
            )
        for i, rule, hit in rule_hits(ctx, ctx.lexicon.blame, agents, said=True):
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "politeness",
                    10.0,
                    ctx.say("politeness.blame", note=rule.note),
                    i,
                    hit,
                    source=rule_source(ctx, rule),
                    suggestion_fallback=rule.suggestion,
                )
            )
        substantive = [i for i in agents if meaningful_length(ctx.texts[i]) >= 8]
        cold = [i for i in substantive if not _courteous(ctx, i)]
        if substantive and len(cold) * 2 > len(substantive):
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "politeness",
                    5.0,
                    ctx.say("politeness.cold"),
                    cold[0],
                    source=Source("rule", "polite-tone", "service rules: polite address"),
                )
            )
        return deduct(D, "politeness", "礼貌 politeness", p, findings)

    def _empathy(self, ctx: GradingContext) -> CriterionResult:
        p = self.POINTS["empathy"]
        upset = [i for i in ctx.customer_indices() if ctx.is_upset(i)]
        if not upset:
            return unscored(D, "empathy", "共情 empathy", p, "the customer was never upset")
        findings = []
        answered = 0
        for i in upset:
            answers = ctx.answers_to(i)
            if not answers:
                continue
            answered += 1
            ok = any(ctx.acknowledges(a) for a in answers)
            if not ok:
                findings.append(
                    evidence_finding(
                        ctx,
                        D,
                        "empathy",
                        8.0,
                        ctx.say("empathy.missing"),
                        answers[0],
                        source=Source("rule", "empathy", "sandwich: acknowledge the feeling → explain → solve"),
                        topic=ctx.say("empathy.topic"),
                        suggestion_fallback=ctx.say("empathy.better"),
                    )
                )
        if not answered:
            return unscored(D, "empathy", "共情 empathy", p, "the upset messages were not answered in the transcript")
        return deduct(D, "empathy", "共情 empathy", p, findings)

    def _curt(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["no-curt-replies"]
        findings = []
        yes_no_q, yes_no_a = ctx.lexicon.cue("yes_no_question"), ctx.lexicon.cue("yes_no_answer")
        turns = ctx.transcript.turns
        for i in agents:
            text = ctx.texts[i]
            words, phrase = bare(text), spaced(text)
            # The length the one-word rule has always measured ("it's" counts as two words).
            loose = " ".join(_NOISE.sub(" ", _EMOJI.sub("", text)).split()).lower()
            prompt = ctx.prompt_of(i)
            # A yes/no question answered yes or no is an answer, not a brush-off ("确定是正品吗" → "是的",
            # "So it works now?" → "Yes"). Which bare words still count as curt is the lexicon's call (zh: 是 alone).
            if prompt is not None and yes_no_q(ctx.texts[prompt]) and (yes_no_a(words) or yes_no_a(phrase)):
                continue
            rule = next((r for r in ctx.lexicon.perfunctory if r.find(words) or r.find(loose) or r.find(phrase)), None)
            asked = prompt is not None and ctx.is_question(prompt)
            # A greeting sent on its own is the first message of the answer when the agent goes on (or the
            # transcript is cut off right after it); followed by the customer's next message it stays curt.
            continued = turns[i + 1].role == "agent" if i + 1 < len(turns) else not ctx.transcript.complete
            opener = continued and (Act.GREET in ctx.acts_of(i) or ctx.lexicon.cue("greeting")(text))
            if rule is not None:
                msg = ctx.say("curt.perfunctory", note=rule.note)
                src = rule_source(ctx, rule)
            elif asked and meaningful_length(loose) <= 2 and not re.search(r"\d", loose) and not opener:
                msg = ctx.say("curt.one-word")
                src = Source("rule", "one-word", "service rules: no one-word replies")
            elif (
                (asked or _answers_our_question(ctx, prompt))
                and not opener
                and meaningful_length(loose) <= SHORT_ANSWER
                and meaningful_length(ctx.texts[prompt]) >= DETAILED_QUESTION  # type: ignore[index]
            ):
                msg = ctx.say("curt.short")
                src = Source("rule", "short-answer", "service rules: a detailed question gets more than a few words")
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
                    ctx.say("forbidden.rule", note=rule.note),
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
                                ctx.say("forbidden.scenario", phrase=phrase),
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
                        ctx.say("response-time.slow", seconds=d, target=target),
                        i,
                        source=Source("rule", "response-time", f"target {target:.0f} s, slow {slow:.0f} s"),
                    )
                )
        return deduct(D, "response-time", "响应时间 response time", p, findings)

    def _alternative(self, ctx: GradingContext, agents: list[int]) -> CriterionResult:
        p = self.POINTS["no-flat-refusal"]
        findings = []
        for i in agents:
            hit = _refuses_flat(ctx, i)
            if hit is None:
                continue
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "no-flat-refusal",
                    p,
                    ctx.say("alternative.missing"),
                    i,
                    hit,
                    source=Source("rule", "no-flat-refusal", "service rules: a no comes with a reason and a way out"),
                    topic=ctx.say("alternative.topic"),
                    suggestion_fallback=ctx.say("alternative.better"),
                )
            )
        return deduct(D, "no-flat-refusal", "拒绝给替代方案 a no with a way out", p, findings)

    def _answers_when(self, ctx: GradingContext) -> CriterionResult:
        """A question about time answered without any time: "那你什么时候给我回话？" → "有消息了会通知您的"."""
        p = self.POINTS["answers-question"]
        findings = []
        for c in ctx.customer_indices():
            answers = ctx.answers_to(c)
            if not answers or not _WHEN_QUESTION.search(ctx.texts[c]):
                continue
            if any(
                _TIME_WORDS.search(ctx.texts[a])
                or _TIMING_TOPIC.search(ctx.texts[a])
                or ctx.acts_of(a) & {Act.ASK, Act.CURT, Act.REFUSE}
                for a in answers
            ):
                continue  # a time given, a question back first, or a brush-off (the curt check's)
            i = answers[0]
            findings.append(
                evidence_finding(
                    ctx,
                    D,
                    "answers-question",
                    p,
                    ctx.say("unanswered.when"),
                    i,
                    source=Source("rule", "answers-question", "service rules: answer what was asked"),
                    topic=ctx.say("unanswered.topic"),
                )
            )
        return deduct(D, "answers-question", "答其所问 answering the question", p, findings)

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
            findings.append(
                Finding(
                    D,
                    "reply-ratio",
                    2.5,
                    ctx.say("reply-ratio.unanswered"),
                    turn=i,
                    evidence="",
                    source=Source("rule", "reply-ratio", ""),  # the finding sits on the customer turn it quotes
                    suggestion=ctx.suggestion(i),
                )
            )
        return deduct(D, "reply-ratio", "答问比 reply ratio", p, findings)


_ALTERNATIVE_ACTS = {
    Act.OFFER_COMPENSATION,
    Act.OFFER_EXCHANGE,
    Act.OFFER_RETURN,
    Act.OFFER_REFUND,
    Act.OFFER_DISCOUNT,
    Act.OFFER_GIFT,
    Act.ESCALATE,
    Act.PROMISE_ACTION,
    Act.ASK,
    Act.RECOMMEND,
}
# Words that open another way out after a no ("但是可以…", "不过我帮您…", "but you can…", "instead").
ANOTHER_WAY = re.compile(
    r"但是?|不过|可以|建议|帮您|为您|给您|除非|如果|的话|只能(找|联系|申请)"
    r"|\b(but|however|instead|unless|except|only|what (i|we) can|you can|i can|we can|happy to)\b",
    re.I,
)
# Refusing a red-line request names the rule; that is the right answer, not a flat no.
_VIOLATION = re.compile(r"违规|违反|不允许|against (the|our) (rules|policy)|not allowed", re.I)


def _refuses_flat(ctx: GradingContext, i: int) -> Hit | None:
    """The words of a refusal when reply ``i`` says no to what the buyer needs and offers nothing else."""
    text = ctx.texts[i]
    hits = ctx.lexicon.cue("flat_refusal").find_all(text)
    if not hits or _VIOLATION.search(text):
        return None
    prompt = ctx.prompt_of(i)
    if prompt is not None and (
        ctx.lexicon.cue("cashback_ask")(ctx.texts[prompt]) or ctx.lexicon.cue("personal_payment")(ctx.texts[prompt])
    ):
        return None
    rest = text
    for h in hits:
        rest = rest[: h.start] + " " * (h.end - h.start) + rest[h.end :]
    if ANOTHER_WAY.search(rest) or ctx.lexicon.cue("remedy")(rest) or ctx.lexicon.cue("escalate")(rest):
        return None
    if ctx.acts is not None and set(ctx.acts.detect(rest)) & _ALTERNATIVE_ACTS:
        return None
    return hits[0]


def _answers_our_question(ctx: GradingContext, prompt: int | None) -> bool:
    """Whether the customer message ``prompt`` answers a question the agent asked just before it."""
    if prompt is None:
        return False
    before = [i for i in ctx.agent_indices() if i < prompt]
    return bool(before) and Act.ASK in ctx.acts_of(before[-1])


_FIRST_CLAUSE = re.compile(r"[,.!?;，。！？；~～]")


def _opens_with_apology(ctx: GradingContext, i: int) -> bool:
    """Whether reply ``i`` opens (its first clause) with an apology or an acknowledgement ("I'm so sorry, …")."""
    head = _FIRST_CLAUSE.split(ctx.texts[i].strip(), maxsplit=1)[0]
    return bool(head) and (ctx.lexicon.cue("apology")(head) or ctx.lexicon.cue("empathy")(head))


def _courteous(ctx: GradingContext, i: int) -> bool:
    """Whether a reply carries any courtesy: a polite word or a courteous act (greeting, thanks, apology, empathy)."""
    return bool(ctx.acts_of(i) & _COURTEOUS_ACTS) or any(ctx.lexicon.cue(c)(ctx.texts[i]) for c in _COURTEOUS_CUES)


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
