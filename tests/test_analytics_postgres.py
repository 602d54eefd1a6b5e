"""The 质培联动 tables and queries on a real PostgreSQL server (conftest.py starts one): an import and its QA job,
two workers claiming jobs at once, the analytics facts, classification, the dashboard, a plan with its retests,
the export. Slow: ``pytest -m slow``."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import pytest
from fakes import FakeCustomer, FakeGrader, write_scenarios

from simulator.analytics import dashboard as figures
from simulator.analytics import export
from simulator.analytics.importer import ImportOptions, import_chats, read_sources
from simulator.analytics.jobs import QaRunner
from simulator.analytics.plans import PlanRequest, create_plan, progress
from simulator.analytics.problems import ProblemType, classify
from simulator.analytics.scope import Filters
from simulator.engine import Engine
from simulator.settings import Settings
from simulator.store.facts import CriterionFact, ScoreFact
from simulator.store.grades import GradeRecord
from simulator.store.jobs import claim_job
from simulator.store.users import create_user, get_user_by_name, password_hasher

pytestmark = pytest.mark.slow
HASHER = password_hasher(fast=True)
TZ = "Asia/Shanghai"


def _csv(n: int, day: date) -> bytes:
    rows = ["会话ID,时间,发送方,客服,内容,满意度"]
    for i in range(n):
        rows.append(f"p{i},{day} 10:{i % 60:02d}:00,买家,,有货吗,")
        rows.append(f"p{i},{day} 10:{i % 60:02d}:30,客服,{'小满' if i % 2 else '阿杰'},有的,{1 + i % 5}")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def engine(tmp_path: Path, postgres_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path / "data",
        scenarios_dir=write_scenarios(tmp_path),
        embedder="fake",
        database_url=postgres_url,
        _env_file=None,
    )  # type: ignore[call-arg]
    engine = Engine(settings, customers=FakeCustomer, grader=FakeGrader(), knowledge_index=False)
    with engine.store.write() as s:
        create_user(s, HASHER, "xiaoman", "demo1234", display_name="小满")
        create_user(s, HASHER, "ajie", "demo1234", display_name="阿杰")
        create_user(s, HASHER, "laowang", "demo1234", role="trainer", display_name="老王")
    yield engine
    engine.store.dispose()


def test_import_qa_facts_problems_dashboard_on_postgresql(engine: Engine) -> None:
    today = date.today()
    options = ImportOptions(shop="qinghe")
    parsed = read_sources([("today.csv", _csv(40, today))], options, TZ)
    report = import_chats(engine.store, parsed, options, hasher=HASHER, files="today.csv")
    # two workers at once: each conversation is graded exactly once
    done: list[object] = []
    runners = [
        threading.Thread(target=lambda n=n: done.append(QaRunner(engine, batch=5, worker=f"w:{n}").run()))
        for n in range(2)
    ]
    for t in runners:
        t.start()
    for t in runners:
        t.join(60)
    with engine.store.read() as s:
        assert s.query(GradeRecord).count() == 40 and s.query(ScoreFact).count() == 40
        assert s.query(CriterionFact).filter_by(criterion="greeting").count() == 40
        sat = sorted({f.satisfaction for f in s.query(ScoreFact)})
        assert sat == [0.0, 0.25, 0.5, 0.75, 1.0]
        problems = classify(s, None, Filters(), engine.settings.problems, TZ)
        greeting = [p for p in problems if p.criterion == "greeting"]
        assert [p.type for p in greeting] == [ProblemType.INDIVIDUAL] * 2  # two agents: not enough for 共性
        assert sorted(p.agents[0].count.n for p in greeting) == [20, 20]
        dash = figures.build(s, None, Filters(days=7), TZ)
        assert dash.totals["real"].n == 40 and dash.totals["real"].kpis()["first_response_s"] == 30.0
        assert dash.heatmap.criteria and dash.frequent[0].criterion == "greeting"
        text = "".join(export.attempts(s, None, Filters(days=7), TZ))
        assert text.count("\n") == 41
    assert report.job_id is not None


def test_claiming_skips_a_job_another_worker_holds(engine: Engine) -> None:
    options = ImportOptions()
    parsed = read_sources([("a.csv", _csv(2, date.today()))], options, TZ)
    import_chats(engine.store, parsed, options, hasher=HASHER, files="a.csv")
    parsed = read_sources([("b.csv", _csv(2, date.today()).replace(b"p0", b"q0").replace(b"p1", b"q1"))], options, TZ)
    import_chats(engine.store, parsed, options, hasher=HASHER, files="b.csv")
    with engine.store.write() as s1:
        first = claim_job(s1, "one:1")
        assert first is not None
        with engine.store.write() as s2:  # while the first transaction holds its row lock
            second = claim_job(s2, "two:2")
            assert second is not None and second.id != first.id


def test_plan_assignments_and_retests_on_postgresql(engine: Engine) -> None:
    with engine.store.read() as s:
        me, trainer = get_user_by_name(s, "xiaoman").id, get_user_by_name(s, "laowang").id
    with engine.store.write() as s:
        pid = create_plan(
            s,
            PlanRequest(
                trainer,
                "greeting",
                "service",
                "问候",
                ProblemType.INDIVIDUAL,
                [me],
                scenario_ids=["presale-size-hesitant-office"],
            ),
            tz=TZ,
        ).id
    sid = engine.start(me, "presale-size-hesitant-office")
    engine.submit(sid, "买")
    engine.respond(sid)
    engine._grading.submit(lambda: None).result(timeout=10)
    with engine.store.read() as s:
        (m,) = progress(s, pid)
        assert m.training[0].status == "done" and [r.round for r in m.retests] == [1, 2]
