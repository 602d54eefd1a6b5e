"""A per-user token bucket for chat messages and searches, so one client cannot flood the server.

In memory, per process: with several app instances each enforces its own limit (a shared limiter would
belong in front of them). Humans type far slower than the default allows; scripts hit the limit at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Allow bursts of ``burst`` actions, refilled at ``per_second``, per key.

    Args:
        burst: Bucket size.
        per_second: Refill rate.
        clock: Monotonic clock (injected in tests).
    """

    def __init__(self, burst: int = 8, per_second: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self.burst = burst
        self.per_second = per_second
        self.clock = clock
        self._buckets: dict[object, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: object) -> bool:
        """Take one token for ``key``; False when the bucket is empty."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow without bound
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 3600}
            return True

    def retry_after(self, key: object) -> float:
        """Seconds until ``key`` may act again."""
        with self._lock:
            tokens, _ = self._buckets.get(key, (float(self.burst), 0.0))
        return max(0.0, (1.0 - tokens) / self.per_second)
