"""Persistence: migrations match the models, turns are append-only, accounts, resume, grades.

Every test runs on SQLite (fast suite) and on a throwaway PostgreSQL server (``-m slow``, see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from simulator.errors import NotFound
from simulator.store import Database, SessionStatus, migrate, open_database
from simulator.store.database import current_revision
from simulator.store.records import assignments_for, create_assignment, get_grade, save_grade
from simulator.store.transcripts import (
    NewTurn,
    active_session,
    append_turns,
    create_session,
    finish_session,
    list_sessions,
    list_turns,
)
from simulator.store.users import AccountError, authenticate, create_user, password_hasher, set_password


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

    from simulator.store.models import Base

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
    from simulator.store.models import Base

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
    assert current_revision(db) == "0001"


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


def test_turns_append_resume_and_are_append_only(db: Database, hasher) -> None:
    uid = _user(db, hasher)
    with db.write() as s:
        row = create_session(s, user_id=uid, scenario_id="sc-1", scenario_digest="d" * 64, seed=7)
        append_turns(s, row, [NewTurn("customer", "在吗")], state={"mood": 0})
        sid = row.id
    with db.write() as s:
        row = active_session(s, uid, "sc-1")
        assert row is not None and row.id == sid and row.customer_state == {"mood": 0}
        append_turns(s, row, [NewTurn("agent", "您好", response_ms=1200), NewTurn("customer", "好的")], state={"m": 1})
    with db.read() as s:
        turns = list_turns(s, sid)
        assert [(t.seq, t.role, t.text) for t in turns] == [
            (1, "customer", "在吗"),
            (2, "agent", "您好"),
            (3, "customer", "好的"),
        ]
        assert turns[1].response_ms == 1200
        assert [t.seq for t in list_turns(s, sid, after_seq=2)] == [3]
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(text("UPDATE turns SET text = 'edited' WHERE seq = 1"))
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(text("DELETE FROM turns"))
    # a stale writer that did not see seq 3 collides on (session_id, seq) instead of overwriting
    with pytest.raises(IntegrityError), db.write() as s:
        row = active_session(s, uid, "sc-1")
        row.last_seq = 2
        append_turns(s, row, [NewTurn("agent", "dup")])
    with db.write() as s:
        row = active_session(s, uid, "sc-1")
        finish_session(s, row, status=SessionStatus.FINISHED, outcome="bought")
    with db.read() as s:
        assert active_session(s, uid, "sc-1") is None
        ((only, grade),) = list_sessions(s, user_id=uid)
        assert only.outcome == "bought" and grade is None and only.ended_at is not None


def test_grades_keep_unscored_as_none(db: Database, hasher) -> None:
    uid = _user(db, hasher)
    with db.write() as s:
        row = create_session(s, user_id=uid, scenario_id="sc-1", scenario_digest="d", seed=1)
        save_grade(
            s,
            row.id,
            overall=80.0,
            dimensions={"service": 90.0, "knowledge": None},
            red_line=False,
            findings=[{"dimension": "service", "criterion": "greet"}],
            grader_version="t1",
        )
        sid = row.id
    with db.read() as s:
        g = get_grade(s, sid)
        assert (
            g.service == 90.0 and g.knowledge is None and g.technique is None and g.findings[0]["criterion"] == "greet"
        )


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
    with db.write() as s:
        variables = {"z": 1, "a": 2}
        row = create_session(s, user_id=uid, scenario_id="sc-1", scenario_digest="d", seed=1, variables=variables)
        append_turns(s, row, [NewTurn("agent", "在\x00吗", meta={"note": "x\x00y", "ratio": float("nan")})])
        save_grade(
            s,
            row.id,
            overall=None,
            dimensions={},
            red_line=False,
            findings=[{"evidence": "a\x00b", "points": float("inf")}],
            grader_version="t",
        )
        create_assignment(s, trainer_id=uid, trainee_id=uid, scenario_id="sc-1", note="先练\x00这个")
        sid = row.id
    with db.read() as s:
        (turn,) = list_turns(s, sid)
        assert turn.text == "在吗" and turn.meta == {"note": "xy", "ratio": None}
        assert get_grade(s, sid).findings == [{"evidence": "ab", "points": None}]
        assert assignments_for(s, uid)[0].note == "先练这个"
        assert active_session(s, uid, "sc-1").variables == {"a": 2, "z": 1}


def test_two_graders_at_once_replace_instead_of_failing(db: Database, hasher) -> None:
    """The grading worker of one instance and the report page of another finish the same session together: the
    later grade replaces the earlier (one row), neither fails on the unique session_id."""
    import threading
    import time

    uid = _user(db, hasher)
    with db.write() as s:
        sid = create_session(s, user_id=uid, scenario_id="sc-1", scenario_digest="d", seed=1).id
    first_saved = threading.Event()
    errors: list[BaseException] = []

    def grade(overall: float, hold: bool) -> None:
        try:
            with db.write() as s:
                save_grade(s, sid, overall=overall, dimensions={}, red_line=False, findings=[], grader_version="t")
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
        assert get_grade(s, sid).overall == 2.0
        assert s.scalar(text("SELECT count(*) FROM grades")) == 1
