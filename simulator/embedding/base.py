"""The ``Embedder`` protocol and the deterministic fake used by fast tests."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Stable identifier (stored with an index so a different embedder forces a rebuild)."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed texts; returns an array of shape ``(len(texts), dim)``."""
        ...


def normalise(v: npt.NDArray[np.floating]) -> Vectors:
    """L2-normalise rows; zero rows stay zero."""
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (v / norms).astype(np.float32)


def cosine(a: Vectors, b: Vectors) -> npt.NDArray[np.float32]:
    """Cosine similarity matrix of normalised row vectors."""
    return np.asarray(a @ b.T, dtype=np.float32)


class FakeEmbedder:
    """Deterministic bag of character n-grams hashed into a fixed number of buckets.

    Not semantic, but texts sharing words or characters land close together, which is enough for fast tests
    of code paths that use an embedder. Never used outside tests unless ``SIM_EMBEDDER=fake``.
    """

    def __init__(self, dim: int = 256):
        self._dim = dim

    @property
    def name(self) -> str:
        return f"fake-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def embed(self, texts: Sequence[str]) -> Vectors:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            t = "".join(text.lower().split())
            grams = [t[j : j + n] for n in (1, 2, 3) for j in range(max(len(t) - n + 1, 0))]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
                out[i, h % self._dim] += 1.0 if (h >> 63) == 0 else -1.0
        return normalise(out)
