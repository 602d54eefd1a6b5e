"""How many threads numpy's BLAS may use for one operation.

On this 2-core machine shared with other jobs, OpenBLAS with 2 threads is several times *slower* than with 1
as soon as another process wants a core (its threads spin waiting for each other; measured in
docs/knowledge-base.md). Query-time work (one short text, one matrix-vector product) therefore runs on one
thread; bulk embedding may use every core.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # without threadpoolctl BLAS keeps its own default
        return None
    # Scanning the loaded libraries takes ~1 ms: once per process.
    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (no-op if threadpoolctl is missing)."""
    ctl = _controller()
    if ctl is None or n <= 0:
        yield
        return
    with ctl.limit(limits=n, user_api="blas"):
        yield
