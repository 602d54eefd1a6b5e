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

from simulator.acts import ActDetector, substitute
from simulator.grading.claims import Claim, about_the_same, clauses, contradictions, extract_claims
from simulator.grading.context import FACT_KINDS, GradingContext
from simulator.grading.result import CUT_OFF, CriterionResult, Finding, Source, Suggestion, deduct, unscored
from simulator.grading.scorer import evidence_finding
from simulator.knowledge.passage import Passage
from simulator.quantities import to_digits
from simulator.scenario.expectations import RequiredFact
from simulator.scenario.vocabulary import Dimension
from simulator.text import normalise_text

D = Dimension.KNOWLEDGE
KB_POINTS = 20.0
KB_ERROR_POINTS = 10.0
_SIZE = re.compile(r"^(x{0,3}[sml]|[2-5]xl|xxl|xxxl)$", re.I)
_SIZE_IN = re.compile(r"(?<![a-z'])(x{0,3}[sml]|[2-5]xl|xxl|xxxl)(?![a-z])")
_CODE = re.compile(r"\b[A-Z]{1,3}-?[A-Z]?\d{2,4}\b")


def number_present(number: str, text: str) -> bool:
    """Whether ``number`` ("7", "M", "299") appears in ``text`` as a whole token (七 counts as 7)."""
    n = normalise_text(number).strip()
    norm = normalise_text(to_digits(text))
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
        title = ctx.say("fact.title", statement=fact.statement[:40])
        agents = ctx.agent_indices()
        source = Source("scenario", fact.source, fact.statement)
        if not agents:
            return unscored(D, fact.id, title, fact.points, "the transcript has no agent replies")
        numbers = [substitute(n, ctx.variables) for n in fact.numbers]
        keywords = [normalise_text(substitute(k, ctx.variables)) for k in fact.keywords]
        statement = substitute(fact.statement, ctx.variables)
        threshold = self.meaning_threshold if ctx.embedder is not None else self.lexical_threshold
        invented = _invented_turns(ctx)
        candidates = [i for i in agents if i not in invented]
        on_topic = [i for i in candidates if any(k and k in normalise_text(ctx.texts[i]) for k in keywords)]
        if not on_topic:
            # Other words for the same fact: meaning decides (the embedder is only asked when keywords fail).
            on_topic = [i for i in candidates if ctx.similarity(statement, ctx.texts[i]) >= threshold]
        # A fact may be spread over several replies (item price in one, total in the next): every number must
        # appear in some reply, and at least one reply must be on the fact's topic.
        stated = bool(on_topic) and all(any(number_present(n, ctx.texts[i]) for i in agents) for n in numbers)
        wrong = self._wrong(ctx, fact, numbers, keywords, statement, [i for i in agents if i not in invented])
        suggestion = Suggestion(statement, f"fact:{fact.id}")
        if wrong is not None and (not stated or wrong[2]):
            turn, said, _strict = wrong
            lost = fact.points / 2 if stated else fact.points
            f = evidence_finding(
                ctx,
                D,
                fact.id,
                lost,
                ctx.say("fact.wrong", said=said, expected=ctx.say("list.sep").join(numbers)),
                turn,
                source=source,
            )
            pos = ctx.transcript.turns[turn].text.find(said)
            if pos >= 0:
                f.span, f.evidence = (pos, pos + len(said)), said
            f.suggestion = suggestion
            return deduct(D, fact.id, title, fact.points, [f])
        if stated:
            return deduct(D, fact.id, title, fact.points, [])
        if not ctx.transcript.complete:
            return unscored(D, fact.id, title, fact.points, CUT_OFF)
        message = ctx.say("fact.missing-numbers", numbers=", ".join(numbers)) if numbers else ctx.say("fact.missing")
        f = Finding(D, fact.id, fact.points, message, source=source, suggestion=suggestion)
        return deduct(D, fact.id, title, fact.points, [f])

    def _wrong(
        self,
        ctx: GradingContext,
        fact: RequiredFact,
        numbers: list[str],
        keywords: list[str],
        statement: str,
        turns: list[int],
    ) -> tuple[int, str, bool] | None:
        """(turn, what was said, strict) for the first reply stating the fact with a different figure.

        Sizes: a clause on the fact's topic (its keywords, or 码/号/size) naming a size that is neither the fact's
        nor another fact's nor the customer's. Numbers: a claim with the same unit as the fact's statement in
        a clause carrying a fact keyword, whose value is none of the fact's (or any scenario fact's) numbers and
        was not said by the customer. ``strict`` when the clause also shares an anchor word with the statement —
        only strict errors cost points when the fact was also stated correctly.
        """
        assert ctx.scenario is not None
        sizes = {normalise_text(n) for n in numbers if _SIZE.match(normalise_text(n))}
        all_numbers = {
            normalise_text(substitute(n, ctx.variables)) for f in ctx.scenario.expectations.facts for n in f.numbers
        }
        customer = " ".join(ctx.texts[i] for i in ctx.customer_indices())
        echoed = set(re.findall(r"\d+(?:\.\d+)?", to_digits(customer)))
        echoed_sizes = {m.group(1) for m in _SIZE_IN.finditer(normalise_text(customer))}
        expected = extract_claims(statement, ctx.lexicon)
        units = {c.unit for c in expected}
        anchors = frozenset().union(*(c.anchors for c in expected)) if expected else frozenset()
        values = {float(n) for n in all_numbers if re.fullmatch(r"\d+(?:\.\d+)?", n)}
        for i in turns:
            for raw in clauses(ctx.texts[i]):
                norm = normalise_text(raw)
                topical = any(k and k in norm for k in keywords)
                if sizes and (topical or "码" in norm or "号" in norm or "size" in norm):
                    said = {m.group(1) for m in _SIZE_IN.finditer(norm)} - echoed_sizes
                    if said and not said & sizes and not said & all_numbers:
                        return i, sorted(said)[0].upper(), True
                if not topical or not units:
                    continue
                for c in extract_claims(raw, ctx.lexicon):
                    if not c.asserted or c.unit not in units or _number_of(c) in echoed:
                        continue
                    if c.lo in values or c.hi in values:
                        continue
                    return i, c.number, bool(anchors & c.anchors)
        return None

    # -- knowledge base --------------------------------------------------------------------------------------

    def _consistency(self, ctx: GradingContext) -> CriterionResult:
        cid, title = "kb-consistent", "与知识库一致 consistent with the knowledge base"
        if ctx.retriever is None:
            return unscored(D, cid, title, KB_POINTS, "no knowledge base to compare with")
        customer_numbers = {
            m for i in ctx.customer_indices() for m in re.findall(r"\d+(?:\.\d+)?", to_digits(ctx.texts[i]))
        }
        fact_claims = self._fact_claims(ctx)
        compared = 0
        findings: list[Finding] = []
        for ev, passages in ctx.question_passages():
            for a in ctx.answers_to(ev.turn):
                claims = [
                    c
                    for c in extract_claims(ctx.texts[a], ctx.lexicon)
                    if c.asserted and _number_of(c) not in customer_numbers
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
                    if any(c.unit == p.unit and about_the_same(c, p) for p in everything):
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
                            ctx.say(
                                "kb.contradiction",
                                said=c.number,
                                expected=ctx.say("list.sep").join(e.number for e in expected),
                            ),
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


def _invented_turns(ctx: GradingContext) -> set[int]:
    """Turns that cross an invented-fact red line: a made-up figure never earns a fact's points."""
    if "invented" not in ctx.memo:
        from simulator.grading.redlines import red_line_findings

        ctx.memo["invented"] = {
            f.turn for f in red_line_findings(ctx) if f.dimension is Dimension.KNOWLEDGE and f.turn is not None
        }
    return ctx.memo["invented"]


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
