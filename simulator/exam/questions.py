"""Question banks for the written knowledge test: the file model, drawing by quota with a stored seed, grading.

A bank is a YAML file next to the knowledge it tests (``knowledge/qinghe/questions/newhire.yaml``). Each question
is single choice, multiple choice, true/false or a short answer; it carries its knowledge tier (必会/掌握/了解), a
topic and the knowledge document that backs it. Short answers are graded by the grader's knowledge checker
(:class:`~simulator.grading.knowledge.KnowledgeScorer`): the answer must state each required fact — any wording,
exact numbers, a wrong number is an error — exactly as a trainee's reply in a role-play is judged.
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, Field, model_validator

from simulator.scenario.base import Authored, Id
from simulator.scenario.expectations import RequiredFact
from simulator.scenario.vocabulary import Locale, Tier

if TYPE_CHECKING:
    from simulator.acts import ActDetector
    from simulator.embedding.base import Embedder
    from simulator.exam.definition import QuestionDraw
    from simulator.grading.lexicon import Lexicon
    from simulator.scenario.model import Scenario

LETTERS = string.ascii_uppercase


class QuestionKind(StrEnum):
    """How a question is answered."""

    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true-false"
    SHORT = "short"


class Question(Authored):
    """One question of a bank."""

    id: Id = Field(description="Unique within the bank; stored with every attempt that drew it.")
    kind: QuestionKind = Field(description="single, multiple, true-false or short (a written answer).")
    tier: Tier = Field(description="Knowledge tier: 必会, 掌握 or 了解 (exams draw by tier quota).")
    topic: str = Field(min_length=1, max_length=40, description="Topic label for quotas and reports, e.g. 退换货.")
    prompt: str = Field(min_length=1, max_length=1000, description="The question as the trainee reads it.")
    options: list[str] = Field(
        default_factory=list, max_length=8, description="single/multiple: the options, shown as A, B, C …"
    )
    answer: bool | str | list[str] | None = Field(
        default=None,
        description="single: the right option's letter (B); multiple: every right letter ([A, C]); true-false: "
        "true or false; short: a model answer shown after the window closes.",
    )
    facts: list[RequiredFact] = Field(
        default_factory=list,
        description="short: the facts a correct answer states (keywords, exact numbers), graded like a reply.",
    )
    source: str = Field(min_length=1, description="Knowledge document that backs the answer (checked).")
    explanation: str = Field(
        default="", max_length=1000, description="Why the answer is right; shown after the window closes."
    )
    points: float = Field(default=5, gt=0, le=100, description="What the question is worth.")
    critical: bool = Field(
        default=False,
        description="A red-line question (好评返现, authority): a wrong answer fails the exam whatever the score.",
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Question:
        letters = LETTERS[: len(self.options)]
        if self.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            if len(self.options) < 2:
                raise ValueError(f"a '{self.kind.value}' question needs at least two options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("two options are the same")
            right = [self.answer] if isinstance(self.answer, str) else self.answer
            if not isinstance(right, list) or not right:
                raise ValueError(f"a '{self.kind.value}' question needs 'answer': the right option letter(s)")
            bad = [r for r in right if str(r).upper() not in letters]
            if bad:
                raise ValueError(f"answer {bad[0]!r} is not an option letter — use {', '.join(letters)}")
            if self.kind is QuestionKind.SINGLE and len(right) != 1:
                raise ValueError("a 'single' question has exactly one right option — use kind: multiple for more")
            self.answer = (
                [str(r).upper() for r in right] if self.kind is QuestionKind.MULTIPLE else str(right[0]).upper()
            )
        elif self.kind is QuestionKind.TRUE_FALSE:
            if not isinstance(self.answer, bool):
                raise ValueError("a 'true-false' question needs 'answer: true' or 'answer: false'")
            if self.options:
                raise ValueError("a 'true-false' question has no options")
        else:
            if not self.facts:
                raise ValueError("a 'short' question needs 'facts': what a correct answer states")
            if self.options:
                raise ValueError("a 'short' question has no options")
            if self.answer is not None and not isinstance(self.answer, str):
                raise ValueError("a 'short' question's answer is the model answer, as text")
        return self

    @property
    def right_letters(self) -> list[str]:
        """The right option letters of a choice question."""
        if isinstance(self.answer, str):
            return [self.answer]
        return list(self.answer) if isinstance(self.answer, list) else []

    @property
    def max_points(self) -> float:
        """Points for a fully right answer."""
        return self.points


class QuestionBank(Authored):
    """A bank of questions for the written knowledge test, stored next to the knowledge it tests."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        json_schema_extra={"title": "Written-test question bank"},
    )

    id: Id = Field(description="Unique across banks; exams name it in draw.banks.")
    title: str = Field(min_length=1, max_length=120, description="What the bank covers.")
    locale: Locale = Field(description="Language of the questions: zh-CN or en.")
    shop: str = Field(default="", max_length=80, description="Which shop's knowledge it tests (e.g. qinghe).")
    questions: list[Question] = Field(min_length=1, description="The questions.")

    def question(self, qid: str) -> Question:
        """The question with this id."""
        return next(q for q in self.questions if q.id == qid)


def internal_problems(bank: QuestionBank) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems inside one bank: duplicate ids (questions, facts)."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    seen: set[str] = set()
    for i, q in enumerate(bank.questions):
        if q.id in seen:
            out.append((("questions", i, "id"), f"duplicate question id '{q.id}' — give each a unique id"))
        seen.add(q.id)
        fact_ids = [f.id for f in q.facts]
        if len(set(fact_ids)) != len(fact_ids):
            out.append((("questions", i, "facts"), "duplicate fact id — give each fact a unique id"))
    return out


# ---------------------------------------------------------------------------------------------------------
# Drawing


class DrawError(Exception):
    """The banks cannot satisfy the draw (too few questions for a quota)."""


@dataclass(frozen=True)
class DrawnQuestion:
    """A question as one attempt shows it: which question, and the order of its options."""

    bank: str
    id: str
    order: tuple[int, ...] = ()  # original option indexes in the order shown

    @property
    def key(self) -> str:
        """``bank/question`` — unique within an attempt."""
        return f"{self.bank}/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the attempt)."""
        return {"bank": self.bank, "id": self.id, "order": list(self.order)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DrawnQuestion:
        """The inverse of :meth:`to_dict`."""
        return cls(str(data["bank"]), str(data["id"]), tuple(int(i) for i in data.get("order", ())))


def draw_questions(banks: Mapping[str, QuestionBank], draw: QuestionDraw, seed: int) -> list[DrawnQuestion]:
    """Draw ``draw.count`` questions by quota: first the least share of each tier and the least count of each
    topic, then the rest from the whole pool — every choice by ``seed``, so the same seed draws the same test.

    Raises:
        DrawError: a quota asks for more questions than the banks hold.
    """
    rng = random.Random(f"questions:{seed}")
    pool: list[tuple[str, Question]] = []
    for bid in draw.banks:
        if bid not in banks:
            raise DrawError(f"no question bank '{bid}'")
        pool += [(bid, q) for q in banks[bid].questions]
    if len(pool) < draw.count:
        raise DrawError(f"the banks hold {len(pool)} questions; the exam draws {draw.count}")
    pool.sort(key=lambda bq: (bq[0], bq[1].id))
    chosen: dict[str, tuple[str, Question]] = {}

    def take(candidates: list[tuple[str, Question]], n: int, what: str) -> None:
        free = [c for c in candidates if f"{c[0]}/{c[1].id}" not in chosen]
        if len(free) < n:
            raise DrawError(f"{what} needs {n} questions; the banks have {len(free)} more")
        for bid, q in rng.sample(free, n):
            chosen[f"{bid}/{q.id}"] = (bid, q)

    for tier, share in sorted(draw.tiers.items(), key=lambda kv: kv[0].value):
        n = round(share * draw.count + 1e-9)
        have = sum(1 for _, q in chosen.values() if q.tier is tier)
        take([c for c in pool if c[1].tier is tier], max(0, n - have), f"the {tier.value} quota")
    for topic, n in sorted(draw.topics.items()):
        have = sum(1 for _, q in chosen.values() if q.topic == topic)
        take([c for c in pool if c[1].topic == topic], max(0, n - have), f"the quota of topic '{topic}'")
    if len(chosen) > draw.count:
        raise DrawError(f"the quotas need {len(chosen)} questions; the exam draws {draw.count}")
    take(pool, draw.count - len(chosen), "the draw")
    picked = list(chosen.values())
    rng.shuffle(picked)
    out = []
    for bid, q in picked:
        order = list(range(len(q.options)))
        if draw.shuffle_options and q.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            rng.shuffle(order)
        out.append(DrawnQuestion(bid, q.id, tuple(order)))
    return out


def shown_options(question: Question, drawn: DrawnQuestion) -> list[tuple[str, str, str]]:
    """The options as the attempt shows them: (shown letter, original letter, text)."""
    order = drawn.order or tuple(range(len(question.options)))
    return [(LETTERS[i], LETTERS[o], question.options[o]) for i, o in enumerate(order)]


# ---------------------------------------------------------------------------------------------------------
# Grading


@dataclass
class AnswerResult:
    """How one answer scored. ``correct`` is None for a partly right short answer."""

    earned: float
    points: float
    correct: bool | None
    missing: list[str] = field(default_factory=list)  # short answers: statements of the facts not stated
    wrong: list[str] = field(default_factory=list)  # short answers: what was said wrong

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the answer)."""
        return {
            "earned": round(self.earned, 2),
            "points": self.points,
            "correct": self.correct,
            "missing": self.missing,
            "wrong": self.wrong,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerResult:
        """The inverse of :meth:`to_dict`."""
        return cls(
            float(data["earned"]),
            float(data["points"]),
            data.get("correct"),
            list(data.get("missing", [])),
            list(data.get("wrong", [])),
        )


def normalise_answer(question: Question, raw: Any) -> Any:
    """An answer as stored: option letters (original, sorted) for choices, a bool for true/false, text for short
    answers; None for no answer. Raises ``ValueError`` for an answer that cannot be one."""
    if raw is None or raw == "" or raw == []:
        return None
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        letters = [raw] if isinstance(raw, str) else list(raw)
        valid = set(LETTERS[: len(question.options)])
        clean = sorted({str(x).upper() for x in letters})
        if any(x not in valid for x in clean):
            raise ValueError("not an option of this question")
        if question.kind is QuestionKind.SINGLE and len(clean) != 1:
            raise ValueError("choose one option")
        return clean
    if question.kind is QuestionKind.TRUE_FALSE:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "1", "yes"):
            return True
        if str(raw).lower() in ("false", "0", "no"):
            return False
        raise ValueError("answer true or false")
    text = str(raw).replace("\x00", "").strip()
    return text or None


def grade_choice(question: Question, answer: Any) -> AnswerResult:
    """Single, multiple and true/false: all or nothing (a multiple choice needs exactly the right set)."""
    if question.kind is QuestionKind.TRUE_FALSE:
        right = answer is not None and answer == question.answer
    else:
        right = answer is not None and sorted(answer) == sorted(question.right_letters)
    return AnswerResult(question.points if right else 0.0, question.points, right)


class ShortAnswerChecker:
    """Grades short answers with the grader's knowledge checker: the answer is the agent's reply to the question,
    each required fact a scenario fact (keywords or meaning, exact numbers, a wrong number is an error).

    Args:
        detector: The act detector (its ``wrong_facts`` finds a fact stated with another number).
        embedder: For stating a fact in other words (None: keywords and character overlap).
        lexicons: Locale → the service-rule lexicon (claims, units).
    """

    def __init__(self, detector: ActDetector, embedder: Embedder | None, lexicons: Mapping[str, Lexicon]):
        self.detector = detector
        self.embedder = embedder
        self.lexicons = dict(lexicons)
        self._scenarios: dict[tuple[str, str], Scenario] = {}

    def grade(self, bank: QuestionBank, question: Question, answer: str | None) -> AnswerResult:
        """Score a short answer: the share of the facts' points it states correctly."""
        from simulator.grading.context import GradingContext
        from simulator.grading.knowledge import KnowledgeScorer
        from simulator.transcript import Transcript
        from simulator.turn import Turn

        total = sum(f.points for f in question.facts)
        if not answer:
            return AnswerResult(0.0, question.points, False, [f.statement for f in question.facts])
        scenario = self._scenario(bank, question)
        transcript = Transcript(
            id=f"question:{bank.id}/{question.id}",
            turns=[Turn(role="customer", text=question.prompt), Turn(role="agent", text=answer)],
            scenario=scenario.id,
            complete=True,
        )
        lexicon = self.lexicons[bank.locale.value if bank.locale.value in self.lexicons else "zh-CN"]
        ctx = GradingContext(
            transcript=transcript, lexicon=lexicon, scenario=scenario, embedder=self.embedder, acts=self.detector
        )
        results = {c.id: c for c in KnowledgeScorer(self.detector).score(ctx)}
        earned = 0.0
        missing: list[str] = []
        wrong: list[str] = []
        for f in question.facts:
            c = results.get(f.id)
            got = (c.earned or 0.0) if c is not None and c.scored else 0.0
            earned += max(0.0, min(f.points, got))
            if c is not None:
                for finding in c.findings:
                    (wrong if finding.evidence else missing).append(finding.evidence or f.statement)
        share = earned / total if total > 0 else 0.0
        points = round(question.points * share, 2)
        correct = True if share >= 1 - 1e-9 else (False if share <= 1e-9 else None)
        return AnswerResult(points, question.points, correct, missing, wrong)

    def _scenario(self, bank: QuestionBank, question: Question) -> Scenario:
        """The question as a minimal scenario whose only expectations are its facts (what the checker reads)."""
        from simulator.scenario.model import Scenario

        key = (bank.id, question.id)
        if key not in self._scenarios:
            self._scenarios[key] = Scenario.model_validate(
                {
                    "id": f"question-{question.id}"[:80],
                    "title": question.prompt[:100],
                    "locale": bank.locale.value,
                    "shop": bank.shop,
                    "category": "pre-sales",
                    "script_categories": ["product"],
                    "difficulty": "easy",
                    "persona": {"name": "exam", "age_group": "25-34", "traits": ["exam"], "speaking_style": "exam"},
                    "goal": {"description": "exam question", "success": ["informed"]},
                    "opening": [question.prompt[:1000]],
                    "beats": [{"id": "answered", "when": {"keywords": ["ok"]}, "say": ["ok"], "outcome": "informed"}],
                    "expectations": {"facts": [f.model_dump() for f in question.facts]},
                }
            )
        return self._scenarios[key]


def grade_answer(
    bank: QuestionBank, question: Question, answer: Any, checker: ShortAnswerChecker | None
) -> AnswerResult:
    """Score one stored answer (see :func:`normalise_answer`)."""
    if question.kind is QuestionKind.SHORT:
        if checker is None:
            raise ValueError("short answers need a ShortAnswerChecker")
        return checker.grade(bank, question, answer)
    return grade_choice(question, answer)


def written_score(results: Sequence[AnswerResult]) -> float | None:
    """0–100 over the drawn questions (an unanswered question counts 0); None when nothing was drawn."""
    possible = sum(r.points for r in results)
    if possible <= 0:
        return None
    return round(100.0 * sum(r.earned for r in results) / possible, 1)
