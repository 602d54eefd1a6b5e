"""Builders the exam tests share: an engine on the shipped scenarios, exams and banks with a clock the test moves;
users; a trainee who answers and plays like the reference (or worse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from simulator.engine import Engine
from simulator.exam.attempts import ExamService
from simulator.exam.questions import QuestionKind
from simulator.exam.review import ExamReview
from simulator.session import fill_variables
from simulator.settings import Settings
from simulator.store.users import create_user, password_hasher

REPO = Path(__file__).resolve().parent.parent
QINGHE = "qinghe-newhire-cert"


class Clock:
    """A clock the test moves (the exam's deadlines follow it)."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class World:
    """An engine with a store, the exam service and review, three users."""

    engine: Engine
    exams: ExamService
    review: ExamReview
    clock: Clock
    trainee: int
    other: int
    owner: int


def make_world(tmp_path: Path, *, scenarios_dir: Path | None = None, url: str | None = None) -> World:
    """The shipped content, keyword-only grading (no embedder, no index: fast), a SQLite file (or ``url``)."""
    settings = Settings(
        data_dir=tmp_path / "data",
        scenarios_dir=scenarios_dir or REPO / "scenarios",
        knowledge_dir=REPO / "knowledge",
        embedder="fake",
        database_url=url,
    )
    clock = Clock()
    engine = Engine(settings, embeddings=False, knowledge_index=False, clock=clock)
    hasher = password_hasher(fast=True)
    with engine.store.write() as s:
        a = create_user(s, hasher, "xiaoman", "demo1234", display_name="小满").id
        b = create_user(s, hasher, "ajie", "demo1234", display_name="阿杰").id
        o = create_user(s, hasher, "zhou", "demo1234", role="exam-owner", display_name="周主管").id
    exams = ExamService(engine)
    return World(engine, exams, ExamReview(exams), clock, a, b, o)


def open_window(w: World, exam_id: str = QINGHE, *, user: int | None = None, hours: float = 4) -> int:
    """A window open from now for ``hours`` for the trainee."""
    return w.exams.schedule(
        w.owner,
        exam_id,
        opens_at=w.clock.now,
        closes_at=w.clock.now + timedelta(hours=hours),
        user_id=user if user is not None else w.trainee,
    )


def answer_written(w: World, attempt_id: int, *, right: bool = True, tab: str | None = None) -> None:
    """Answer every drawn question (rightly, or wrongly) and submit the part."""
    v = w.exams.view(attempt_id)
    part = v.current
    assert part is not None and part.kind == "written"
    for d in v.frozen.questions[part.id]:
        _, q = v.frozen.bank_questions[d.key]
        w.exams.save_answer(attempt_id, v.row.user_id, tab, d.key, correct(q) if right else wrong(q))
    w.exams.submit_part(attempt_id, v.row.user_id, tab)


def correct(q: Any) -> Any:
    if q.kind is QuestionKind.TRUE_FALSE:
        return q.answer
    if q.kind is QuestionKind.SHORT:
        return q.answer
    return q.right_letters


def wrong(q: Any) -> Any:
    if q.kind is QuestionKind.TRUE_FALSE:
        return not q.answer
    if q.kind is QuestionKind.SHORT:
        return "不知道"
    letters = [chr(65 + i) for i in range(len(q.options))]
    return [next(x for x in letters if x not in q.right_letters)]


def play_roleplays(
    w: World, attempt_id: int, *, side: str = "good", replies: list[str] | None = None, tab: str | None = None
) -> None:
    """Play every conversation of the current role-play part with the scenario's reference (or ``replies``), then
    submit the part."""
    user = w.exams.view(attempt_id).row.user_id
    while True:
        sid = w.exams.next_conversation(attempt_id, user, tab)
        if sid is None:
            break
        session = w.engine.conversation(sid)
        scenario = w.engine.scenario_of(session)
        assert scenario.references is not None
        lines = replies if replies is not None else getattr(scenario.references, side).replies
        for text in lines:
            if w.engine.conversation(sid).ended:
                break
            w.exams.check_conversation(attempt_id, user, tab, sid)
            w.clock.advance(seconds=15)
            w.engine.submit(sid, fill_variables(text, session.variables))
            w.engine.respond(sid)
        if not w.engine.conversation(sid).ended:
            w.engine.end(sid, abandon=False)
    w.exams.submit_part(attempt_id, user, tab)


def finish(w: World) -> None:
    """Let the background grading run (the engine's worker), then sweep."""
    w.engine._grading.submit(lambda: None).result(timeout=120)
    w.exams.sweep()
