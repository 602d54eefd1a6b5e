"""How a reply clause contradicts a required fact: a figure, size or rating the facts do not give its topic, the
opposite of what a fact says about a concept, another material or courier on its topic, a window counted from
another event, or a wrong answer the fact names (its ``wrong`` list, or what its statement says must not be).

One fault goes to one fact: the one whose wording the clause shares most. See docs/grading.md, "The fact check".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from simulator.clause import DURATIONS, NUM, Clause, Echoes, Value, fmt, raw_number, units, written_numbers
from simulator.topic import Fact, TopicMatcher, matched, other_topic, units_of

DENIAL_SHARE = 0.75  # share of a denied phrase's units a clause must carry to assert it


@dataclass(frozen=True)
class Contradiction:
    """Where a reply contradicts a fact."""

    span: tuple[int, int]
    evidence: str
    said: str
    expected: str
    kind: str  # number | size | polarity | entity | rating


class ContradictionFinder(TopicMatcher):
    """Finds where a reply's clauses contradict a fact (the comparison half of :class:`simulator.facts.FactChecker`)."""

    def _contradiction(
        self,
        about: list[Clause],
        fact: Fact,
        facts: Sequence[Fact],
        echoed: Echoes,
        echoed_sizes: set[str],
        prompt_on_topic: bool,
    ) -> Contradiction | None:
        for c in about:
            if c.question:
                continue
            keyword = self._keyword(c, fact)
            found = (
                self._wrong_answer(c, fact)
                or self._denied(c, fact)
                or self._wrong_value(c, fact, facts, echoed, keyword)
                or self._wrong_bare(c, fact, facts, echoed, keyword)
                or self._wrong_size(c, fact, facts, echoed_sizes, keyword)
                or self._wrong_rating(c, fact)
                or self._wrong_polarity(c, fact, facts)
                or self._wrong_entity(c, fact, facts, keyword or prompt_on_topic)
            )
            if found is not None:
                said, expected, kind = found
                start, end = c.start, c.end
                at = c.raw.lower().find(said.lower()) if kind != "polarity" else -1
                if at >= 0:  # the evidence is the wrong figure itself when it is written as shown
                    start, end = c.start + at, c.start + at + len(said)
                return Contradiction((start, end), c.raw[start - c.start : end - c.start], said, expected, kind)
        return None

    def _denied(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        """The reply asserts what the fact itself says must not be (the fact: "不能按原价开"; the reply:
        "可以按原价599开"; "not to other retailers" / "we can match other retailers")."""
        if not fact.denials or self._cues(c.norm) or self.words.hedges(c.norm):
            return None
        units = units_of(c.digits, self.reader.stem)
        for denied, text in fact.denials:
            if len(denied & units) >= max(2, DENIAL_SHARE * len(denied)):
                return c.raw, text, "polarity"
        return None

    def _wrong_answer(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        """One of the fact's known wrong answers, not negated ("不是从付款那天算" corrects it)."""
        hit = matched(c, fact.wrong)
        if hit is None:
            return None
        at = c.norm.find(hit)
        before = c.norm[max(0, at - 12) : at] if at >= 0 else ""
        cues = self.words.negation.find(before) if before else []
        if any(units(before[e:]) <= 2 for _s, e in cues) and not self.words.not_negation(before):
            return None
        return hit, fact.statement, "wrong-answer"

    def _wrong_value(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed: Echoes, keyword: bool
    ) -> tuple[str, str, str] | None:
        for v in c.values:
            # A figure the customer said (or a fact gives without a unit) claims nothing new — but the event a
            # window counts from still can be wrong ("七天无理由" said by her, "从付款那天开始算7天" by the agent).
            repeated = echoed.repeats(v) or self._mentioned(c, v, facts)
            # Every statement value of a comparable unit, in any fact, with how much the clause is about it.
            scored = [
                (self._topic_score(c, f, fc), f, fc, fv)
                for f in facts
                for fc in f.clauses
                for fv in fc.values
                if fv.comparable(v) and self._about(c, f) and not other_topic(c, fc)
            ]
            scored = [x for x in scored if x[0] >= 1]
            if not scored:
                continue
            best = max(x[0] for x in scored)
            owner = next(f for sc, f, _, _ in scored if sc == best)  # one fault, one fact: the first that fits best
            # A figure another fact gives a topic this clause is (nearly as much) about is not wrong — unless the
            # window is counted from another event ("从付款起7天" for "签收起7天").
            agreeing = [(sc, f, fc) for sc, f, fc, fv in scored if sc * 2 >= best and v.agrees(fv)]
            if repeated and not agreeing:
                continue
            if agreeing:
                # The figure says which fact the clause is about: the best-fitting one that gives it.
                top = max(sc for sc, _, _ in agreeing)
                _, home, fc = next(x for x in agreeing if x[0] == top)
                counted_from_elsewhere = c.anchors and fc.anchors and not c.anchors.keys() & fc.anchors.keys()
                if home.id == fact.id and v.unit in DURATIONS and counted_from_elsewhere:
                    return "、".join(c.anchors.values()), "、".join(fc.anchors.values()), "anchor"
                continue
            mine = [fv for sc, f, _, fv in scored if f.id == fact.id and sc == best]
            if owner.id != fact.id or not mine or (best < 2 and not keyword):
                continue
            return v.written, mine[0].written, "number"
        return None

    def _wrong_bare(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed: Echoes, keyword: bool
    ) -> tuple[str, str, str] | None:
        """A number without a unit (a shoe size, EU 42.5) where the fact gives one of the same magnitude."""
        expected = [float(n) for n, v in fact.typed if v is None and NUM.fullmatch(n)]
        if not expected or not c.bare:
            return None
        given = {x for f in facts for fc in f.clauses for x in fc.bare} | {
            fmt(x) for f in facts for fc in f.clauses for v in fc.values for x in written_numbers(v)
        }
        for number in sorted(c.bare - echoed.bare - given):
            x = float(number)
            near = [e for e in expected if e and 0.5 <= x / e <= 2]
            if not near or x in expected:
                continue
            home = [fc for fc in fact.clauses if any(fmt(e) in fc.bare for e in near)]
            if keyword or any(self._overlap(c, fact, fc) >= 2 for fc in home) or self._overlap(c, fact) >= 2:
                return number, fmt(near[0]), "number"
        return None

    def _mentioned(self, c: Clause, v: Value, facts: Sequence[Fact]) -> bool:
        """A single number that a fact clause on the same topic gives without a unit ("− 10 专属券" backs
        "10元专属券")."""
        if v.shape != "point":
            return False
        number = fmt(raw_number(v))
        return any(number in fc.bare and c.terms & fc.terms for f in facts for fc in f.clauses)

    def _wrong_size(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], echoed_sizes: set[str], keyword: bool
    ) -> tuple[str, str, str] | None:
        if not fact.sizes or not (keyword or c.size_context):
            return None
        said = c.sizes - echoed_sizes
        others = set().union(*(f.sizes for f in facts if f.id != fact.id))
        if said and not said & fact.sizes and not said & others:
            return sorted(said)[0].upper(), "/".join(sorted(s.upper() for s in fact.sizes)), "size"
        return None

    def _wrong_rating(self, c: Clause, fact: Fact) -> tuple[str, str, str] | None:
        for label, values in c.ratings.items():
            expected = set().union(*(fc.ratings.get(label, set()) for fc in fact.clauses))
            if expected and not values & expected:
                return f"{label.upper()}{fmt(min(values))}", f"{label.upper()}{fmt(min(expected))}", "rating"
        return None

    def _wrong_polarity(self, c: Clause, fact: Fact, facts: Sequence[Fact]) -> tuple[str, str, str] | None:
        for concept, marks in c.concepts.items():
            if marks != {"+"} and marks != {"-"}:
                continue
            mark = next(iter(marks))
            scoped = [
                (self._topic_score(c, f, fc), self._overlap(c, f, fc) - 2, f, fc.concepts[concept], fc.scope)
                for f in facts
                for fc in f.clauses
                if concept in fc.concepts and self._about(c, f) and (not c.scope or not fc.scope or c.scope & fc.scope)
            ]
            if not scoped:
                continue
            # Agreeing means a fact clause about (nearly) the same thing — its own wording, the shared concept aside —
            # says the same about everything the clause covers: "来回运费我们包" is not backed by "the shop pays the new
            # item's postage" when the buyer pays the return leg, "直播间的也能价保" not by "价保15天" when 直播间专属价
            # is excluded.
            near = max(x[1] for x in scoped)
            if any(
                mark in m and (not c.scope or not sc or c.scope <= sc) and same * 2 >= near
                for _, same, _, m, sc in scoped
            ):
                continue
            held = [(s, f, m) for s, _, f, m, _ in scoped]
            best = max(s for s, _, _ in held)
            owner = next(f for s, f, _ in held if s == best)
            if owner.id == fact.id and any(
                f.id == fact.id and s == best and ({"+", "-"} - {mark}) & m for s, f, m in held
            ):
                return c.raw, next(fc.raw for fc in fact.clauses if concept in fc.concepts), "polarity"
        return None

    def _wrong_entity(
        self, c: Clause, fact: Fact, facts: Sequence[Fact], on_topic: bool
    ) -> tuple[str, str, str] | None:
        if not (on_topic or self._overlap(c, fact) >= 1):
            return None
        for kind in self.words.entities:
            if kind.role != "attribute":
                continue
            mine = c.entities.get(kind.kind, set())
            theirs = fact.entities(kind.kind)
            if not mine or not theirs or mine & theirs:
                continue
            # Another fact on the same topic may name it (a scarf's silk next to a coat's wool).
            if any(mine & f.entities(kind.kind) and self._overlap(c, f) > self._overlap(c, fact) for f in facts):
                continue
            said = "、".join(c.surface[v] for v in sorted(mine))
            named = {v: fc.surface[v] for fc in fact.clauses for v in fc.surface if v in theirs}
            return said, "、".join(named[v] for v in sorted(named)), "entity"
        return None


# ---------------------------------------------------------------------------------------------------------------
# helpers
