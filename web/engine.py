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

    def prepare(self, queries: Sequence[str]) -> None:
        """Embed a transcript's questions in one batch before the grader searches them."""
        prepare = getattr(self.get(), "prepare", None)
        if prepare is not None:
            prepare(queries)


class OfflineEngine:
    """Scripted customer + offline grader with one shared embedder, act detector and knowledge base."""

    def __init__(self, settings: Settings, *, embedder: Any = None):
        self.settings = settings
        self._embedder = embedder
        self._detector: Any = None
        self._grader: Any = None
        # Reentrant: grader() holds it while it asks for the embedder and detector, which take it too. The
        # server's background warm-up and the first requests may ask for the same part at once.
        self._lock = threading.RLock()
        self.knowledge = LazyKnowledge(settings, self.embedder)

    def embedder(self) -> Any:
        """The shared embedder (loaded on first use)."""
        if self._embedder is None:
            with self._lock:
                if self._embedder is None:
                    from simulator.embedding.batching import BatchingEmbedder
                    from simulator.embedding.factory import make_embedder

                    self._embedder = BatchingEmbedder(make_embedder(self.settings))
        return self._embedder

    def detector(self) -> Any:
        """The shared act detector (its example-embedding cache serves every session)."""
        if self._detector is None:
            with self._lock:
                if self._detector is None:
                    from simulator.acts import ActDetector

                    self._detector = ActDetector(self.embedder())
        return self._detector

    def customer(self, scenario: Scenario) -> Any:
        """A customer for ``scenario`` (scripted offline; the LLM customer when an endpoint is configured)."""
        from simulator.customer import make_customer

        return make_customer(self.settings, scenario, embedder=self.embedder(), detector=self.detector())

    def grader(self) -> Any:
        """The shared offline grader (built on first use)."""
        if self._grader is None:
            with self._lock:
                if self._grader is None:
                    from simulator.grading import Grader

                    self._grader = Grader(
                        self.settings, retriever=self.knowledge, embedder=self.embedder(), detector=self.detector()
                    )
        return self._grader

    def grade(self, transcript: Transcript, scenario: Scenario) -> Any:
        """Grade a finished transcript."""
        return self.grader().grade(transcript, scenario)

    def warm_up(self) -> None:
        """Load now what the first trainee would otherwise wait for: the embedder and act detector, the knowledge
        index with its tokenizer (jieba's dictionary), and the grader with both rule lexicons."""
        from simulator.transcript import Transcript, Turn

        self.detector().detect("您好，请问有什么可以帮您？")
        kb = self.knowledge.get()
        if kb is not None:
            kb.search("尺码怎么选 size", 1)
        for text in ("在吗，这件衣服165穿什么码？", "Hi, which size should I get?"):
            hello = Transcript(id="warm-up", turns=[Turn(role="customer", text=text), Turn(role="agent", text="您好")])
            self.grader().grade(hello)

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
