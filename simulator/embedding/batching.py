"""``BatchingEmbedder``: one embedder shared by many threads, serving them with shared batches.

A server's request threads all need the embedder (the act detector on every trainee reply, the grader, the
knowledge panel). The forward pass must not run concurrently (its BLAS threads already use every core), and a
plain lock around it made a convoy under load: with 150 simulated trainees, 29 of 32 answering threads sat
waiting for the lock while the holder waited for the GIL (``py-spy dump``, bench/web_load.py). Here callers
queue their texts and one worker thread embeds everything waiting in a single batch — a batch of 8 short texts
embeds ~2.5x faster than the same texts one by one — so throughput grows with load instead of queueing behind it.

Vectors of a text embedded in a batch differ from those of the text embedded alone by ~1e-7 (padding inside
the forward pass); nothing in the app depends on that digit.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from simulator.embedding.base import Embedder, Vectors

log = logging.getLogger(__name__)


class BatchingEmbedder:
    """Thread-safe front of an :class:`Embedder`: concurrent calls are embedded together by one worker thread.

    Args:
        inner: The embedder doing the work (called from the worker thread only).
        max_batch: Most texts in one forward pass; a larger request is still embedded whole.
    """

    def __init__(self, inner: Embedder, max_batch: int = 64):
        self.inner = inner
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[list[str], Future[Vectors]]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start = threading.Lock()

    @property
    def name(self) -> str:
        """The inner embedder's name (stored with the knowledge index)."""
        return self.inner.name

    @property
    def dim(self) -> int:
        """Vector size."""
        return self.inner.dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` (blocks until the worker has done them); returns ``(len(texts), dim)``."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        done: Future[Vectors] = Future()
        self._queue.put((list(texts), done))
        self._ensure_worker()
        return done.result()

    def _ensure_worker(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            return
        with self._start:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="embedder", daemon=True)
                self._worker.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            size = len(batch[0][0])
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
                size += len(item[0])
            texts = [t for request, _ in batch for t in request]
            try:
                vectors = np.asarray(self.inner.embed(texts), dtype=np.float32)
            except BaseException as exc:  # every waiting caller gets the error; the worker goes on
                log.exception("embedding a batch of %d texts failed", len(texts))
                for _, done in batch:
                    done.set_exception(exc)
                continue
            start = 0
            for request, done in batch:
                done.set_result(vectors[start : start + len(request)])
                start += len(request)
