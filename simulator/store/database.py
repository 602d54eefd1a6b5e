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
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from simulator.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Database:
    """An engine plus two session factories: ``read()`` and ``write()`` transactions.

    Args:
        url: SQLAlchemy URL.
        echo: Log SQL (debugging).
    """

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 16
            kwargs["max_overflow"] = 48
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except Exception as exc:  # bad URL or missing driver: a configuration problem, not a crash
            raise ConfigError(f"cannot use database URL {url!r}: {exc} — check SIM_DATABASE_URL") from None
        if self.is_sqlite:
            _sqlite_setup(self.engine)
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
        """A write transaction: committed when the block exits normally, rolled back on an exception."""
        with self._write() as s, s.begin():
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
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(db: Database) -> str | None:
    """The revision the database is at (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
