"""Client-side pacing of requests: the :class:`RateLimiter` protocol the transport calls.

The transport's send loops call :meth:`RateLimiter.acquire` (sync) or
:meth:`RateLimiter.aacquire` (async) before every attempt, retries included, and sleep for the
seconds it returns; when the service answers 429 with ``Retry-After``, they call
:meth:`RateLimiter.backoff` so that every request sharing the limiter waits, not only the one
that was refused. A limiter never sleeps itself: it only computes waits, so the same object
serves threads and event loops, and tests drive it with a fake clock.

:class:`TokenBucket` is the in-process implementation behind
``QuantClient(max_requests_per_second=...)``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .errors import QuantConfigurationError

__all__ = ["RateLimiter", "TokenBucket"]


@runtime_checkable
class RateLimiter(Protocol):
    """Paces the requests of every client that shares it.

    Implement it to share a budget beyond one process (for example in a Ray actor); pass it as
    ``QuantClient(rate_limiter=...)``. Methods must be thread-safe and must not block for
    long: they return the wait, the caller sleeps.
    """

    def acquire(self) -> float:
        """Reserve the right to send one request; return the seconds to wait before sending."""
        ...

    async def aacquire(self) -> float:
        """Async twin of :meth:`acquire` (for a limiter whose state lives elsewhere)."""
        ...

    def backoff(self, seconds: float) -> None:
        """The service asked to wait ``seconds`` (a 429): delay every later reservation."""
        ...


class TokenBucket:
    """An in-process :class:`RateLimiter`: at most ``rate`` requests per second, on average.

    A token bucket written as a generic cell rate algorithm: each reservation moves a
    theoretical arrival time on by ``1 / rate`` seconds, and a request waits until that time
    (less the burst allowance). Reservations are taken under a lock and never sleep, so one
    bucket paces the sync and async calls of a client, from any thread or event loop. A
    :meth:`backoff` pushes every later reservation past the server's wait, then pacing resumes
    (no thundering herd when the wait ends).

    It limits one process; pickling gives the copy a budget of its own. Share a budget across
    processes with another :class:`RateLimiter` (for example one backed by a Ray actor).

    Args:
        rate: Requests per second (> 0).
        burst: Requests that may go at once after an idle period (>= 1; default 1: evenly
            spaced requests).
        clock: Monotonic seconds (tests pass a fake clock).

    Raises:
        QuantConfigurationError: For a rate or burst out of range.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not rate > 0:
            raise QuantConfigurationError(
                f"max_requests_per_second must be a number > 0, got {rate!r}"
            )
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
            raise QuantConfigurationError(f"burst must be an integer >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = burst
        self.clock = clock
        self._interval = 1.0 / self.rate
        self._tolerance = (burst - 1) * self._interval
        self._next = -math.inf  # theoretical arrival time of the next request
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate!r}, burst={self.burst!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_lock"] = None
        if state["clock"] is time.monotonic:
            state["clock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        if state.get("clock") is None:
            self.clock = time.monotonic

    def acquire(self) -> float:
        """Reserve one request; return the seconds to wait before sending it."""
        with self._lock:
            now = self.clock()
            arrival = max(self._next, now)
            self._next = arrival + self._interval
            return max(0.0, arrival - self._tolerance - now)

    async def aacquire(self) -> float:
        """Async twin of :meth:`acquire` (it never blocks, so it is the same)."""
        return self.acquire()

    def backoff(self, seconds: float) -> None:
        """Make every later reservation wait until ``seconds`` from now, then pace again."""
        if seconds <= 0:
            return
        with self._lock:
            self._next = max(self._next, self.clock() + seconds + self._tolerance)
