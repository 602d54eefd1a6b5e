"""Shared fixtures: the repository root, and a throwaway PostgreSQL server for the slow suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pgserver import PostgresServer, find_bindir

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from the repository root so paths in messages are short and stable."""
    monkeypatch.chdir(REPO)
    return REPO


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server started for this test session (see tests/pgserver.py); skips when PostgreSQL or the
    psycopg driver is not installed. Request ``postgres_url`` for a database on it."""
    pytest.importorskip("psycopg", reason="the psycopg driver is not installed (pip install -e '.[pg]')")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found — apt-get install postgresql")
    server = PostgresServer(bindir)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The SQLAlchemy URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database()
