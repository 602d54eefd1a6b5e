"""The grader: runs every dimension's scorer and the red lines over a transcript and returns a :class:`Grade`.

Offline by default (lexicon rules + act detector + optional embedder and knowledge base). With a judge
(:class:`~simulator.grading.judge.LLMJudge`) the soft criteria are also asked of an LLM and combined with the
rules. Deterministic: the same transcript, scenario and knowledge give the same grade.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Protocol

from simulator.acts import ActDetector
from simulator.embedding.base import Embedder
from simulator.facts import FactChecker
from simulator.factwords import fact_words_for
from simulator.grading.calibration import Profile, load_profile
from simulator.grading.context import GradingContext
from simulator.grading.knowledge import KnowledgeScorer
from simulator.grading.lexicon import Lexicon, LexiconRedLine, lexicon_for
from simulator.grading.precedence import one_per_fault
from simulator.grading.process import ProcessScorer
from simulator.grading.reaction import REAL_CHAT_SHARE, SCENARIO_SHARE, ReactionReader, reaction_reader_for
from simulator.grading.redlines import red_line_findings
from simulator.grading.result import DIMENSIONS, CriterionResult, DimensionScore, Finding, Grade, Source, deduct
from simulator.grading.scorer import Scorer
from simulator.grading.service import ServiceScorer, metrics
from simulator.grading.technique import TechniqueScorer
from simulator.knowledge.passage import Retriever
from simulator.scenario.expectations import Weights
from simulator.scenario.model import Scenario
from simulator.scenario.vocabulary import Dimension, Outcome
from simulator.settings import Settings
from simulator.text import count_cjk
from simulator.transcript import Transcript

RED_LINE_POINTS = 20.0


class Judge(Protocol):
    """Reviews the rule results of the soft criteria (an LLM judge in practice)."""

    name: str

    def review(self, ctx: GradingContext, results: list[CriterionResult]) -> None:
        """Update soft criteria in place (verdict, reason, decided_by); failures make them unscored."""
        ...


class Grader:
    """Grades transcripts against an optional scenario.

    Args:
        settings: Where the lexicons are (``rules_dir``) and the practice pass mark.
        retriever: Knowledge search for per-question passages, contradiction checks and 话术 suggestions.
        embedder: For comparing meaning (required facts stated in other words, script fit).
        detector: Act detector shared with the customer engine; one is built from ``embedder`` if omitted.
        judge: Optional LLM judge for the soft criteria.
        pass_mark: Overrides ``settings.pass_mark`` (an exam passes its own, e.g. 85).
        calibration: A shop's calibration profile that remaps the scores (default: the one ``settings.calibration``
            names, if any); ``False`` = none, whatever the settings say (what ``simulator calibrate`` fits on).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        retriever: Retriever | None = None,
        embedder: Embedder | None = None,
        detector: ActDetector | None = None,
        judge: Judge | None = None,
        pass_mark: float | None = None,
        rules_dir: Path | None = None,
        calibration: Profile | bool | None = None,
    ):
        self.settings = settings or Settings()
        self.rules_dir = rules_dir or self.settings.rules_dir
        self.retriever = retriever
        self.embedder = embedder
        self.detector = detector or ActDetector(embedder, facts=FactChecker(fact_words_for(self.rules_dir)))
        self.judge = judge
        self.pass_mark = self.settings.pass_mark if pass_mark is None else pass_mark
        if calibration is None and self.settings.calibration is not None:
            calibration = load_profile(self.settings.calibration)
        self.calibration: Profile | None = calibration if isinstance(calibration, Profile) else None
        self._lexicons: dict[str, Lexicon] = {}
        self.reactions: ReactionReader = reaction_reader_for(self.rules_dir)
        self._references: dict[str, tuple[tuple[str, str], ...]] = {}
        self.scorers: list[Scorer] = [
            ServiceScorer(),
            TechniqueScorer(),
            KnowledgeScorer(self.detector),
            ProcessScorer(),
        ]

    @cached_property
    def version(self) -> str:
        """Stored with each grade: the package version, the judge if any, and a digest of the rule lexicons."""
        try:
            pkg = package_version("cs-simulator")
        except PackageNotFoundError:
            pkg = "dev"
        digest = hashlib.sha256()
        files = sorted(self.rules_dir.glob("*.yaml")) if self.rules_dir.is_dir() else []
        for f in files:
            digest.update(f.read_bytes())
        judge = f"+{self.judge.name}" if self.judge is not None else ""
        calibrated = f"+cal{self.calibration.digest}" if self.calibration is not None else ""
        return f"offline-{pkg}+{digest.hexdigest()[:8]}{calibrated}{judge}"[:40]

    @property
    def calibration_profile(self) -> str | None:
        """The calibration profile in use (its source, date and digest), recorded with exam attempts."""
        return self.calibration.name[:80] if self.calibration is not None else None

    @property
    def calibration_version(self) -> str | None:
        """The profile format version and the digest of its weights, recorded with exam attempts."""
        return f"v{self.calibration.version}#{self.calibration.digest}" if self.calibration is not None else None

    def lexicon(self, locale: str) -> Lexicon:
        """The (cached) lexicon for a locale."""
        key = "en" if locale.lower().startswith("en") else "zh-CN"
        if key not in self._lexicons:
            self._lexicons[key] = lexicon_for(self.rules_dir, key)
        return self._lexicons[key]

    def context(
        self, transcript: Transcript, scenario: Scenario | None = None, variables: Mapping[str, str] | None = None
    ) -> GradingContext:
        """The shared context the scorers read."""
        locale = scenario.locale.value if scenario else _guess_locale(transcript)
        vars_ = scenario.variable_values(dict(variables or {})) if scenario else {}
        return GradingContext(
            transcript=transcript,
            lexicon=self.lexicon(locale),
            scenario=scenario,
            retriever=self.retriever,
            embedder=self.embedder,
            acts=self.detector,
            variables=vars_,
            reference_pairs=self.reference_pairs(scenario) if scenario else (),
        )

    def reference_pairs(self, scenario: Scenario) -> tuple[tuple[str, str], ...]:
        """(customer message, reply) pairs of the scenario's good reference trainee, played through the scripted
        customer once per scenario file content and kept: the better replies are chosen from them."""
        if scenario.references is None:
            return ()
        key = scenario.model_dump_json()
        if key not in self._references:
            from simulator.customer.scripted import ScriptedCustomer
            from simulator.session import play_reference

            session = play_reference(scenario, scenario.references.good, ScriptedCustomer(scenario, self.detector))
            pairs: list[tuple[str, str]] = []
            said = ""
            for t in session.messages():
                if t.role == "customer":
                    said = t.text
                elif said:
                    pairs.append((said, t.text))
            if len(self._references) > 256:
                self._references.clear()
            self._references[key] = tuple(pairs)
        return self._references[key]

    def grade(
        self, transcript: Transcript, scenario: Scenario | None = None, variables: Mapping[str, str] | None = None
    ) -> Grade:
        """Grade one transcript.

        Args:
            transcript: The conversation.
            scenario: The scenario it followed; None applies the generic criteria (knowledge against the
                knowledge base alone).
            variables: Variable values the session used (exam draws); defaults from the scenario.
        """
        ctx = self.context(transcript, scenario, variables)
        results: list[CriterionResult] = []
        for scorer in self.scorers:
            results.extend(scorer.score(ctx))
        if self.judge is not None:
            self.judge.review(ctx, results)
        red = red_line_findings(ctx)
        red += [f for c in results for f in c.findings if f.red_line and f not in red]
        kinds = {r.id: r.rule.kind for r in ctx.lexicon.red_lines if isinstance(r.rule, LexiconRedLine)}
        results, red = one_per_fault(results, red, scenario, [t.text for t in transcript.turns], kinds)
        results.extend(self._red_line_criteria(ctx, red))
        weights = scenario.expectations.weights if scenario else Weights()
        dims = {
            d: DimensionScore(d, [c for c in results if c.dimension is d], float(getattr(weights, d.value)))
            for d in DIMENSIONS
        }
        notes = [
            Finding(
                Dimension.SERVICE,
                "prompt-injection",
                0.0,
                ctx.say("injection.ignored"),
                turn=i,
                evidence=transcript.turns[i].text[lo:hi],
                span=(lo, hi),
                source=Source("rule", "prompt-injection", "instructions to the grader are ignored"),
            )
            for i, spans in ctx.injections.items()
            for lo, hi in spans
        ]
        grade = Grade(
            unscored_reason=_too_little(ctx),
            transcript_id=transcript.id,
            scenario_id=scenario.id if scenario else transcript.scenario,
            dimensions=dims,
            pass_mark=self.pass_mark,
            red_lines=red,
            notes=notes,
            questions=[ev for ev, _ in ctx.question_passages()],
            metrics=metrics(ctx),
            judge=self.judge.name if self.judge is not None else None,
            reaction=self.reactions.read(transcript),
            # Without a scenario the customer's reaction is half the evidence of service; with one, the scenario's
            # criteria carry the substance and the reaction only nudges.
            reaction_weight=SCENARIO_SHARE if scenario is not None else REAL_CHAT_SHARE,
        )
        if grade.lost_the_customer:
            grade.notes.append(_lost_customer_note(ctx, grade))
        if ctx.transcript.outcome == Outcome.ABANDONED.value and grade.unscored_reason is None:
            grade.given_up = True
            grade.notes.append(
                Finding(Dimension.SERVICE, "given-up", 0.0, ctx.say("given-up"), source=Source("rule", "given-up", ""))
            )
        return self.calibration.apply(grade) if self.calibration is not None else grade

    @staticmethod
    def _red_line_criteria(ctx: GradingContext, red: list[Finding]) -> list[CriterionResult]:
        """A failed 'red-line' criterion in each dimension where a red line was crossed."""
        out = []
        for d in DIMENSIONS:
            crossed = [f for f in red if f.dimension is d and f.points == 0]
            if crossed:
                marker = Finding(
                    d,
                    "red-line",
                    RED_LINE_POINTS,
                    # What was crossed, in words (each red line's own message), never its id.
                    ctx.say("list.sep").join(dict.fromkeys(f.message for f in crossed)),
                    turn=crossed[0].turn,
                    evidence=crossed[0].evidence,
                    span=crossed[0].span,
                    source=crossed[0].source,
                    suggestion=crossed[0].suggestion,
                )
                out.append(deduct(d, "red-line", "红线 red lines", RED_LINE_POINTS, [marker]))
        return out


MIN_REPLIES_WHEN_ABANDONED = 2


def _lost_customer_note(ctx: GradingContext, grade: Grade) -> Finding:
    """Why the attempt cannot pass: the customer left unhappy after rude or curt replies (the first one quoted)."""
    first = min(grade.rude_or_curt, key=lambda f: f.turn if f.turn is not None else 10**6)
    return Finding(
        Dimension.SERVICE,
        "lost-the-customer",
        0.0,
        ctx.say("reaction.lost"),
        turn=first.turn,
        evidence=first.evidence,
        span=first.span,
        source=Source("rule", "lost-the-customer", "a customer driven away by rude or curt service fails the attempt"),
    )


def _too_little(ctx: GradingContext) -> str | None:
    """Why the whole conversation cannot be graded, if it cannot: given up after fewer than two replies is too
    little to judge anyone on (an exam fails such an attempt; practice leaves it unscored)."""
    replies = len(ctx.agent_indices())
    if ctx.transcript.outcome == Outcome.ABANDONED.value and replies < MIN_REPLIES_WHEN_ABANDONED:
        return ctx.say("unscored.abandoned", replies=replies)
    return None


def _guess_locale(transcript: Transcript) -> str:
    text = "".join(t.text for t in transcript.turns)[:2000]
    cjk = count_cjk(text)
    return "zh-CN" if cjk * 5 >= len(text.replace(" ", "")) or cjk > 20 else "en"
