"""The report card's view model, built from the stored session and its typed grade (no grading logic here).

The grader read ``session.transcript()``, whose turns are ``session.messages()`` in order; a finding's ``turn``
is an index into that list, so each finding is placed on its turn by the same list, never by re-counting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from statistics import mean
from typing import Any

from simulator.analytics.kpis import response_times
from simulator.grading.messages import criterion_title
from simulator.grading.reaction import MessageReaction, Reaction
from simulator.grading.result import DIMENSIONS, Finding, Grade, QuestionEvidence
from simulator.session import Session
from simulator.store.grades import GradeRecord
from simulator.store.sessions import SessionRecord
from simulator.turn import Speaker, Turn

DIMENSION_NAMES = tuple(d.value for d in DIMENSIONS)


QUOTE_CHARS = 80


@dataclass
class ShownFinding:
    """A finding as the report shows it: a title in the conversation's language, the trainee's words only where
    they are a part of the reply (the reply itself is right above), the source only where it adds something,
    a better reply only where it differs from what was said — and no internal ids."""

    finding: Finding
    title: str
    said: str = ""  # the whole reply the finding is about ("" for the whole conversation)

    @property
    def dimension(self) -> str:
        return self.finding.dimension.value

    @property
    def red_line(self) -> bool:
        return self.finding.red_line is not None

    @property
    def points(self) -> str:
        """Points lost, as "5" or "2.5" ("" for none)."""
        return f"{self.finding.points:g}" if self.finding.points else ""

    @property
    def message(self) -> str:
        """The message, without repeating the title: "缺少步骤：X" under the title "步骤 X" reads "缺少步骤"."""
        message = self.finding.message
        body = re.split(r"[ ：:]\s*", self.title, maxsplit=1)[-1].strip()
        if len(body) >= 4 and message.endswith(body):
            head = message[: -len(body)].rstrip("：: ")
            return head or message
        return message

    @property
    def quote(self) -> str:
        """The trainee's words that show the fault, when they are a part of the reply."""
        evidence = self.finding.evidence.strip()
        if not evidence or evidence == self.said.strip():
            return ""
        return evidence if len(evidence) <= QUOTE_CHARS else evidence[:QUOTE_CHARS] + "…"

    @property
    def passage(self) -> str:
        """The knowledge passage the finding rests on, if it rests on one."""
        source = self.finding.source
        return source.text if source is not None and source.kind == "passage" else ""

    @property
    def note(self) -> str:
        """The rule's own note, when it says more than the message (a lexicon note, in the lexicon's language)."""
        source = self.finding.source
        if source is None or source.kind not in ("rule", "scenario") or not source.text:
            return ""
        text = re.sub(r"\s*\([^)]*\.ya?ml\)$", "", source.text).strip()  # the lexicon's path is for trainers
        same_language = bool(re.search(r"[\u3400-\u9fff]", text)) == bool(re.search(r"[\u3400-\u9fff]", self.message))
        if not same_language or text in self.message or text in self.title or self.message in text:
            return ""
        if text == self.better:  # the better reply shows it already
            return ""
        return text

    @property
    def better(self) -> str:
        """A better reply, when it is not what was said already."""
        s = self.finding.suggestion
        text = s.text.strip() if s is not None else ""
        if not text or text in (self.said.strip(), self.finding.evidence.strip()) or text in self.title:
            return ""
        return text


@dataclass
class AnnotatedTurn:
    """A turn as the report shows it, with the findings about it."""

    turn: Turn
    at: datetime
    findings: list[ShownFinding] = field(default_factory=list)
    questions: list[QuestionEvidence] = field(default_factory=list)
    reaction: MessageReaction | None = None  # a customer message: what it showed of the customer's satisfaction


def level(satisfaction: float) -> str:
    """A satisfaction estimate (−2 … +2) as one of five bands for colour: bad, low, mid, good, great."""
    bands = ((-1.25, "bad"), (-0.25, "low"), (0.25, "mid"), (1.25, "good"))
    return next((name for bound, name in bands if satisfaction < bound), "great")


@dataclass
class ReactionPoint:
    """One customer message on the trajectory: its number among the customer's messages and its estimate."""

    number: int
    satisfaction: float
    cues: list[str]  # cue kinds

    @property
    def level(self) -> str:
        return level(self.satisfaction)

    @property
    def signed(self) -> str:
        """ "+1.2", "−0.5" or "0"."""
        v = round(self.satisfaction, 1)
        return "0" if v == 0 else (f"+{v:g}" if v > 0 else f"−{-v:g}")


@dataclass
class ReactionView:
    """The customer's reaction as the report shows it: how they left, the trend, each message on a track, and the
    messages whose words showed it (the evidence)."""

    reaction: Reaction
    share: float  # of the overall score
    criteria_overall: float | None
    lost: bool  # left angry or complaining after rude or curt service: not passed
    points: list[ReactionPoint]
    evidence: list[tuple[ReactionPoint, MessageReaction]]  # the messages whose words showed a cue

    @property
    def state(self) -> str:
        return self.reaction.state

    @property
    def trend(self) -> str:
        return self.reaction.trend

    @property
    def final(self) -> ReactionPoint:
        return ReactionPoint(0, self.reaction.satisfaction, [])

    @property
    def share_percent(self) -> str:
        return f"{self.share:.0%}"


def reaction_view(grade: Grade) -> ReactionView | None:
    """The reaction's view model, or None for a grade without one (stored before it was read)."""
    r = grade.reaction
    if r is None:
        return None
    points = [ReactionPoint(n, m.satisfaction, [c.kind for c in m.cues]) for n, m in enumerate(r.messages, 1)]
    evidence = [(p, m) for p, m in zip(points, r.messages, strict=True) if m.cues]
    return ReactionView(r, grade.reaction_weight, grade.criteria_overall, grade.lost_the_customer, points, evidence)


@dataclass
class ReportCard:
    """Everything the report page shows."""

    session: Session
    grade: Grade | None
    turns: list[AnnotatedTurn]
    general_findings: list[ShownFinding]
    red_lines: list[ShownFinding]
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
    reaction: ReactionView | None = None


def build_report(session: Session, grade: Grade | None, *, target_reply_seconds: float | None) -> ReportCard:
    """Assemble the report card of one session."""
    messages = session.messages()
    annotated = [AnnotatedTurn(t, session.time_of(t)) for t in session.turns]
    by_seq = {a.turn.seq: a for a in annotated}

    def place(index: int | None) -> AnnotatedTurn | None:
        return by_seq.get(messages[index].seq) if index is not None and 0 <= index < len(messages) else None

    general: list[ShownFinding] = []
    red_lines: list[ShownFinding] = []
    if grade is not None:
        locale = session.locale.value
        titles = {c.id: criterion_title(c.id, c.title, locale) for d in grade.dimensions.values() for c in d.criteria}

        def shown(f: Finding, target: AnnotatedTurn | None) -> ShownFinding:
            # A red line's id names it for trainers; the report calls it a red line and says what it is.
            cid = "red-line" if f.red_line is not None and f.criterion not in titles else f.criterion
            title = titles.get(cid) or criterion_title(cid, cid, locale)
            return ShownFinding(f, title, target.turn.text if target is not None else "")

        for f in grade.findings():
            target = place(f.turn)
            (target.findings if target is not None else general).append(shown(f, target))
        for f in grade.red_lines:
            target = place(f.turn)
            red_lines.append(shown(f, target))
            # On its turn a red line shows once: as the red-line deduction when that turn carries it.
            if target is not None and not any(x.finding.criterion == "red-line" for x in target.findings):
                target.findings.append(shown(f, target))
        for q in grade.questions:
            target = place(q.turn)
            if target is not None and q.passage_text:
                target.questions.append(q)
        for m in grade.reaction.messages if grade.reaction is not None else []:
            target = place(m.turn)
            if target is not None and m.cues:
                target.reaction = m

    agent = [t for t in messages if t.role is Speaker.AGENT]
    customer = [t for t in messages if t.role is Speaker.CUSTOMER]
    times = [t.response_seconds * 1000 for t in agent if t.response_seconds is not None]
    if not times:  # an imported real chat: times from the messages' clock
        times = [x * 1000 for x in response_times(session.transcript())]
    scores: dict[str, float | None] = {d: None for d in DIMENSION_NAMES}
    ratio = None
    if grade is not None:
        scores = {d.value: s.score for d, s in grade.dimensions.items()}
        ratio = grade.metrics.get("reply_ratio")
    if ratio is None and customer:
        ratio = round(len(agent) / len(customer), 2)
    return ReportCard(
        session=session,
        grade=grade,
        turns=annotated,
        general_findings=general,
        red_lines=red_lines,
        scores=scores,
        overall=grade.overall if grade is not None else None,
        passed=grade.passed if grade is not None else None,
        pass_mark=grade.pass_mark if grade is not None else None,
        avg_response_ms=round(mean(times)) if times else None,
        first_response_ms=times[0] if times else None,
        slowest_response_ms=max(times) if times else None,
        target_reply_seconds=target_reply_seconds,
        reply_ratio=ratio,
        agent_messages=len(agent),
        customer_messages=len(customer),
        reaction=reaction_view(grade) if grade is not None else None,
    )


def radar_data(card: ReportCard, labels: dict[str, str]) -> dict[str, Any]:
    """The ECharts radar option's data (the page's script builds the chart from it)."""
    return {
        "indicators": [{"name": labels[d], "max": 100} for d in DIMENSION_NAMES],
        "values": [card.scores[d] if card.scores[d] is not None else 0 for d in DIMENSION_NAMES],
        "unscored": [d for d in DIMENSION_NAMES if card.scores[d] is None],
    }


def progress_data(attempts: list[tuple[SessionRecord, GradeRecord | None]]) -> dict[str, Any]:
    """Overall score per graded attempt, oldest first (the history line chart)."""
    graded = [(r, g) for r, g in reversed(attempts) if g is not None and g.overall is not None]
    return {
        "labels": [r.started_at.strftime("%m-%d %H:%M") for r, _ in graded],
        "values": [g.overall for _, g in graded],
    }
