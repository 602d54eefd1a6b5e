"""The report card's content, computed from the stored session, turns and grade (no grading logic here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from simulator.store.models import Grade, PracticeSession, Turn, TurnKind, TurnRole

DIMENSIONS = ("service", "technique", "knowledge", "process")


@dataclass
class AnnotatedTurn:
    """A turn as the report shows it, with the findings about it."""

    turn: Turn
    index: int | None  # index in the grader's transcript (chat messages only)
    findings: list[dict[str, Any]] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ReportCard:
    """Everything the report page shows."""

    row: PracticeSession
    grade: Grade | None
    turns: list[AnnotatedTurn]
    general_findings: list[dict[str, Any]]
    red_lines: list[dict[str, Any]]
    scores: dict[str, float | None]
    overall: float | None
    passed: bool | None
    pass_mark: float | None
    avg_response_ms: float | None
    first_response_ms: float | None
    slowest_response_ms: float | None
    target_reply_seconds: float | None
    reply_ratio: float | None  # 答问比: trainee messages per customer message
    agent_messages: int
    customer_messages: int


def build_report(
    row: PracticeSession, turns: list[Turn], grade: Grade | None, *, target_reply_seconds: float | None
) -> ReportCard:
    """Assemble the report card of one session."""
    detail: dict[str, Any] = grade.detail if grade is not None else {}
    findings = list(grade.findings) if grade is not None else []
    questions = detail.get("questions") or []
    annotated: list[AnnotatedTurn] = []
    index = 0
    for t in turns:
        is_message = t.kind == TurnKind.MESSAGE.value and t.role in (TurnRole.AGENT.value, TurnRole.CUSTOMER.value)
        annotated.append(AnnotatedTurn(t, index if is_message else None))
        if is_message:
            index += 1
    by_index = {a.index: a for a in annotated if a.index is not None}
    general: list[dict[str, Any]] = []
    red_lines: list[dict[str, Any]] = []
    for f in findings:
        if f.get("red_line"):
            red_lines.append(f)
        turn = f.get("turn")
        target = by_index.get(turn) if isinstance(turn, int) else None
        if target is not None:
            if f not in target.findings:
                target.findings.append(f)
        elif not f.get("red_line"):
            general.append(f)
    for q in questions:
        turn = q.get("turn")
        target = by_index.get(turn) if isinstance(turn, int) else None
        if target is not None and q.get("passage_text"):
            target.questions.append(q)

    agent = [t for t in turns if t.role == TurnRole.AGENT.value and t.kind == TurnKind.MESSAGE.value]
    customer = [t for t in turns if t.role == TurnRole.CUSTOMER.value and t.kind == TurnKind.MESSAGE.value]
    times = [t.response_ms for t in agent if t.response_ms is not None]
    scores: dict[str, float | None] = {d: None for d in DIMENSIONS}
    if grade is not None:
        scores = {d: getattr(grade, d) for d in DIMENSIONS}
    metrics = detail.get("metrics") or {}
    ratio = metrics.get("reply_ratio")
    if ratio is None and customer:
        ratio = round(len(agent) / len(customer), 2)
    return ReportCard(
        row=row,
        grade=grade,
        turns=annotated,
        general_findings=general,
        red_lines=red_lines,
        scores=scores,
        overall=grade.overall if grade is not None else None,
        passed=detail.get("passed"),
        pass_mark=detail.get("pass_mark"),
        avg_response_ms=round(mean(times)) if times else None,
        first_response_ms=times[0] if times else None,
        slowest_response_ms=max(times) if times else None,
        target_reply_seconds=target_reply_seconds,
        reply_ratio=ratio,
        agent_messages=len(agent),
        customer_messages=len(customer),
    )


def radar_data(card: ReportCard, labels: dict[str, str]) -> dict[str, Any]:
    """The ECharts radar option's data (the page's script builds the chart from it)."""
    return {
        "indicators": [{"name": labels[d], "max": 100} for d in DIMENSIONS],
        "values": [card.scores[d] if card.scores[d] is not None else 0 for d in DIMENSIONS],
        "unscored": [d for d in DIMENSIONS if card.scores[d] is None],
    }


def progress_data(attempts: list[tuple[PracticeSession, Grade | None]]) -> dict[str, Any]:
    """Overall score per graded attempt, oldest first (the history line chart)."""
    graded = [(r, g) for r, g in reversed(attempts) if g is not None and g.overall is not None]
    return {
        "labels": [r.started_at.strftime("%m-%d %H:%M") for r, _ in graded],
        "values": [g.overall for _, g in graded],
    }
