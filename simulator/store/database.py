"""Database engine, transactions and migrations.

SQLite (a file in the data directory) is the default; any SQLAlchemy URL (``postgresql+psycopg://…``) works
for several app instances sharing one database. Migrations are Alembic revisions shipped inside this package
and applied by :func:`migrate` on start-up.

SQLite notes (why the pragmas):

* WAL lets readers proceed while one writer commits; ``busy_timeout`` makes writers queue instead of failing.
* ``synchronous=FULL`` fsyncs the WAL on every commit: an acknowledged turn survives a process kill *and* a
  power cut. (A process kill alone would be survived with NORMAL too.)
* Write transactions start with ``BEGIN IMMEDIATE`` (see :meth:`Database.write`): a deferred transaction that
  reads first and writes later can fail with "database is locked" under concurrency, which no timeout fixes.

PostgreSQL notes (each found by the tests against a real server, tests/test_postgres.py):

* Every connection runs with ``TimeZone=UTC``. Otherwise ``timestamptz`` values come back in the server's
  zone (``+08:00`` on a server set up in China) and a naive datetime is read as server-local time, whereas
  SQLite stores and returns naive UTC; with UTC both agree, and dates print the same on both.
* Writers are not serialised as on SQLite (READ COMMITTED, row locks only): what must not run twice at once
  takes a row lock (``get_session(..., for_update=True)``, grades lock their session row) or
  :func:`advisory_lock` (migrations and demo accounts when several instances start at once).
* JSON columns are JSONB: strict JSON (no ``NaN``), no ``\\u0000`` in strings, and objects come back with
  their keys reordered — nothing may depend on key order. Text columns cannot hold NUL either.
  :func:`json_dumps` and :func:`~simulator.store.models.clean_text` make both backends store the same.
* Connection pool: ``pool_size`` + ``max_overflow`` connections per process at most (see
  :data:`PG_POOL`); size ``max_connections`` on the server for the number of instances.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from simulator.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

MIGRATION_LOCK = 0x53494D5F4D494752  # "SIM_MIGR": the advisory lock migrations hold on PostgreSQL

# Per process: the web app's threads (requests, 32 customer answers, grading) share these. Several instances
# multiply it — keep instances × (pool_size + max_overflow) below the server's max_connections (default 100).
PG_POOL: dict[str, Any] = {"pool_size": 8, "max_overflow": 12, "pool_timeout": 30, "pool_recycle": 1800}


class Database:
    """An engine plus two session factories: ``read()`` and ``write()`` transactions.

    Args:
        url: SQLAlchemy URL.
        echo: Log SQL (debugging).
    """

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgresql = url.startswith("postgresql")
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "json_serializer": json_dumps}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 48
        else:
            kwargs["pool_pre_ping"] = True  # a connection the server or a proxy dropped is replaced, not used
            if self.is_postgresql:
                kwargs.update(PG_POOL)
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:  # bad URL or missing driver: a configuration problem, not a crash
            raise ConfigError(f"cannot use database URL {url!r}: {exc} — check SIM_DATABASE_URL") from None
        if self.is_sqlite:
            _sqlite_setup(self.engine)
        elif self.is_postgresql:
            _postgresql_setup(self.engine)
        self._writers: AbstractContextManager[Any] = threading.RLock() if self.is_sqlite else nullcontext()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.engine.execution_options(sqlite_immediate=True), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work. Objects loaded in it stay readable after the block (closing, unlike a
        rollback, does not expire them)."""
        with self._read() as s:
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block exits normally, rolled back on an exception.

        On SQLite the threads of this process queue on a lock first. SQLite allows one writer at a time anyway,
        and a writer that finds the file locked waits in SQLite's busy handler, which sleeps in growing steps
        (up to 100 ms): under load the database sat idle between writers while requests waited — p99 of
        ``BEGIN IMMEDIATE`` was ~1 s with 150 simulated trainees (bench/web_load.py). ``busy_timeout`` still
        arbitrates between processes.
        """
        with self._writers, self._write() as s, s.begin():
            yield s

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgresql_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # A SET, not a startup option: works through connection poolers that refuse startup options.
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        cur = dbapi_conn.cursor()
        cur.execute("SET TIME ZONE 'UTC'")
        cur.close()
        dbapi_conn.autocommit = autocommit


def json_dumps(value: Any) -> str:
    """JSON for the JSON columns, the same on every backend: strict JSON (``NaN`` and infinities become
    ``null``, which PostgreSQL's JSONB requires) without NUL characters (which it cannot store)."""
    try:
        out = json.dumps(value, allow_nan=False)
    except ValueError:  # a non-finite float somewhere
        return json.dumps(_strict(value), allow_nan=False)
    return json.dumps(_strict(value), allow_nan=False) if "\\u0000" in out else out


def _strict(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_strict(k) if isinstance(k, str) else k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


def advisory_lock(s: Session, name: str) -> None:
    """Serialise the current write transaction with every other one locking ``name``, in any process.

    PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback. SQLite: nothing to do,
    write transactions already run one at a time (``BEGIN IMMEDIATE``).
    """
    bind = s.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # A stable key (Python's str hash differs between processes).
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def open_database(url: str, *, create_dir: Path | None = None, migrate_now: bool = True) -> Database:
    """Open (and by default migrate) the database at ``url``.

    Args:
        url: SQLAlchemy URL.
        create_dir: Folder to create first (the data directory holding the SQLite file).
        migrate_now: Apply pending migrations.
    """
    if create_dir is not None:
        create_dir.mkdir(parents=True, exist_ok=True)
    db = Database(url)
    if migrate_now:
        migrate(db)
    return db


def migrate(db: Database, revision: str = "head") -> None:
    """Apply the shipped Alembic migrations up to ``revision``."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several instances starting at once: one migrates (DDL is transactional there), the others wait
            # for its commit and then find nothing to do.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(db: Database) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
