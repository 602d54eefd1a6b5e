"""Shared fixtures: the repository root, the web app with fakes, and a
throwaway PostgreSQL server for the slow suite. Fakes and builders live in ``fakes.py``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pgserver import PostgresServer, find_bindir

from simulator.settings import Settings

if TYPE_CHECKING:
    from fakes import FakeKnowledge

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from the repository root so paths in messages are short and stable."""
    monkeypatch.chdir(REPO)
    return REPO


# -- the web app with fakes (fakes.py) --------------------------------------------------------------------------


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    """The example scenario, one full of HTML payloads and a broken one (``fakes.write_scenarios``)."""
    from fakes import write_scenarios

    return write_scenarios(tmp_path)


@pytest.fixture
def settings(tmp_path: Path, scenario_dir: Path) -> Settings:
    """Settings for the web tests: a private data folder, the fake embedder, a fixed cookie key."""
    from fakes import web_settings

    return web_settings(tmp_path, scenario_dir)


@pytest.fixture
def knowledge() -> FakeKnowledge:
    from fakes import FakeKnowledge

    return FakeKnowledge()


@pytest.fixture
def app(settings: Settings, knowledge: FakeKnowledge) -> Iterator[Any]:
    """The web app with the fake customer, grade and knowledge, and four accounts (``fakes.make_app``)."""
    from fakes import make_app

    application = make_app(settings, knowledge)
    yield application
    application.state.services.db.dispose()


# -- PostgreSQL (slow suite) -----------------------------------------------------------------------------------


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
