"""The knowledge base opened on first use and shared: the side panel and the grader search the same index.

A server starts without waiting for the index, and a set-up whose index was never built still runs (searches
return nothing and :attr:`LazyKnowledge.failure` says why).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from simulator.embedding.base import Embedder
from simulator.errors import SimulatorError
from simulator.knowledge.passage import Passage, Retriever
from simulator.settings import Settings


class LazyKnowledge:
    """Opens the knowledge base on the first search; ``None``-safe when it has not been built.

    Args:
        settings: Where the index lives.
        embedder: Returns the shared embedder (called once, when the index is opened).
    """

    def __init__(self, settings: Settings, embedder: Callable[[], Embedder | None]):
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
