"""Persistence: migrations match the models, turns are append-only, accounts, resume, grades.

Every test runs on SQLite (fast suite) and on a throwaway PostgreSQL server (``-m slow``, see conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes import FakeGrader, chat
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from simulator.customer.state import CustomerState
from simulator.errors import NotFound
from simulator.scenario.vocabulary import Outcome
from simulator.session import Session, SessionStatus
from simulator.store import Base, Database, migrate, open_database
from simulator.store.assignments import assignments_for, create_assignment
from simulator.store.database import current_revision
from simulator.store.grades import get_grade, list_sessions, save_grade
from simulator.store.sessions import (
    active_session,
    create_session,
    list_turns,
    load_session,
    save_progress,
)
from simulator.store.users import AccountError, authenticate, create_user, password_hasher, set_password
from simulator.turn import Speaker, Turn

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def _conversation(*turns: tuple[str, str, float], **fields: object) -> Session:
    """A session on scenario "sc-1" with these (role, text, seconds) turns."""
    session = Session(scenario_id="sc-1", seed=7, started_at=START, **fields)  # type: ignore[arg-type]
    for role, said, at in turns:
        session.turns.append(Turn(role=Speaker(role), text=said, at=at, seq=len(session.turns) + 1))
    session.answered = len(session.turns)
    return session


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    sqlite = f"sqlite:///{tmp_path / 'sim.db'}"
    url = sqlite if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    d = open_database(url)
    yield d
    d.dispose()


@pytest.fixture
def hasher():
    return password_hasher(fast=True)


def test_migrations_match_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree — add an Alembic revision: {diff}"
    assert current_revision(db) is not None


def test_migrations_down_to_empty_and_up_again(db: Database) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect

    from simulator.store.database import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(db) is None
    migrate(db)  # from empty to head
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert current_revision(db) == "0004"


def test_migrate_is_idempotent_and_configured(db: Database) -> None:
    migrate(db)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        else:
            assert conn.exec_driver_sql("SHOW TimeZone").scalar() == "UTC"
            assert conn.exec_driver_sql("SELECT count(*) FROM pg_trigger WHERE tgname = 'turns_append_only'").scalar()


def test_accounts(db: Database, hasher) -> None:
    with db.write() as s:
        create_user(s, hasher, "Xiaoman", "demo1234", role="trainee", display_name="小满")
    with db.read() as s:
        u = authenticate(s, hasher, "xiaoman", "demo1234")
        assert u is not None and u.display_name == "小满" and u.role == "trainee"
        assert u.password_hash.startswith("$argon2id$")
        assert authenticate(s, hasher, "xiaoman", "wrong-pass") is None
        assert authenticate(s, hasher, "nobody", "demo1234") is None
    with db.write() as s, pytest.raises(AccountError, match="taken"):
        create_user(s, hasher, "xiaoman", "another1")
    with db.write() as s, pytest.raises(AccountError, match="too short"):
        create_user(s, hasher, "ajie", "short")
    with db.write() as s, pytest.raises(AccountError, match="not allowed"):
        create_user(s, hasher, "<script>", "demo1234")
    with db.write() as s, pytest.raises(AccountError, match="unknown role"):
        create_user(s, hasher, "ajie", "demo1234", role="boss")
    with db.write() as s:
        before = authenticate(s, hasher, "xiaoman", "demo1234").session_version
        set_password(s, hasher, "xiaoman", "newpass123")
    with db.read() as s:
        u = authenticate(s, hasher, "xiaoman", "newpass123")
        assert u is not None and u.session_version == before + 1
    with db.write() as s, pytest.raises(NotFound):
        set_password(s, hasher, "ghost", "newpass123")


def _user(db: Database, hasher, name: str = "xiaoman") -> int:
    with db.write() as s:
        return create_user(s, hasher, name, "demo1234").id


def test_a_conversation_is_stored_once_turn_by_turn_and_read_back(db: Database, hasher) -> None:
    uid = _user(db, hasher)
    session = _conversation(("customer", "在吗", 0.0), state=CustomerState(mood=-1, patience=5))
    with db.write() as s:
        sid = create_session(s, session, user_id=uid).id
    with db.write() as s:
        row, loaded = load_session(s, sid)  # type: ignore[misc]
        assert active_session(s, uid, "sc-1").id == sid
        assert row.customer_state == {**CustomerState(mood=-1, patience=5).model_dump(mode="json")}
        assert loaded.state.mood == -1 and loaded.turns == session.turns and loaded.started_at == START
        loaded.add_reply("您好", sent_at=datetime(2030, 1, 1, 9, 0, 12, tzinfo=UTC))
        save_progress(s, row, loaded)
        assert row.awaiting_answer
    with db.read() as s:
        turns = list_turns(s, sid)
        assert [(t.seq, t.role, t.text) for t in turns] == [(1, "customer", "在吗"), (2, "agent", "您好")]
        assert turns[1].response_ms == 12000
        assert [t.seq for t in list_turns(s, sid, after_seq=1)] == [2]
        _, again = load_session(s, sid)  # type: ignore[misc]
        assert again.awaiting_answer and again.turns[1].response_seconds == 12.0 and again.turns[1].at == 12.0
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(text("UPDATE turns SET text = 'edited' WHERE seq = 1"))
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(text("DELETE FROM turns"))
    # a stale writer that did not see seq 2 collides on (session_id, seq) instead of overwriting
    with pytest.raises(IntegrityError), db.write() as s:
        row, stale = load_session(s, sid)  # type: ignore[misc]
        stale.turns.pop()
        stale.answered = 1
        row.last_seq = 1
        stale.add_reply("dup")
        save_progress(s, row, stale)
    with db.write() as s:
        row, loaded = load_session(s, sid)  # type: ignore[misc]
        loaded.end(reason="test", outcome=Outcome.BOUGHT)
        save_progress(s, row, loaded)
    with db.read() as s:
        assert active_session(s, uid, "sc-1") is None
        ((only, grade),) = list_sessions(s, user_id=uid)
        assert only.outcome == "bought" and only.status == SessionStatus.FINISHED.value and grade is None
        assert only.ended_at is not None and only.end_reason == "test"
        assert [t.kind for t in list_turns(s, sid)][-1] == "notice"


def test_grades_are_stored_typed_and_keep_unscored_as_none(db: Database, hasher) -> None:
    uid = _user(db, hasher)
    grade = FakeGrader().grade(chat("在吗", "嗯"))
    with db.write() as s:
        sid = create_session(s, _conversation(("customer", "在吗", 0.0)), user_id=uid).id
        save_grade(s, sid, grade, grader_version="t1")
    with db.read() as s:
        g = get_grade(s, sid)
        assert g is not None and g.service == 60.0 and g.knowledge is None and g.overall == grade.overall
        assert g.grade.to_dict() == grade.to_dict() and g.grade.findings()[0].criterion == "greeting"


def test_assignments_sorted_by_due(db: Database, hasher) -> None:
    from datetime import UTC, datetime

    trainer, trainee = _user(db, hasher, "laowang"), _user(db, hasher, "ajie")
    with db.write() as s:
        create_assignment(s, trainer_id=trainer, trainee_id=trainee, scenario_id="none-due")
        create_assignment(
            s, trainer_id=trainer, trainee_id=trainee, scenario_id="late", due_at=datetime(2030, 1, 2, tzinfo=UTC)
        )
        create_assignment(
            s, trainer_id=trainer, trainee_id=trainee, scenario_id="soon", due_at=datetime(2030, 1, 1, tzinfo=UTC)
        )
    with db.read() as s:
        assert [a.scenario_id for a in assignments_for(s, trainee)] == ["soon", "late", "none-due"]


def test_text_and_json_are_stored_alike_on_every_backend(db: Database, hasher) -> None:
    """PostgreSQL cannot store NUL in text or JSON, nor NaN in JSONB: the store drops them on every backend, so
    what one backend accepts the other does too. JSON objects may come back with their keys reordered (JSONB)."""
    uid = _user(db, hasher)
    session = _conversation(("agent", "在\x00吗", 0.0), variables={"z": "1", "a": "2"})
    grade = FakeGrader().grade(chat("在吗", "a\x00b"))
    grade.metrics["ratio"] = float("nan")
    with db.write() as s:
        sid = create_session(s, session, user_id=uid).id
        save_grade(s, sid, grade, grader_version="t")
        create_assignment(s, trainer_id=uid, trainee_id=uid, scenario_id="sc-1", note="先练\x00这个")
    with db.read() as s:
        (turn,) = list_turns(s, sid)
        assert turn.text == "在吗"
        stored = get_grade(s, sid).grade  # type: ignore[union-attr]
        assert stored.findings()[0].evidence == "ab" and stored.metrics["ratio"] is None
        assert assignments_for(s, uid)[0].note == "先练这个"
        assert active_session(s, uid, "sc-1").variables == {"a": "2", "z": "1"}


def test_two_graders_at_once_replace_instead_of_failing(db: Database, hasher) -> None:
    """The grading worker of one instance and the report page of another finish the same session together: the
    later grade replaces the earlier (one row), neither fails on the unique session_id."""
    import threading
    import time

    uid = _user(db, hasher)
    with db.write() as s:
        sid = create_session(s, _conversation(("customer", "在吗", 0.0)), user_id=uid).id
    first_saved = threading.Event()
    errors: list[BaseException] = []

    def grade(overall: float, hold: bool) -> None:
        try:
            with db.write() as s:
                grade = FakeGrader().grade(chat("在吗", "您好"))
                grade.pass_mark = overall  # a mark of which grade was saved
                save_grade(s, sid, grade, grader_version="t")
                if hold:  # keep the transaction open while the other grader starts
                    first_saved.set()
                    time.sleep(0.5)
        except BaseException as exc:
            errors.append(exc)

    first = threading.Thread(target=grade, args=(1.0, True))
    first.start()
    assert first_saved.wait(10)
    second = threading.Thread(target=grade, args=(2.0, False))
    second.start()
    first.join(30)
    second.join(30)
    assert errors == []
    with db.read() as s:
        assert get_grade(s, sid).grade.pass_mark == 2.0  # type: ignore[union-attr]
        assert s.scalar(text("SELECT count(*) FROM grades")) == 1


def test_migration_0002_keeps_conversations_stored_before_it(db: Database) -> None:
    """A database written before 0002 (the whole engine session as JSON on the row) is converted in place: the
    customer's state alone stays, answered turns and the end reason move to columns, the conversation loads."""
    from alembic import command
    from alembic.config import Config

    from simulator.store.database import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    state = {"mood": -1, "patience": 4, "fired": {"b": 1}, "revealed": [], "turns": 1, "fallbacks": 0}
    old = {"customer": "scripted", "end_reason": None, "state": state, "turns": [{"seq": 0}, {"seq": 1}, {"seq": 2}]}
    with db.write() as s:
        s.execute(
            text(
                "INSERT INTO users (id, username, display_name, role, password_hash, active, session_version,"
                " created_at) VALUES (1, 'u', 'u', 'trainee', 'x', true, 1, '2030-01-01 09:00:00')"
            )
        )
        s.execute(
            text(
                "INSERT INTO sessions (id, kind, user_id, scenario_id, scenario_digest, seed, variables, locale,"
                " status, customer_state, last_seq, started_at, updated_at) VALUES ('s1', 'practice', 1, 'sc-1',"
                " 'd', 1, '{}', 'zh-CN', 'active', :state, 4, '2030-01-01 09:00:00', '2030-01-01 09:00:00')"
            ),
            {"state": json.dumps(old)},
        )
        for seq, role, at in (
            (1, "customer", "09:00:00"),
            (2, "agent", "09:00:10"),
            (3, "customer", "09:00:11"),
            (4, "agent", "09:00:30"),
        ):
            s.execute(
                text(
                    "INSERT INTO turns (session_id, seq, role, kind, text, created_at, meta) VALUES ('s1', :seq, :role,"
                    " 'message', 'x', :at, '{}')"
                ),
                {"seq": seq, "role": role, "at": f"2030-01-01 {at}"},
            )
        s.execute(
            text(
                "INSERT INTO grades (session_id, red_line, findings, detail, grader_version, created_at)"
                " VALUES ('s1', false, '[]', '{}', 'v', '2030-01-01 09:01:00')"
            )
        )
    migrate(db)
    with db.read() as s:
        row, session = load_session(s, "s1")  # type: ignore[misc]
    assert row.customer_state == state and row.answered_seq == 3 and row.customer == "scripted"
    assert session.state.mood == -1 and session.awaiting_answer and session.turns[-1].at == 30.0


def test_groups_hold_people_once_and_know_their_trainer(db: Database, hasher) -> None:
    from simulator.store.groups import GroupError, add_members, create_group, groups_led_by, members

    trainer, a, b = _user(db, hasher, "laowang"), _user(db, hasher, "ajie"), _user(db, hasher, "xiaoman")
    with db.write() as s:
        g = create_group(s, " 2026-12 新人班 ", trainer_id=trainer)
        assert add_members(s, g.id, [a, b, a]) == 2 and add_members(s, g.id, [b]) == 0
    with db.read() as s:
        assert [u.username for u in members(s, g.id)] == ["ajie", "xiaoman"]
        assert [x.name for x in groups_led_by(s, trainer)] == ["2026-12 新人班"]
    with db.write() as s, pytest.raises(GroupError, match="exists already"):
        create_group(s, "2026-12 新人班")
    with db.write() as s, pytest.raises(GroupError, match="needs a name"):
        create_group(s, "  ")
