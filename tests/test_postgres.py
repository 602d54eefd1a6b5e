"""PostgreSQL for real, on a throwaway server (conftest.py): the web app end to end, two app instances on one
database as two server processes would be, concurrent replies to one conversation, instances starting together,
and UTC whatever the server's time zone. The store's own tests (migrations, accounts, turns, grades, NUL and NaN)
run on PostgreSQL too: test_store.py is parametrised over both backends. Slow: run with ``pytest -m slow``."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fakes import (
    FakeCustomer,
    FakeGrader,
    bubbles,
    hx,
    login,
    make_app,
    say,
    start,
)
from fastapi import FastAPI
from fastapi.testclient import TestClient

from simulator.customer.base import CustomerMessage, CustomerResponse, TurnContext
from simulator.engine import Engine
from simulator.session import Session, SessionStatus
from simulator.settings import Settings
from simulator.store import Database, open_database
from simulator.store.demo import DEMO_ACCOUNTS, ensure_demo_accounts
from simulator.store.sessions import create_session, get_session, list_turns
from simulator.store.users import count_users, create_user, password_hasher
from simulator.turn import Speaker, Turn
from web import create_app
from web.ratelimit import RateLimiter

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
HASHER = password_hasher(fast=True)


def _settings(data: Path, scenarios: Path, url: str) -> Settings:
    return Settings(
        data_dir=data,
        scenarios_dir=scenarios,
        knowledge_dir=REPO / "knowledge",
        embedder="fake",
        secret_key="shared-secret-key",  # instances behind one load balancer share the cookie key
        max_message_chars=200,
        database_url=url,
        _env_file=None,  # type: ignore[call-arg]
    )


def _instance(
    tmp_path: Path, scenarios: Path, url: str, name: str, customer: Callable[..., Any] = FakeCustomer
) -> FastAPI:
    """One app instance: its own data directory (another machine), the shared database."""
    settings = _settings(tmp_path / name, scenarios, url)
    return create_app(
        settings,
        engine=Engine(settings, customers=customer, grader=FakeGrader(), knowledge_index=False),
        hasher=HASHER,
        limiter=RateLimiter(burst=1000, per_second=1000),
    )


@pytest.fixture
def pg_app(settings: Settings, knowledge: Any, postgres_url: str) -> Iterator[FastAPI]:
    """The web tests' app with fakes and accounts (fakes.make_app), on PostgreSQL."""
    application = make_app(settings.model_copy(update={"database_url": postgres_url}), knowledge)
    yield application
    application.state.services.engine.store.dispose()


def test_conversation_end_to_end(pg_app: FastAPI) -> None:
    """Start, three replies each committed before the customer answers, report with grade, history, trainer."""
    c, token = login(pg_app, "xiaoman")
    sid = start(c, token)
    assert bubbles(c.get(f"/chat/{sid}").text) == ["在吗，这条碎花裙子我165穿什么码呀"]
    sent, answer = say(c, token, sid, "亲，您好～请问您身高体重多少呀？")
    assert "已发送" in sent.text and bubbles(answer.text) == ["顾客第1次回复"]
    say(c, token, sid, "建议您拍M码")
    _, last = say(c, token, sid, "签收后7天内可以换")
    assert "好，我买了" in last.text and f"/reports/{sid}" in last.text
    report = c.get(f"/reports/{sid}").text
    assert re.search(r'id="overall-score">7[23]<', report) and "已下单" in report and "未评分" in report
    assert "没有问候" in report  # a finding from the grade's JSONB, with its evidence
    panel = c.get("/kb/search", params={"q": "七天无理由"}, headers={"HX-Request": "true"})
    assert "7天无理由退货" in panel.text
    assert f"/reports/{sid}" in c.get("/reports").text
    t, _ = login(pg_app, "laowang")
    assert f"/reports/{sid}" in t.get("/trainer/reports").text
    with pg_app.state.services.engine.store.read() as s:
        turns = list_turns(s, sid)
        row = get_session(s, sid)
    assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
    assert [t.role for t in turns if t.kind == "message"] == ["customer", "agent"] * 3 + ["customer"]
    assert row is not None and row.status == SessionStatus.FINISHED.value and row.outcome == "bought"
    assert all(t.created_at.utcoffset() == timedelta(0) for t in turns)
    agent = [t for t in turns if t.role == Speaker.AGENT.value]
    assert all(t.response_ms is not None and t.response_ms >= 0 for t in agent)


def test_two_instances_share_conversations(tmp_path: Path, scenario_dir: Path, postgres_url: str) -> None:
    """Two app instances on one database: either can continue a conversation the other started, sees the
    other's committed turns at once, and accepts the other's login cookie (shared SIM_SECRET_KEY)."""
    a = _instance(tmp_path, scenario_dir, postgres_url, "a")
    b = _instance(tmp_path, scenario_dir, postgres_url, "b")
    try:
        with a.state.services.engine.store.write() as s:
            create_user(s, HASHER, "xiaoman", "demo1234")
        ca, token = login(a, "xiaoman")
        cb = TestClient(b, follow_redirects=False, cookies=ca.cookies)  # the load balancer sent it elsewhere
        sid = start(ca, token)
        assert start(cb, token) == sid  # B resumes the conversation A started
        r = ca.post(f"/chat/{sid}/reply", data={"text": "您好"}, headers=hx(token))
        assert r.status_code == 200
        page_b = cb.get(f"/chat/{sid}").text
        assert bubbles(page_b)[-1] == "您好" and 'id="typing"' in page_b  # A's committed turn, pending on B
        answer = cb.post(f"/chat/{sid}/customer", data={"after": 2}, headers=hx(token))
        assert bubbles(answer.text) == ["顾客第1次回复"]
        again = ca.post(f"/chat/{sid}/customer", data={"after": 2}, headers=hx(token))
        assert bubbles(again.text) == ["顾客第1次回复"]  # A shows B's answer; nobody answers twice
        say(cb, token, sid, "建议您拍M码")
        _, last = say(ca, token, sid, "买")
        assert "好，我买了" in last.text
        assert 'id="overall-score">' in cb.get(f"/reports/{sid}").text  # graded on A, read on B
        with b.state.services.engine.store.read() as s:
            roles = [t.role for t in list_turns(s, sid) if t.kind == "message"]
        assert roles == ["customer", "agent"] * 3 + ["customer"]
    finally:
        a.state.services.engine.store.dispose()
        b.state.services.engine.store.dispose()


class SlowCustomer(FakeCustomer):
    """Never decides and takes a while to answer, so concurrent requests overlap while it "types"."""

    def respond(self, ctx: TurnContext) -> CustomerResponse:
        time.sleep(0.05)
        state = ctx.state.model_copy(deep=True)
        state.turns += 1
        return CustomerResponse([CustomerMessage(f"顾客第{state.turns}次回复")], state)


def _together(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs in threads released at the same moment; their results in order (exceptions re-raised)."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = jobs[i]()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def test_concurrent_replies_keep_one_ordered_transcript(tmp_path: Path, scenario_dir: Path, postgres_url: str) -> None:
    """Two instances, two tabs each: replies sent at the same moment are taken once (the others are told to wait
    for the customer), the customer's answer requested four times at once is produced once, and the transcript
    stays gap-free and strictly alternating — the session row lock (``for_update``) at work across processes."""
    a = _instance(tmp_path, scenario_dir, postgres_url, "a", SlowCustomer)
    b = _instance(tmp_path, scenario_dir, postgres_url, "b", SlowCustomer)
    try:
        with a.state.services.engine.store.write() as s:
            create_user(s, HASHER, "xiaoman", "demo1234")
        ca, token = login(a, "xiaoman")
        sid = start(ca, token)
        tabs = [TestClient(app, follow_redirects=False, cookies=ca.cookies) for app in (a, b, a, b)]
        rounds = 6
        for n in range(1, rounds + 1):
            replies = [(c, f"第{n}轮-{i}") for i, c in enumerate(tabs)]
            sent = _together(
                [lambda c=c, t=t: c.post(f"/chat/{sid}/reply", data={"text": t}, headers=hx(token)) for c, t in replies]
            )
            assert sorted(r.status_code for r in sent) == [200, 409, 409, 409], [r.text[:200] for r in sent]
            answers = _together(
                [lambda c=c: c.post(f"/chat/{sid}/customer", data={"after": 0}, headers=hx(token)) for c in tabs]
            )
            assert all(r.status_code == 200 for r in answers)
            assert all(f"顾客第{n}次回复" in bubbles(r.text) for r in answers)  # every tab shows the one answer
        with b.state.services.engine.store.read() as s:
            turns = list_turns(s, sid)
            row = get_session(s, sid)
        assert row is not None and row.last_seq == len(turns) == 1 + 2 * rounds
        assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
        assert [t.role for t in turns] == ["customer", "agent"] * rounds + ["customer"]
        assert [t.text for t in turns[2::2]] == [f"顾客第{n}次回复" for n in range(1, rounds + 1)]
        assert all(re.fullmatch(rf"第{n}轮-\d", turns[2 * n - 1].text) for n in range(1, rounds + 1))
        assert [t.created_at for t in turns] == sorted(t.created_at for t in turns)
        assert row.answered_seq == row.last_seq == len(turns)  # every stored trainee message was answered once
    finally:
        a.state.services.engine.store.dispose()
        b.state.services.engine.store.dispose()


def test_instances_starting_together_migrate_and_seed_once(postgres_url: str) -> None:
    """Four `simulator serve` processes started at once on an empty database: one migrates, one creates the demo
    accounts, none fails."""

    def serve_start() -> list[Any]:
        db = open_database(postgres_url)
        try:
            return ensure_demo_accounts(db, HASHER)
        finally:
            db.dispose()

    created = _together([serve_start] * 4)
    assert sorted(len(c) for c in created) == [0, 0, 0, len(DEMO_ACCOUNTS)]
    db = open_database(postgres_url, migrate_now=False)
    try:
        with db.read() as s:
            assert count_users(s) == len(DEMO_ACCOUNTS)
    finally:
        db.dispose()


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    db = open_database(postgres_url)
    yield db
    db.dispose()


def test_times_are_utc_whatever_the_server_time_zone(pg_db: Database, postgres_server: Any) -> None:
    """The test server runs with TimeZone=Asia/Shanghai (as one set up in China would); the app still reads and
    writes UTC, and a naive time means UTC as on SQLite."""
    import psycopg

    with psycopg.connect(host=str(postgres_server.socket_dir), user="postgres", dbname="postgres") as raw:
        assert raw.execute("SHOW TimeZone").fetchone() == ("Asia/Shanghai",)
    with pg_db.read() as s:
        assert s.connection().exec_driver_sql("SHOW TimeZone").scalar() == "UTC"

    def started(at: datetime) -> Session:
        session = Session(scenario_id="sc", seed=1, started_at=at, answered=1)
        session.turns.append(Turn(role=Speaker.CUSTOMER, text="在吗", at=0.0, seq=1))
        return session

    with pg_db.write() as s:
        uid = create_user(s, HASHER, "xiaoman", "demo1234").id
        naive_id = create_session(s, started(datetime(2030, 1, 1, 12, 0)), user_id=uid).id
        aware_id = create_session(
            s, started(datetime(2030, 1, 2, 4, 0, tzinfo=timezone(timedelta(hours=8)))), user_id=uid
        ).id
    with pg_db.read() as s:
        (naive,) = list_turns(s, naive_id)
        (aware,) = list_turns(s, aware_id)
        row = get_session(s, aware_id)
    assert naive.created_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC) and naive.created_at.utcoffset() == timedelta(0)
    assert aware.created_at.isoformat() == "2030-01-01T20:00:00+00:00"
    assert row is not None and row.started_at.isoformat() == "2030-01-01T20:00:00+00:00"


def test_a_whole_exam_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    """The exam tables on PostgreSQL: an attempt to a certificate, a deadline, a tab conflict, an override, the
    verdict recomputed, /verify's lookup — and two services (two instances) sweeping at once close a part once."""
    from exam_helpers import answer_written, finish, make_world, open_window, play_roleplays

    from simulator.exam.attempts import ExamClosed, ExamService, TabConflict
    from simulator.exam.certificates import CertificateStatus
    from simulator.store import exam_reviews as reviews

    w = make_world(tmp_path, url=postgres_url)
    aid = w.exams.start(w.trainee, open_window(w))
    w.exams.start_part(aid, w.trainee)
    w.exams.claim_tab(aid, w.trainee, "a")
    answer_written(w, aid, tab="a")
    w.exams.start_part(aid, w.trainee, "a")
    play_roleplays(w, aid, tab="a")
    finish(w)
    v = w.exams.view(aid)
    assert v.row.result == "passed" and v.row.grader_version
    cert = w.review.certificates_of(w.trainee)[0][0]
    assert w.review.verify(cert.code).status is CertificateStatus.VALID  # type: ignore[union-attr]
    review = w.review.review(aid)
    conv = (
        next(c for c in review.conversations if c.findings) if any(c.findings for c in review.conversations) else None
    )
    if conv is not None:
        w.review.override(w.owner, aid, conv.findings[0][0], "dismiss", "复核后不扣分", session_id=conv.session.id)
    # a second attempt by another trainee: tab conflict and deadline, swept by two instances at once
    other = w.exams.start(w.other, open_window(w, user=w.other))
    w.exams.start_part(other, w.other)
    w.exams.claim_tab(other, w.other, "x")
    w.exams.claim_tab(other, w.other, "y")
    key = w.exams.view(other).frozen.questions["written"][0].key
    with pytest.raises(TabConflict):
        w.exams.save_answer(other, w.other, "x", key, None)
    w.clock.advance(minutes=21)
    second = ExamService(w.engine)
    done: list[int] = []
    threads = [threading.Thread(target=lambda s=s: done.append(s.sweep()["closed"])) for s in (w.exams, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(done) >= 1
    with pytest.raises(ExamClosed):
        w.exams.save_answer(other, w.other, "y", key, None)
    kinds = [e.kind for e in w.exams.events(other)]
    assert kinds.count("auto-submit") == 1 and "stale-tab" in kinds and "late-answer" in kinds
    with w.engine.store.read() as s:
        assert [a.action for a in reviews.audit_log(s, attempt_id=other)].count("auto-submit") == 1
    w.engine.store.dispose()
