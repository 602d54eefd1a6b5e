"""Grading: four dimensions (service, technique, knowledge, process) plus red lines, with evidence for every
deduction, a better reply for each weak turn, and *unscored* (never 0) for what cannot be decided."""

from simulator.grading.grader import Grader, Judge
from simulator.grading.judge import LLMJudge
from simulator.grading.lexicon import Lexicon, load_lexicon
from simulator.grading.result import CriterionResult, DimensionScore, Finding, Grade, QuestionEvidence
from simulator.grading.scorer import Scorer

__all__ = [
    "CriterionResult",
    "DimensionScore",
    "Finding",
    "Grade",
    "Grader",
    "Judge",
    "LLMJudge",
    "Lexicon",
    "QuestionEvidence",
    "Scorer",
    "load_lexicon",
]
