"""Knowledge (知识): required facts present and correct, and no claim that contradicts the knowledge base.

* Each required fact is read in every reply by the fact check the customer uses too
  (:class:`simulator.facts.FactChecker`): stated, contradicted (a wrong number, size, material or invoice type on
  its topic, the opposite of what it says, one of its ``wrong`` answers) or silent. A contradiction costs the
  fact's points (half when another reply stated it correctly); a fact never stated costs them only in a complete
  conversation that called for it (its ``when_beat`` reached, or its topic raised).
* For every customer question the best knowledge passage is retrieved; numbers with units in the answer
  ("15天无理由") are compared with the passage's ("7天无理由退货"). Only same-unit numbers sharing an anchor word in
  the same clause are compared, numbers the customer said are echoes, and a figure any retrieved passage or
  scenario fact supports is never called wrong; a figure only a scenario fact disagrees with is that fact's.
"""

from __future__ import annotations

import re

from simulator.acts import ActDetector, substitute
from simulator.facts import Fact, FactChecker, Reading
from simulator.grading.claims import Claim, about_the_same, contradictions, extract_claims
from simulator.grading.context import FACT_KINDS, GradingContext
from simulator.grading.result import CUT_OFF, CriterionResult, Finding, Source, Suggestion, deduct, unscored
from simulator.grading.scorer import evidence_finding
from simulator.knowledge.passage import Passage
from simulator.quantities import plain_numbers, to_digits
from simulator.scenario.expectations import RequiredFact
from simulator.scenario.vocabulary import Dimension, Outcome, RedLineKind
from simulator.text import char_bigrams, dice, normalise_text

D = Dimension.KNOWLEDGE
KB_POINTS = 20.0
KB_ERROR_POINTS = 10.0
_CODE = re.compile(r"\b[A-Z]{1,3}-?[A-Z]?\d{2,4}\b")
NOT_DUE = "the conversation never reached the point where this fact is due (its when_beat)"
SAME_LINE = 0.6  # character-pair overlap at which a customer message is one of a beat's scripted lines


class KnowledgeScorer:
    """Facts and consistency with the knowledge base.

    Args:
        detector: The act detector shared with the customer; its fact checker reads the replies.
        checker: Another fact checker (default: the detector's, so the customer and the grader agree).
    """

    dimension = D

    def __init__(self, detector: ActDetector | None = None, *, checker: FactChecker | None = None):
        self.detector = detector or ActDetector()
        self.checker = checker or self.detector.facts

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
        readings = {i: r for i, r in fact_readings(ctx, self.checker).items() if fact.id in r}
        statement = substitute(fact.statement, ctx.variables)
        invented = _invented_turns(ctx)
        # A fact may be spread over several replies (item price in one, total in the next): every number must
        # appear in some reply, and at least one reply that crosses no invented-fact red line must be on topic.
        numbers_said = frozenset().union(*(r[fact.id].numbers for r in readings.values()))
        stated_in = [
            i for i, r in readings.items() if i not in invented and r[fact.id].on_topic and not r[fact.id].contradiction
        ]
        compiled = next(iter(readings.values()))[fact.id].fact if readings else None
        stated = bool(stated_in) and compiled is not None and numbers_said >= set(compiled.numbers)
        # A reply that crosses a red line making the same claim (same knowledge document) is reported as that
        # red line, the more specific finding, not again as a wrong fact.
        claimed = invented | _claim_turns(ctx, fact.source)
        wrong = [
            (i, r[fact.id].contradiction) for i, r in readings.items() if i not in claimed and r[fact.id].contradiction
        ]
        suggestion = Suggestion(statement, f"fact:{fact.id}")
        if wrong:
            # Every reply that contradicts the fact is a fault of its own (扣分制); each costs the fact's points,
            # half when another reply stated the fact correctly.
            lost = fact.points / 2 if stated else fact.points
            findings = []
            for turn, c in wrong:
                assert c is not None
                mid = "fact.opposite" if c.kind == "polarity" else "fact.wrong"
                lo, hi = c.span
                findings.append(
                    Finding(  # the better reply is the fact itself, so no 话术 search is needed
                        D,
                        fact.id,
                        lost,
                        ctx.say(mid, said=" ".join(c.said.split()), expected=" ".join(c.expected.split())),
                        turn=turn,
                        evidence=ctx.transcript.turns[turn].text[lo:hi],
                        span=(lo, hi),
                        source=source,
                        suggestion=suggestion,
                    )
                )
            return deduct(D, fact.id, title, fact.points, findings)
        if stated:
            return deduct(D, fact.id, title, fact.points, [])
        if not ctx.transcript.complete or ctx.transcript.outcome == Outcome.ABANDONED.value:
            return unscored(D, fact.id, title, fact.points, CUT_OFF)
        if not self._due(ctx, fact, compiled):
            return unscored(D, fact.id, title, fact.points, NOT_DUE)
        numbers = [substitute(n, ctx.variables) for n in fact.numbers]
        message = ctx.say("fact.missing-numbers", numbers=", ".join(numbers)) if numbers else ctx.say("fact.missing")
        f = Finding(D, fact.id, fact.points, message, source=source, suggestion=suggestion)
        return deduct(D, fact.id, title, fact.points, [f])

    def _due(self, ctx: GradingContext, fact: RequiredFact, compiled: Fact | None) -> bool:
        """Whether the conversation called for the fact: its ``when_beat`` was reached (recorded on a customer
        turn, the customer said one of the beat's lines or gave the figures it reveals), or the fact's topic came
        up (the customer asked about it, or a reply talked about it). A fact without ``when_beat`` is due any
        time."""
        if not fact.when_beat or ctx.scenario is None:
            return True
        if beat_reached(ctx, fact.when_beat):
            return True
        if compiled is None:
            return False
        readings = fact_readings(ctx, self.checker)
        if any(r[fact.id].on_topic or r[fact.id].contradiction for r in readings.values() if fact.id in r):
            return True
        return any(self.checker.mentions(ctx.texts[i], compiled) for i in ctx.customer_indices())

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
                        passage = next((p for p in pool if contradictions([c], pclaims[p.id])), None)
                        if passage is None:
                            # Only a scenario fact disagrees: that fact's own criterion judges it (one finding per
                            # fault), and there is no passage to show as the source.
                            continue
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


def _claim_turns(ctx: GradingContext, source: str) -> set[int]:
    """Turns crossing one of the scenario's claim red lines (invented fact, over-promise) backed by ``source``."""
    if ctx.scenario is None:
        return set()
    key = f"claims:{source}"
    if key not in ctx.memo:
        from simulator.grading.redlines import red_line_findings

        ids = {
            r.id
            for r in ctx.scenario.expectations.red_lines
            if r.source == source and r.kind in (RedLineKind.INVENTED_FACT, RedLineKind.OVER_PROMISE)
        }
        ctx.memo[key] = {f.turn for f in red_line_findings(ctx) if f.red_line in ids and f.turn is not None}
    return ctx.memo[key]


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


def fact_readings(ctx: GradingContext, checker: FactChecker) -> dict[int, dict[str, Reading]]:
    """For every agent reply, what it says about each required fact (read once per transcript).

    Each reply is read as the customer read it: against what the customer had said up to then.
    """
    if "fact-readings" in ctx.memo:
        return ctx.memo["fact-readings"]
    out: dict[int, dict[str, Reading]] = {}
    if ctx.scenario is not None and ctx.scenario.expectations.facts:
        facts = checker.compile(ctx.scenario.expectations.facts, ctx.variables)
        known = [substitute(k.value, ctx.variables) for k in ctx.scenario.known_facts]
        similarity = ctx.similarity if ctx.embedder is not None else None
        heard: list[str] = []
        for i, turn in enumerate(ctx.transcript.turns):
            if turn.role != "agent":
                heard.append(ctx.texts[i])
                continue
            prompt = ctx.prompt_of(i)
            readings = checker.read(
                ctx.texts[i],
                facts,
                customer=list(heard),
                known=known,
                prompt=ctx.texts[prompt] if prompt is not None else "",
                similarity=similarity,
            )
            out[i] = {r.fact.id: r for r in readings}
    ctx.memo["fact-readings"] = out
    return out


def beat_reached(ctx: GradingContext, beat_id: str) -> bool:
    """Whether the conversation reached a scenario beat: recorded on a customer turn (practice sessions), or a
    customer message is one of the beat's scripted lines (an imported transcript)."""
    if any(t.beat == beat_id for t in ctx.transcript.turns if t.role == "customer"):
        return True
    beat = next((b for b in ctx.scenario.beats if b.id == beat_id), None) if ctx.scenario else None
    if beat is None:
        return True
    lines = [char_bigrams(normalise_text(substitute(line, ctx.variables))) for line in beat.say]
    customer = [ctx.texts[i] for i in ctx.customer_indices()]
    for text in customer:
        said = char_bigrams(normalise_text(text))
        if any(dice(said, line) >= SAME_LINE for line in lines):
            return True
    # The beat gives away known facts (height and weight, the usual size): the customer saying their figures in
    # her own words reached it too.
    heard = plain_numbers(" ".join(customer))
    known_facts = ctx.scenario.known_facts if ctx.scenario else []
    for key in beat.reveals:
        known = next((k for k in known_facts if k.key == key), None)
        figures = plain_numbers(substitute(known.value, ctx.variables)) if known is not None else set()
        if figures and figures <= heard:
            return True
    return False
