"""Knowledge (知识): required facts present and correct, and no claim that contradicts the knowledge base.

* A scenario's required fact counts as stated when a reply carries one of its keywords — or is close in meaning
  to its statement (embedder) — and contains every one of its numbers exactly. A reply on the fact's topic with a
  different number or size is a knowledge error (detected with the customer engine's own ``wrong_facts``).
* For every customer question the best knowledge passage is retrieved; numbers with units in the answer
  ("15天无理由") are compared with the passage's ("7天无理由退货"). Only same-unit numbers sharing an anchor word in
  the same clause are compared, numbers the customer said are echoes, and a figure any retrieved passage or
  scenario fact supports is never called wrong.
"""

from __future__ import annotations

import re

from simulator.acts import ActDetector, DetectContext, normalise_text, substitute
from simulator.grading.claims import Claim, cn_to_arabic, contradictions, extract_claims
from simulator.grading.context import FACT_KINDS, GradingContext
from simulator.grading.result import CriterionResult, Finding, Source, Suggestion, deduct, unscored
from simulator.grading.scorer import evidence_finding
from simulator.knowledge.passage import Passage
from simulator.scenario.model import Dimension, RequiredFact

D = Dimension.KNOWLEDGE
KB_POINTS = 20.0
KB_ERROR_POINTS = 10.0
_SIZE = re.compile(r"^(x{0,3}[sml]|[2-5]xl|xxl|xxxl)$", re.I)
_CODE = re.compile(r"\b[A-Z]{1,3}-?[A-Z]?\d{2,4}\b")


def number_present(number: str, text: str) -> bool:
    """Whether ``number`` ("7", "M", "299") appears in ``text`` as a whole token (七 counts as 7)."""
    n = normalise_text(number).strip()
    norm = normalise_text(cn_to_arabic(text))
    if _SIZE.match(n):
        return re.search(rf"(?<![a-z]){re.escape(n)}(?![a-z])", norm) is not None
    return re.search(rf"(?<![\d.]){re.escape(n)}(?![\d]|\.\d)", norm) is not None


class KnowledgeScorer:
    """Facts and consistency with the knowledge base.

    Args:
        detector: The act detector whose ``wrong_facts`` finds a fact stated with a different number.
        meaning_threshold: Similarity at or above which a reply states a fact in other words (embedder cosine).
        lexical_threshold: The same, as character-bigram Dice, when no embedder is available.
    """

    dimension = D

    def __init__(
        self, detector: ActDetector | None = None, *, meaning_threshold: float = 0.6, lexical_threshold: float = 0.5
    ):
        self.detector = detector or ActDetector()
        self.meaning_threshold = meaning_threshold
        self.lexical_threshold = lexical_threshold

    def score(self, ctx: GradingContext) -> list[CriterionResult]:
        """One criterion per required fact, plus knowledge-base consistency."""
        out = [self._fact(ctx, f) for f in (ctx.scenario.expectations.facts if ctx.scenario else [])]
        out.append(self._consistency(ctx))
        return out

    # -- required facts --------------------------------------------------------------------------------------

    def _fact(self, ctx: GradingContext, fact: RequiredFact) -> CriterionResult:
        title = f"知识点 {fact.statement[:40]}"
        agents = ctx.agent_indices()
        source = Source("scenario", fact.source, fact.statement)
        if not agents:
            return unscored(D, fact.id, title, fact.points, "the transcript has no agent replies")
        numbers = [substitute(n, ctx.variables) for n in fact.numbers]
        keywords = [normalise_text(substitute(k, ctx.variables)) for k in fact.keywords]
        statement = substitute(fact.statement, ctx.variables)
        threshold = self.meaning_threshold if ctx.embedder is not None else self.lexical_threshold
        customer_texts = [ctx.texts[i] for i in ctx.customer_indices()]
        stated_at = None
        wrong_at = None
        for i in agents:
            text = ctx.texts[i]
            norm = normalise_text(text)
            on_topic = any(k and k in norm for k in keywords) or ctx.similarity(statement, text) >= threshold
            if on_topic and all(number_present(n, text) for n in numbers) and stated_at is None:
                stated_at = i
            if wrong_at is None and ctx.scenario is not None:
                dctx = DetectContext(
                    scenario=ctx.scenario,
                    variables=ctx.variables,
                    customer_texts=customer_texts[: sum(1 for c in ctx.customer_indices() if c < i)],
                )
                if any(w.id == fact.id for w in self.detector.wrong_facts(text, dctx)):
                    wrong_at = i
        suggestion = Suggestion(statement, f"fact:{fact.id}")
        if wrong_at is not None:
            corrected = stated_at is not None and stated_at > wrong_at
            f = evidence_finding(
                ctx,
                D,
                fact.id,
                fact.points / 2 if corrected else fact.points,
                "说错了：" + ("后来改正了" if corrected else "与知识库不符"),
                wrong_at,
                source=source,
            )
            f.suggestion = suggestion
            return deduct(D, fact.id, title, fact.points, [f])
        if stated_at is not None:
            return deduct(D, fact.id, title, fact.points, [])
        f = Finding(
            D,
            fact.id,
            fact.points,
            "没有说明这个知识点" + (f"（需包含 {', '.join(numbers)}）" if numbers else ""),
            source=source,
            suggestion=suggestion,
        )
        return deduct(D, fact.id, title, fact.points, [f])

    # -- knowledge base --------------------------------------------------------------------------------------

    def _consistency(self, ctx: GradingContext) -> CriterionResult:
        cid, title = "kb-consistent", "与知识库一致 consistent with the knowledge base"
        if ctx.retriever is None:
            return unscored(D, cid, title, KB_POINTS, "no knowledge base to compare with")
        customer_numbers = {
            m for i in ctx.customer_indices() for m in re.findall(r"\d+(?:\.\d+)?", cn_to_arabic(ctx.texts[i]))
        }
        fact_claims = self._fact_claims(ctx)
        compared = 0
        findings: list[Finding] = []
        for ev, passages in ctx.question_passages():
            for a in ctx.answers_to(ev.turn):
                claims = [
                    c
                    for c in extract_claims(ctx.texts[a], ctx.lexicon)
                    if c.asserted and c.anchors and _number_of(c) not in customer_numbers
                ]
                if not claims:
                    continue
                pool = list(passages)
                for c in claims:
                    pool += [
                        p for p in ctx.search(c.text, kind=list(FACT_KINDS), k=2) if p.id not in {q.id for q in pool}
                    ]
                pool = _same_product(pool, ctx.texts[ev.turn] + " " + ctx.texts[a])
                pclaims = {p.id: extract_claims(p.text, ctx.lexicon) for p in pool}
                everything = [c for cs in pclaims.values() for c in cs] + fact_claims
                for c in claims:
                    if any(c.unit == p.unit and p.anchors & c.anchors for p in everything):
                        compared += 1
                    if contradictions([c], everything) and not any(
                        c.agrees_with(p) for p in everything if p.unit == c.unit
                    ):
                        passage = next(p for p in pool if contradictions([c], pclaims[p.id]))
                        expected = contradictions([c], pclaims[passage.id])[0].expected
                        pos = ctx.transcript.turns[a].text.find(c.number)
                        f = evidence_finding(
                            ctx,
                            D,
                            cid,
                            KB_ERROR_POINTS,
                            f"「{c.number}」与知识库不符（知识库：{'、'.join(e.number for e in expected)}）",
                            a,
                            source=Source("passage", passage.id, passage.text[:300]),
                        )
                        if pos >= 0:
                            f.span, f.evidence = (pos, pos + len(c.number)), c.number
                        if f.suggestion is None or f.suggestion.source == "reference":
                            f.suggestion = Suggestion(expected[0].text, f"passage:{passage.id}")
                        findings.append(f)
        if not compared:
            return unscored(
                D, cid, title, KB_POINTS, "no figure in the replies could be compared with the knowledge base"
            )
        return deduct(D, cid, title, KB_POINTS, findings)

    def _fact_claims(self, ctx: GradingContext) -> list[Claim]:
        if ctx.scenario is None:
            return []
        out: list[Claim] = []
        for f in ctx.scenario.expectations.facts:
            out += extract_claims(substitute(f.statement, ctx.variables), ctx.lexicon)
        return out


def _number_of(c: Claim) -> str:
    v = c.lo
    return str(int(v)) if v == int(v) else str(v)


def _same_product(passages: list[Passage], text: str) -> list[Passage]:
    """Drop product passages about a different product code than the one the conversation names."""
    codes = set(_CODE.findall(text.upper()))
    if not codes:
        return passages
    out = []
    for p in passages:
        p_codes = set(_CODE.findall((p.title + " " + p.text[:200]).upper()))
        if p.kind == "product" and p_codes and not (p_codes & codes):
            continue
        out.append(p)
    return out
