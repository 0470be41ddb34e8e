"""Client-side pacing of requests: the :class:`RateLimiter` protocol the transport calls.

The transport's send loops call :meth:`RateLimiter.acquire` (sync) or
:meth:`RateLimiter.aacquire` (async) before every attempt, retries included, and sleep for the
seconds it returns; when the service answers 429 with ``Retry-After``, they call
:meth:`RateLimiter.backoff` so that every request sharing the limiter waits, not only the one
that was refused. A limiter never sleeps itself: it only computes waits, so the same object
serves threads and event loops, and tests drive it with a fake clock.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RateLimiter"]


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
