"""QuantClient against the emulator's faults, sync and async: retries, Retry-After, seeded
failures, dropped connections (before and after the first event), latency and slow events.

Retry waits are recorded, not slept; the emulator counts the attempts. Every documented JSON
response the client receives is checked against the spec by an httpx response hook.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from quant_ai import (
    ContentEvent,
    DoneEvent,
    QuantClient,
    QuantConnectionError,
    QuantRateLimitError,
    QuantStreamError,
    QuantTimeoutError,
    StartEvent,
    StreamEvent,
)
from quant_ai.emulator import QuantEmulator
from tests.emulator.helpers import MODEL, acheck_response, check_response

MODES = ["sync", "async"]
MESSAGES = [{"role": "user", "content": "fault tolerant hello"}]
ANSWER = 'Emulated answer to "fault tolerant hello".'

Factory = Callable[..., QuantClient]


@pytest.fixture
async def make_qc(emulator: QuantEmulator) -> AsyncIterator[Factory]:
    """QuantClients on loopback with spec-checking hooks; retry waits go to ``client.sleeps``."""
    made: list[tuple[httpx.Client, httpx.AsyncClient]] = []

    def factory(
        fault: str | None = None, *, emu: QuantEmulator = emulator, **kwargs: Any
    ) -> QuantClient:
        sync = httpx.Client(event_hooks={"response": [check_response]})
        asynchronous = httpx.AsyncClient(event_hooks={"response": [acheck_response]})
        made.append((sync, asynchronous))
        client = QuantClient(
            api_key="qc_test",
            organization="acme",
            base_url=emu.base_url,
            default_headers={"X-Emulator-Fault": fault} if fault else None,
            http_client=sync,
            async_http_client=asynchronous,
            **kwargs,
        )
        sleeps: list[float] = []
        client.sleeps = sleeps  # type: ignore[attr-defined]
        client.transport.sleep = sleeps.append

        async def asleep(seconds: float) -> None:
            sleeps.append(seconds)

        client.transport.asleep = asleep
        client.transport.retry.random = lambda: 0.0  # no jitter: exact waits
        return client

    yield factory
    for sync, asynchronous in made:
        sync.close()
        await asynchronous.aclose()


async def chat(client: QuantClient, mode: str, **kwargs: Any) -> str:
    if mode == "sync":
        return client.chat(model_id=MODEL, messages=MESSAGES, **kwargs).text
    return (await client.achat(model_id=MODEL, messages=MESSAGES, **kwargs)).text


async def stream(client: QuantClient, mode: str, sink: list[StreamEvent]) -> None:
    if mode == "sync":
        for event in client.stream_chat(model_id=MODEL, messages=MESSAGES):
            sink.append(event)
    else:
        async for event in client.astream_chat(model_id=MODEL, messages=MESSAGES):
            sink.append(event)


class Attempts:
    """Requests the emulator saw since the start of the block."""

    def __init__(self, emulator: QuantEmulator) -> None:
        self.emulator = emulator
        self.start = emulator.requests

    @property
    def count(self) -> int:
        return self.emulator.requests - self.start


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "waits"),
    [
        ("status=429;count=2;retry_after=3", [3.0, 3.0]),
        ("status=503;count=1;retry_after=1", [1.0]),
        ("status=500;count=2", [0.5, 1.0]),  # no Retry-After: exponential backoff
    ],
    ids=["429-retry-after", "503-retry-after", "500-backoff"],
)
async def test_status_faults_are_retried_with_the_right_waits(
    emulator: QuantEmulator, make_qc: Factory, mode: str, fault: str, waits: list[float]
) -> None:
    client = make_qc(f"{fault};key=client-{mode}-{fault}")
    attempts = Attempts(emulator)
    assert await chat(client, mode) == ANSWER
    assert attempts.count == len(waits) + 1
    assert client.sleeps == waits  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_retries_exhausted_keep_retry_after(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    client = make_qc(f"status=429;count=9;retry_after=2;key=exhaust-{mode}", max_retries=2)
    attempts = Attempts(emulator)
    with pytest.raises(QuantRateLimitError) as info:
        await chat(client, mode)
    assert info.value.retry_after == 2.0
    assert info.value.message == "Emulated fault: HTTP 429"
    assert attempts.count == 3
    assert client.sleeps == [2.0, 2.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_seeded_failure_rate(emulator: QuantEmulator, make_qc: Factory, mode: str) -> None:
    client = make_qc(f"rate=0.5;seed=3;status=503;key=rate-{mode}", max_retries=8)
    # The emulator draws one number per request from random.Random(seed): replay it.
    rng = random.Random(3)
    expected = 0
    for _ in range(8):
        expected += 1
        while rng.random() < 0.5:
            expected += 1
    attempts = Attempts(emulator)
    for _ in range(8):
        if mode == "sync":
            assert client.list_models().count == 10
        else:
            assert (await client.alist_models()).count == 10
    assert attempts.count == expected > 8
    assert len(client.sleeps) == expected - 8  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_stream_dropped_mid_stream_is_not_retried(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    client = make_qc("drop_after=2")
    attempts = Attempts(emulator)
    seen: list[StreamEvent] = []
    with pytest.raises(QuantStreamError) as info:
        await stream(client, mode, seen)
    assert [type(e) for e in seen] == [StartEvent, ContentEvent]
    assert info.value.partial_text == "Emulated"
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req-")
    assert attempts.count == 1
    assert client.sleeps == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_stream_dropped_before_the_first_event_is_retried(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    client = make_qc("drop_after=0", max_retries=2)
    attempts = Attempts(emulator)
    seen: list[StreamEvent] = []
    with pytest.raises(QuantConnectionError) as info:
        await stream(client, mode, seen)
    assert not isinstance(info.value, QuantStreamError)
    assert seen == []
    assert attempts.count == 3
    assert client.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_buffered_answer_dropped_mid_body_is_retried(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    client = make_qc("drop_after=1", max_retries=1)
    attempts = Attempts(emulator)
    with pytest.raises(QuantConnectionError):
        await chat(client, mode)
    assert attempts.count == 2
    assert client.sleeps == [0.5]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_latency_within_and_beyond_the_timeout(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    before = emulator.injected_latency_s
    assert await chat(make_qc("latency=30"), mode) == ANSWER
    assert emulator.injected_latency_s - before == pytest.approx(0.03)
    # 2 s of latency against a 0.2 s read timeout: a timeout error after one retry.
    slow = make_qc("latency=2000", timeout=httpx.Timeout(5.0, read=0.2), max_retries=1)
    attempts = Attempts(emulator)
    with pytest.raises(QuantTimeoutError):
        await chat(slow, mode)
    assert attempts.count == 2
    assert slow.sleeps == [0.5]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_slow_events_stream_the_whole_answer(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    before = emulator.injected_event_delay_s
    seen: list[StreamEvent] = []
    await stream(make_qc("event_delay=5"), mode, seen)
    assert "".join(e.delta for e in seen if isinstance(e, ContentEvent)) == ANSWER
    assert isinstance(seen[-1], DoneEvent)
    assert emulator.injected_event_delay_s - before == pytest.approx(0.005 * (len(seen) - 1))


@pytest.fixture(scope="module")
def slow_server() -> Iterator[QuantEmulator]:
    """Server-level slow events (its pauses go on after the client gave up, so not shared)."""
    with QuantEmulator(event_delay_ms=2000, content_events=1) as emu:
        yield emu


@pytest.mark.parametrize("mode", MODES)
async def test_events_slower_than_the_read_timeout_fail_mid_stream(
    slow_server: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    client = make_qc(emu=slow_server, timeout=httpx.Timeout(5.0, read=0.3), max_retries=3)
    attempts = Attempts(slow_server)
    seen: list[StreamEvent] = []
    with pytest.raises(QuantStreamError, match="mid-stream") as info:
        await stream(client, mode, seen)
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert [type(e) for e in seen] == [StartEvent]
    assert attempts.count == 1  # after the first event: not retried
    assert client.sleeps == []  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- state-creating requests


async def start(client: QuantClient, mode: str) -> str:
    if mode == "sync":
        return client.start_chat(model_id=MODEL, messages=MESSAGES).request_id
    return (await client.astart_chat(model_id=MODEL, messages=MESSAGES)).request_id


@pytest.mark.parametrize("mode", MODES)
async def test_start_chat_is_not_retried_after_a_read_timeout(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    """The service got the request (it may have started the execution): no second start."""
    client = make_qc(f"latency=1500;key=start-timeout-{mode}", timeout=httpx.Timeout(5.0, read=0.2))
    attempts = Attempts(emulator)
    with pytest.raises(QuantTimeoutError) as info:
        await start(client, mode)
    assert attempts.count == 1  # exactly one request reached the emulator
    assert client.sleeps == []  # type: ignore[attr-defined]
    assert "ReadTimeout" in str(info.value)
    assert "may have reached the service and started" in str(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_start_chat_is_not_retried_when_the_connection_drops_after_the_body(
    emulator: QuantEmulator, make_qc: Factory, mode: str
) -> None:
    """The execution was created, its 202 was lost on the way: the client must not start
    another one (a replayable request is retried here, see above)."""
    client = make_qc("drop_after=1", max_retries=3)
    attempts = Attempts(emulator)
    with pytest.raises(QuantConnectionError, match="may have reached the service"):
        await start(client, mode)
    assert attempts.count == 1
    assert client.sleeps == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("fault", "waits"),
    [("status=503;count=1;retry_after=1", [1.0]), ("status=429;count=2;retry_after=2", [2.0, 2.0])],
    ids=["503", "429"],
)
async def test_start_chat_is_retried_when_the_service_did_not_process_it(
    emulator: QuantEmulator, make_qc: Factory, mode: str, fault: str, waits: list[float]
) -> None:
    client = make_qc(f"{fault};key=start-{len(waits)}-{mode}")
    attempts = Attempts(emulator)
    request_id = await start(client, mode)
    assert request_id
    assert attempts.count == len(waits) + 1
    assert client.sleeps == waits  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_start_chat_is_retried_when_it_cannot_connect(make_qc: Factory, mode: str) -> None:
    with QuantEmulator() as gone:
        pass  # a port nothing listens on any more: the connection is refused
    client = make_qc(emu=gone, max_retries=2)
    with pytest.raises(QuantConnectionError) as info:
        await start(client, mode)
    assert "ConnectError" in str(info.value)
    assert "may have reached" not in str(info.value)
    assert client.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]
