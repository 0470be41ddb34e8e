"""Client-side pacing: the RateLimiter protocol the transport calls before every attempt."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from quant_ai import (
    QuantClient,
    QuantConfigurationError,
    QuantRateLimitError,
    RateLimiter,
    TokenBucket,
)
from tests.clock import fake_clock
from tests.contract import ContractTransport

MakeClient = Callable[..., tuple[QuantClient, ContractTransport]]


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


# --------------------------------------------------------------------------- the token bucket


class Clock:
    """A fake monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_evenly_spaced_reservations() -> None:
    clock = Clock()
    bucket = TokenBucket(4, clock=clock)
    assert [bucket.acquire() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    clock.now = 10.0  # idle: the debt is paid, and an idle period does not bank requests
    assert [bucket.acquire() for _ in range(3)] == [0.0, 0.25, 0.5]


def test_waits_shrink_as_time_passes() -> None:
    clock = Clock()
    bucket = TokenBucket(2, clock=clock)
    assert bucket.acquire() == 0.0
    clock.now = 0.2
    assert bucket.acquire() == pytest.approx(0.3)
    clock.now = 1.0
    assert bucket.acquire() == 0.0


def test_burst_goes_at_once_then_paces() -> None:
    clock = Clock()
    bucket = TokenBucket(10, burst=3, clock=clock)
    assert [bucket.acquire() for _ in range(5)] == pytest.approx([0, 0, 0, 0.1, 0.2])


async def test_async_reservations_share_the_same_budget() -> None:
    clock = Clock()
    bucket = TokenBucket(5, clock=clock)
    assert bucket.acquire() == 0.0
    assert await bucket.aacquire() == pytest.approx(0.2)
    assert bucket.acquire() == pytest.approx(0.4)


def test_backoff_delays_every_later_reservation_then_paces() -> None:
    clock = Clock()
    bucket = TokenBucket(10, burst=5, clock=clock)
    bucket.backoff(3.0)
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([3.0, 3.1, 3.2])
    bucket.backoff(1.0)  # a shorter backoff never shortens the reservations already made
    assert bucket.acquire() == pytest.approx(3.3)
    bucket.backoff(0)
    assert bucket.acquire() == pytest.approx(3.4)


def test_concurrent_threads_never_share_a_slot() -> None:
    bucket = TokenBucket(100, clock=Clock())
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(w * 100) for w in waits) == list(range(400))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rate": 0}, "max_requests_per_second"),
        ({"rate": -1.5}, "max_requests_per_second"),
        ({"rate": "5"}, "max_requests_per_second"),
        ({"rate": True}, "max_requests_per_second"),
        ({"rate": float("nan")}, "max_requests_per_second"),
        ({"rate": 1, "burst": 0}, "burst"),
        ({"rate": 1, "burst": 1.5}, "burst"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(QuantConfigurationError, match=match):
        TokenBucket(**kwargs)


def test_a_bucket_pickles_with_its_own_lock() -> None:
    bucket = TokenBucket(2, burst=2)
    bucket.acquire()
    copy = pickle.loads(pickle.dumps(bucket))
    assert (copy.rate, copy.burst, copy.clock) == (2.0, 2, time.monotonic)
    assert copy._lock is not bucket._lock
    assert copy.acquire() >= 0.0
    assert repr(copy) == "TokenBucket(rate=2.0, burst=2)"


# --------------------------------------------------------------------------- through the client

CHAT_OK = {
    "response": {"role": "assistant", "content": "ok"},
    "model": "amazon.nova-lite-v1:0",
    "requestId": "req-1",
    "finishReason": "stop",
}
MESSAGES = [{"role": "user", "content": "x"}]


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=CHAT_OK)


def paced(client: QuantClient) -> list[float]:
    """Fake time for the client and its limiter; return the list its waits go to."""
    sleeps = fake_clock(client)
    limiter = client.transport.rate_limiter
    assert isinstance(limiter, TokenBucket)
    limiter.clock = client.clock
    return sleeps


async def test_sync_and_async_calls_of_a_client_share_one_pace(make_client: MakeClient) -> None:
    client, transport = make_client(ok, max_requests_per_second=4)
    sleeps = paced(client)
    client.chat(messages=MESSAGES)
    await client.achat(messages=MESSAGES)
    client.chat(messages=MESSAGES)
    await client.achat(messages=MESSAGES)
    assert sleeps == [0.25, 0.25, 0.25]
    assert len(transport.requests) == 4


async def test_streams_and_retries_are_paced_too(make_client: MakeClient) -> None:
    calls = [0]

    def flaky(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] == 1:
            return httpx.Response(503, json={"message": "busy"})
        body = 'event: done\ndata: {"complete":true}\n\n'
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=body)

    client, _ = make_client(flaky, max_requests_per_second=1)
    client.transport.retry.random = lambda: 0.0
    sleeps = paced(client)
    events = [e async for e in client.astream_chat(messages=MESSAGES)]
    assert len(events) == 1
    assert sleeps == [0.5, 0.5]  # the retry's backoff, then the rest of the pacing interval


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_429_makes_every_client_sharing_the_limiter_wait(
    make_client: MakeClient, mode: str
) -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"retry-after": "3"}, json={"message": "slow down"})

    now = [0.0]
    limiter = TokenBucket(50, clock=lambda: now[0])
    refused, _ = make_client(limited, rate_limiter=limiter, max_retries=0)
    other, transport = make_client(ok, rate_limiter=limiter)
    sleeps = fake_clock(other)
    with pytest.raises(QuantRateLimitError):
        refused.chat(messages=MESSAGES)
    if mode == "sync":
        other.chat(messages=MESSAGES)
    else:
        await other.achat(messages=MESSAGES)
    assert sleeps == [3.0]  # waited for the other client's 429 before sending anything
    assert len(transport.requests) == 1


async def test_a_custom_limiter_is_called_before_every_attempt(make_client: MakeClient) -> None:
    calls = [0]

    def flaky(request: httpx.Request) -> httpx.Response:
        calls[0] += 1
        if calls[0] == 1:
            return httpx.Response(429, headers={"retry-after": "2"}, json={"message": "no"})
        return ok(request)

    limiter = Recording(wait=0.125)
    client, _ = make_client(flaky, rate_limiter=limiter)
    await client.achat(messages=MESSAGES)
    assert limiter.acquired == 2
    assert limiter.backoffs == [2.0]
    assert client.sleeps == [0.125, 2.0, 0.125]  # type: ignore[attr-defined]


def test_client_settings_are_checked(make_client: MakeClient) -> None:
    with pytest.raises(QuantConfigurationError, match="not both"):
        QuantClient("k", "acme", max_requests_per_second=1, rate_limiter=Recording())
    with pytest.raises(QuantConfigurationError, match="RateLimiter"):
        QuantClient("k", "acme", rate_limiter=object())  # type: ignore[arg-type]
    with pytest.raises(QuantConfigurationError, match="max_requests_per_second"):
        QuantClient("k", "acme", max_requests_per_second=0)
    client = QuantClient("k", "acme", max_requests_per_second=3)
    copy = pickle.loads(pickle.dumps(client))
    assert isinstance(copy.transport.rate_limiter, TokenBucket)
    assert copy.transport.rate_limiter.rate == 3.0
    assert QuantClient("k", "acme").transport.rate_limiter is None
