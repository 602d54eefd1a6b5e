"""Shared fixtures: a clean configuration for every test, the repository root, the web app with fakes, and a
throwaway PostgreSQL server for the slow suite. Fakes and builders live in ``fakes.py``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pgserver import PostgresServer, find_bindir

from simulator.settings import Settings

if TYPE_CHECKING:
    from fakes import FakeKnowledge

REPO = Path(__file__).resolve().parent.parent


# Not a setting of the app (Settings ignores it) but where scripts/llm-server.sh keeps the llama.cpp build that
# `make test` made before pytest started: the llm suite must find the same one.
KEPT = frozenset({"SIM_LLM_VENV"})


def isolate_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the developer's configuration: drop every ``SIM_*`` variable (but :data:`KEPT`) and make
    ``Settings`` read no ``.env`` file (from the repository root or any working directory). A test that wants a
    variable sets it itself (``monkeypatch.setenv``); one that wants a file passes ``_env_file=``."""
    for name in [n for n in os.environ if n.upper().startswith("SIM_") and n not in KEPT]:
        monkeypatch.delenv(name)
    monkeypatch.setitem(Settings.model_config, "env_file", None)


_SESSION_PATCH = pytest.StashKey[pytest.MonkeyPatch]()


def pytest_configure(config: pytest.Config) -> None:
    # From before collection to the end: module- and session-scoped fixtures and module-level code see the
    # clean configuration too (they are set up before any function-scoped fixture).
    config.stash[_SESSION_PATCH] = patch = pytest.MonkeyPatch()
    isolate_settings(patch)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _SESSION_PATCH in config.stash:
        config.stash[_SESSION_PATCH].undo()


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the defaults, whatever the developer's shell or ``.env`` says (and whatever an
    earlier test in this process left in ``os.environ``)."""
    isolate_settings(monkeypatch)


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
    application.state.services.engine.store.dispose()


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
