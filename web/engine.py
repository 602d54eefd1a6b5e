"""The engine the web app runs by default: the offline customer and grader, sharing one embedder and detector.

The embedder is loaded once per process, on first use (so the app starts fast and tests that inject fakes
never load it); the knowledge base is opened the same way and shared by the side panel and the grader.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from simulator.knowledge.passage import Passage, Retriever
from simulator.scenario.model import Scenario
from simulator.settings import Settings
from simulator.transcript import Transcript


class LazyKnowledge:
    """Opens the knowledge base on the first search; ``None``-safe when it has not been built.

    Args:
        settings: Where the index lives.
        embedder: Returns the shared embedder.
    """

    def __init__(self, settings: Settings, embedder: Callable[[], Any]):
        self.settings = settings
        self.embedder = embedder
        self._kb: Any = None
        self._failed: str | None = None
        self._lock = threading.Lock()

    def get(self) -> Retriever | None:
        """The knowledge base, or ``None`` if it cannot be opened (the reason is in :attr:`failure`)."""
        if self._kb is None and self._failed is None:
            with self._lock:
                if self._kb is None and self._failed is None:
                    from simulator.errors import SimulatorError
                    from simulator.knowledge.base import KnowledgeBase

                    try:
                        kb = KnowledgeBase.open(self.settings, embedder=self.embedder())
                        kb.load()
                        self._kb = kb
                    except SimulatorError as exc:
                        self._failed = str(exc)
        return self._kb

    @property
    def failure(self) -> str | None:
        """Why the knowledge base could not be opened, if it could not."""
        return self._failed

    def search(self, query: str, k: int = 5, **filters: Any) -> list[Passage]:
        """The :class:`Retriever` protocol; no passages when there is no knowledge base."""
        kb = self.get()
        return [] if kb is None else list(kb.search(query, k, **filters))


class SerialEmbedder:
    """One forward pass at a time: the request threads share one embedder whose BLAS threads already use every
    core, and concurrent passes on 2 cores were measured far slower than queued ones.

    Args:
        inner: The embedder to guard.
    """

    def __init__(self, inner: Any):
        self.inner = inner
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The inner embedder's name (stored with the knowledge index)."""
        return str(self.inner.name)

    @property
    def dim(self) -> int:
        """Vector size."""
        return int(self.inner.dim)

    def embed(self, texts: Sequence[str]) -> Any:
        """Embed under the lock."""
        with self._lock:
            return self.inner.embed(texts)


class OfflineEngine:
    """Scripted customer + offline grader with one shared embedder, act detector and knowledge base."""

    def __init__(self, settings: Settings, *, embedder: Any = None):
        self.settings = settings
        self._embedder = embedder
        self._detector: Any = None
        self._grader: Any = None
        self._lock = threading.Lock()
        self.knowledge = LazyKnowledge(settings, self.embedder)

    def embedder(self) -> Any:
        """The shared embedder (loaded on first use)."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from simulator.embedding.factory import make_embedder

                    self._embedder = SerialEmbedder(make_embedder(self.settings))
        return self._embedder

    def detector(self) -> Any:
        """The shared act detector (its example-embedding cache serves every session)."""
        if self._detector is None:
            from simulator.acts import ActDetector

            self._detector = ActDetector(self.embedder())
        return self._detector

    def customer(self, scenario: Scenario) -> Any:
        """A customer for ``scenario`` (scripted offline; the LLM customer when an endpoint is configured)."""
        from simulator.customer import make_customer

        return make_customer(self.settings, scenario, embedder=self.embedder(), detector=self.detector())

    def grade(self, transcript: Transcript, scenario: Scenario) -> Any:
        """Grade a finished transcript."""
        if self._grader is None:
            from simulator.grading import Grader

            self._grader = Grader(
                self.settings, retriever=self.knowledge, embedder=self.embedder(), detector=self.detector()
            )
        return self._grader.grade(transcript, scenario)

    def version(self) -> str:
        """Grader version stored with each grade: package version + digest of the rule lexicons."""
        try:
            pkg = version("cs-simulator")
        except PackageNotFoundError:
            pkg = "dev"
        digest = hashlib.sha256()
        rules = self.settings.rules_dir
        files: Sequence[Any] = sorted(rules.glob("*.yaml")) if rules.is_dir() else []
        for f in files:
            digest.update(f.read_bytes())
        return f"offline-{pkg}+{digest.hexdigest()[:8]}"
