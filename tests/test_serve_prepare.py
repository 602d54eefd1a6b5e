"""``simulator serve``'s preparation: the first start creates the demo accounts and builds the knowledge index; a
restart finds both without reading the scenarios or opening chromadb (what made it slow, bench/startup.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulator.cli.serve import prepare
from simulator.errors import ConfigError
from simulator.knowledge.base import KnowledgeBase
from simulator.settings import Settings
from simulator.store import open_database
from simulator.store.demo import DEMO_ACCOUNTS
from simulator.store.users import count_users, password_hasher

DATA = Path(__file__).resolve().parent / "data"


def _settings(tmp_path: Path, embedder: str = "fake") -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        scenarios_dir=DATA / "good_scenarios",
        knowledge_dir=DATA / "knowledge_plain",
        embedder=embedder,
    )


def _users(settings: Settings) -> int:
    db = open_database(settings.sqlalchemy_url)
    try:
        with db.read() as s:
            return count_users(s)
    finally:
        db.dispose()


def test_first_start_then_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("simulator.store.users.password_hasher", lambda: password_hasher(fast=True))
    settings = _settings(tmp_path)
    assert not KnowledgeBase.has_snapshot(settings)
    prepare(settings, echo=False)
    assert _users(settings) == len(DEMO_ACCOUNTS) and KnowledgeBase.has_snapshot(settings)
    assert len(KnowledgeBase.open(settings).load()) > 0

    def forbidden(*_a: object, **_k: object) -> None:
        raise AssertionError("a restart read the scenarios or opened the knowledge base")

    with monkeypatch.context() as m:
        m.setattr("simulator.scenario.loader.load_scenarios", forbidden)
        m.setattr(KnowledgeBase, "open", classmethod(forbidden))
        prepare(settings, echo=False)
    assert _users(settings) == len(DEMO_ACCOUNTS)

    # another embedder: the start still stops and says to rebuild, as before
    other = _settings(tmp_path, embedder="fake:64")
    assert not KnowledgeBase.has_snapshot(other)
    with pytest.raises(ConfigError, match="rebuild it with `simulator kb build`"):
        prepare(other, echo=False)
    # with a Chroma server, only the server knows what it holds
    assert not KnowledgeBase.has_snapshot(settings.model_copy(update={"chroma_url": "http://127.0.0.1:9"}))

    # the snapshot gone (the index folder cleaned by hand): the next start checks the store and rebuilds it
    shutil.rmtree(settings.index_dir / "snapshots")
    assert not KnowledgeBase.has_snapshot(settings)
    prepare(settings, echo=False)
    assert KnowledgeBase.has_snapshot(settings)
