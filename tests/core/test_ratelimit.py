"""Client-side pacing: the RateLimiter protocol the transport calls before every attempt."""

from __future__ import annotations

from quant_ai._ratelimit import RateLimiter


class Recording:
    """A limiter that asks for fixed waits and records what it is told."""

    def __init__(self, wait: float = 0.0) -> None:
        self.wait = wait
        self.acquired = 0
        self.backoffs: list[float] = []

    def acquire(self) -> float:
        self.acquired += 1
        return self.wait

    async def aacquire(self) -> float:
        return self.acquire()

    def backoff(self, seconds: float) -> None:
        self.backoffs.append(seconds)


def test_the_protocol_is_structural() -> None:
    assert isinstance(Recording(), RateLimiter)
    assert not isinstance(object(), RateLimiter)
