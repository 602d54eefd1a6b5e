"""BatchingEmbedder: concurrent callers get exactly their own vectors, batched together, errors reach them all."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from simulator.embedding import FakeEmbedder
from simulator.embedding.batching import BatchingEmbedder


class SlowCounting(FakeEmbedder):
    """The fake embedder, slow enough for callers to pile up, recording each batch size."""

    def __init__(self) -> None:
        super().__init__(32)
        self.batches: list[int] = []
        self.gate = threading.Event()

    def embed(self, texts: Sequence[str]):  # type: ignore[override]
        self.gate.wait(5)
        self.batches.append(len(texts))
        return super().embed(texts)


def test_concurrent_callers_get_their_own_vectors_from_shared_batches() -> None:
    inner = SlowCounting()
    batching = BatchingEmbedder(inner, max_batch=64)
    texts = [[f"第{i}句话", f"sentence {i}"] for i in range(20)]
    results: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        results[i] = batching.embed(texts[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    inner.gate.set()
    for t in threads:
        t.join(10)
    reference = FakeEmbedder(32)
    for i in range(20):
        np.testing.assert_allclose(results[i], reference.embed(texts[i]), atol=1e-6)
    assert sum(inner.batches) == 40 and len(inner.batches) < 20  # callers were served together
    assert batching.name == inner.name and batching.dim == 32
    assert batching.embed([]).shape == (0, 32)


def test_an_embedding_error_reaches_every_waiting_caller_and_the_worker_goes_on() -> None:
    class Failing(FakeEmbedder):
        fail = True

        def embed(self, texts: Sequence[str]):  # type: ignore[override]
            if self.fail:
                raise RuntimeError("model crashed")
            return super().embed(texts)

    inner = Failing(16)
    batching = BatchingEmbedder(inner)
    with pytest.raises(RuntimeError, match="model crashed"):
        batching.embed(["a"])
    inner.fail = False
    assert batching.embed(["a", "b"]).shape == (2, 16)
