"""The transport: which failures are retried, how often, how long the client waits; timeouts.

Waits are recorded in ``client.sleeps`` (see ``tests/conftest.py``); nothing really sleeps.

Timeouts (at the end): finite defaults, a longer read for image generation, and caller
overrides; every request carries its timeout in ``request.extensions["timeout"]``, so nothing
waits.
"""

from __future__ import annotations

import base64
import email.utils
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from quant_ai import (
    DEFAULT_TIMEOUT,
    ChatResponse,
    ContentEvent,
    DoneEvent,
    QuantAPIError,
    QuantBadRequestError,
    QuantClient,
    QuantConflictError,
    QuantConnectionError,
    QuantRateLimitError,
    QuantServerError,
    QuantStreamError,
    QuantTimeoutError,
    RetryPolicy,
    StreamEvent,
)
from quant_ai._transport import IMAGE_TIMEOUT, RETRY_STATUSES, parse_retry_after
from tests.contract import ContractTransport

MakeClient = Callable[..., tuple[QuantClient, ContractTransport]]
MODES = ["sync", "async"]
MESSAGES = [{"role": "user", "content": "x"}]
CHAT_OK = {
    "response": {"role": "assistant", "content": "The capital of Australia is Canberra."},
    "model": "amazon.nova-lite-v1:0",
    "requestId": "req-abc123",
    "finishReason": "stop",
    "usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20, "costCents": 0.18},
}
STREAM_OK = (
    'event: start\ndata: {"requestId":"req-s","model":"m"}\n\n'
    'event: content\ndata: {"delta":"héllo ✓"}\n\n'
    'event: done\ndata: {"complete":true,"usage":{"inputTokens":1,"outputTokens":2,"totalTokens":3}}\n\n'
)

Step = Callable[[httpx.Request], httpx.Response]


# --------------------------------------------------------------------------- helpers


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A streaming body of the given chunks that may fail once they are sent."""

    def __init__(self, chunks: Sequence[bytes], error: Exception | None = None) -> None:
        self.chunks = list(chunks)
        self.error = error

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks
        if self.error is not None:
            raise self.error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.error is not None:
            raise self.error


def status(code: int, headers: dict[str, str] | None = None, body: Any = None) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            code, headers=headers, json=body if body is not None else {"message": f"status {code}"}
        )

    return step


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=CHAT_OK)


def sse_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, headers={"content-type": "text/event-stream"}, stream=ChunkStream([STREAM_OK.encode()])
    )


def fail(exc_type: type[httpx.TransportError]) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"simulated {exc_type.__name__}", request=request)

    return step


class Script:
    """A handler playing the given steps in order (the last one repeats)."""

    def __init__(self, *steps: Step) -> None:
        self.steps = steps
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        return step(request)


async def chat(client: QuantClient, mode: str) -> ChatResponse:
    if mode == "sync":
        return client.chat(messages=MESSAGES)
    return await client.achat(messages=MESSAGES)


async def stream(
    client: QuantClient, mode: str, sink: list[StreamEvent] | None = None
) -> list[StreamEvent]:
    events: list[StreamEvent] = [] if sink is None else sink
    if mode == "sync":
        for event in client.stream_chat(messages=MESSAGES):
            events.append(event)
    else:
        async for event in client.astream_chat(messages=MESSAGES):
            events.append(event)
    return events


def pin_jitter(client: QuantClient, value: float) -> None:
    client.transport.retry.random = lambda: value


def http_date(seconds_from_now: float) -> str:
    when = datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)
    return email.utils.format_datetime(when, usegmt=True)


# --------------------------------------------------------------------------- statuses


EXPECTED_CLASS: dict[int, type[QuantAPIError]] = {
    408: QuantAPIError,
    409: QuantConflictError,
    429: QuantRateLimitError,
    500: QuantServerError,
    502: QuantServerError,
    503: QuantServerError,
    504: QuantServerError,
}


def test_retry_statuses_are_the_documented_ones() -> None:
    assert frozenset(EXPECTED_CLASS) == RETRY_STATUSES


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", sorted(EXPECTED_CLASS))
@pytest.mark.parametrize("max_retries", [1, 3])
async def test_retryable_status_exhausts_retries(
    make_client: MakeClient, mode: str, code: int, max_retries: int
) -> None:
    handler = Script(status(code))
    client, transport = make_client(handler, max_retries=max_retries)
    pin_jitter(client, 0.0)
    with pytest.raises(EXPECTED_CLASS[code]) as info:
        await chat(client, mode)
    assert type(info.value) is EXPECTED_CLASS[code]
    assert info.value.status_code == code
    assert handler.calls == len(transport.requests) == max_retries + 1
    assert client.sleeps == [0.5, 1.0, 2.0][:max_retries]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [400, 401, 403, 404, 418, 422])
async def test_client_errors_are_not_retried(make_client: MakeClient, mode: str, code: int) -> None:
    handler = Script(status(code), ok)
    client, _ = make_client(handler, max_retries=5)
    with pytest.raises(QuantAPIError) as info:
        await chat(client, mode)
    assert info.value.status_code == code
    assert handler.calls == 1
    assert client.sleeps == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [400, 422])
async def test_client_errors_with_retry_after_are_not_retried(
    make_client: MakeClient, mode: str, code: int
) -> None:
    handler = Script(status(code, {"retry-after": "1"}), ok)
    client, _ = make_client(handler, max_retries=5)
    with pytest.raises(QuantBadRequestError):
        await chat(client, mode)
    assert handler.calls == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "failures",
    [
        [status(503)],
        [status(429), status(502)],
        [fail(httpx.ConnectError), status(500), fail(httpx.ReadTimeout)],
    ],
    ids=["one", "two", "three-mixed"],
)
async def test_success_after_failures(
    make_client: MakeClient, mode: str, failures: list[Step]
) -> None:
    handler = Script(*failures, ok)
    client, _ = make_client(handler, max_retries=3)
    pin_jitter(client, 0.0)
    answer = await chat(client, mode)
    assert answer.text == "The capital of Australia is Canberra."
    assert answer.request_id == "req-abc123"
    assert handler.calls == len(failures) + 1
    assert client.sleeps == [0.5, 1.0, 2.0][: len(failures)]  # type: ignore[attr-defined]
    assert client.usage.requests == 1


# --------------------------------------------------------------------------- waits


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("jitter", "expected"),
    [
        (0.0, [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]),
        (1.0, [0.375, 0.75, 1.5, 3.0, 6.0, 6.0, 6.0]),
        (0.5, [0.4375, 0.875, 1.75, 3.5, 7.0, 7.0, 7.0]),
    ],
)
async def test_exponential_backoff_values(
    make_client: MakeClient, mode: str, jitter: float, expected: list[float]
) -> None:
    handler = Script(status(503))
    client, _ = make_client(handler, max_retries=7)
    pin_jitter(client, jitter)
    with pytest.raises(QuantServerError):
        await chat(client, mode)
    assert client.sleeps == pytest.approx(expected)  # type: ignore[attr-defined]
    assert handler.calls == 8


@pytest.mark.parametrize("mode", MODES)
async def test_backoff_jitter_stays_within_bounds(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(502))
    client, _ = make_client(handler, max_retries=6)
    with pytest.raises(QuantServerError):
        await chat(client, mode)
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    sleeps: list[float] = client.sleeps  # type: ignore[attr-defined]
    assert len(sleeps) == len(bases)
    for wait, base in zip(sleeps, bases, strict=True):
        assert 0.75 * base <= wait <= base


def test_retry_policy_delay_directly() -> None:
    policy = RetryPolicy(3, initial_delay=1.0, max_delay=5.0, max_retry_after=10.0)
    policy.random = lambda: 0.0
    assert [policy.delay(n) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    policy.random = lambda: 1.0
    assert [policy.delay(n) for n in range(4)] == [0.75, 1.5, 3.0, 3.75]
    assert policy.delay(0, 3.0) == 3.0
    assert policy.delay(0, 30.0) == 10.0
    assert policy.delay(0, 0.0) == 0.0
    with pytest.raises(ValueError, match="max_retries"):
        RetryPolicy(-1)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [429, 503])
@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), (" 12 ", 12.0), ("3600", 60.0)],
)
async def test_retry_after_seconds(
    make_client: MakeClient, mode: str, code: int, header: str, expected: float
) -> None:
    handler = Script(status(code, {"retry-after": header}), ok)
    client, _ = make_client(handler)
    pin_jitter(client, 0.0)
    answer = await chat(client, mode)
    assert answer.text
    assert client.sleeps == [expected]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_http_date(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(429, {"retry-after": http_date(30)}), ok)
    client, _ = make_client(handler)
    pin_jitter(client, 0.0)
    await chat(client, mode)
    [wait] = client.sleeps  # type: ignore[attr-defined]
    assert 28.0 <= wait <= 30.0  # the date has a one-second resolution


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: retry at once
        ("Fri, 01 Jan 2100 00:00:00 GMT", 60.0),  # far away: capped
    ],
)
async def test_retry_after_http_date_bounds(
    make_client: MakeClient, mode: str, header: str, expected: float
) -> None:
    handler = Script(status(503, {"retry-after": header}), ok)
    client, _ = make_client(handler)
    await chat(client, mode)
    assert client.sleeps == [expected]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_capped_at_max_retry_after(make_client: MakeClient, mode: str) -> None:
    handler = Script(
        status(429, {"retry-after": "100"}), status(429, {"retry-after": http_date(600)}), ok
    )
    client, _ = make_client(handler)
    client.transport.retry.max_retry_after = 5.0
    await chat(client, mode)
    assert client.sleeps == [5.0, 5.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("header", ["soon", "", "-"])
async def test_unparseable_retry_after_falls_back_to_backoff(
    make_client: MakeClient, mode: str, header: str
) -> None:
    handler = Script(status(503, {"retry-after": header}), ok)
    client, _ = make_client(handler)
    pin_jitter(client, 0.0)
    await chat(client, mode)
    assert client.sleeps == [0.5]  # type: ignore[attr-defined]


def test_parse_retry_after() -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("-5") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("later") is None


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limit_error_keeps_retry_after(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(429, {"retry-after": "3"}))
    client, _ = make_client(handler, max_retries=2)
    with pytest.raises(QuantRateLimitError) as info:
        await chat(client, mode)
    assert info.value.retry_after == 3.0
    assert client.sleeps == [3.0, 3.0]  # type: ignore[attr-defined]
    assert handler.calls == 3


# --------------------------------------------------------------------------- switches


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("step", "error"),
    [
        (status(503), QuantServerError),
        (status(429, {"retry-after": "1"}), QuantRateLimitError),
        (fail(httpx.ConnectError), QuantConnectionError),
        (fail(httpx.ReadTimeout), QuantTimeoutError),
    ],
    ids=["503", "429", "connect", "timeout"],
)
async def test_max_retries_zero_disables(
    make_client: MakeClient, mode: str, step: Step, error: type[Exception]
) -> None:
    handler = Script(step, ok)
    client, _ = make_client(handler, max_retries=0)
    assert client.max_retries == 0
    with pytest.raises(error):
        await chat(client, mode)
    assert handler.calls == 1
    assert client.sleeps == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [429, 500, 503])
async def test_x_should_retry_false_is_respected(
    make_client: MakeClient, mode: str, code: int
) -> None:
    handler = Script(status(code, {"x-should-retry": "false", "retry-after": "1"}), ok)
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(QuantAPIError) as info:
        await chat(client, mode)
    assert info.value.status_code == code
    assert handler.calls == 1
    assert client.sleeps == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_x_should_retry_true_keeps_retrying(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(503, {"x-should-retry": "true"}), ok)
    client, _ = make_client(handler, max_retries=3)
    await chat(client, mode)
    assert handler.calls == 2


# --------------------------------------------------------------------------- connection errors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "exc_type",
    [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError],
)
async def test_connection_errors_retried_then_raised(
    make_client: MakeClient, mode: str, exc_type: type[httpx.TransportError]
) -> None:
    handler = Script(fail(exc_type))
    client, transport = make_client(handler, max_retries=2)
    pin_jitter(client, 0.0)
    with pytest.raises(QuantConnectionError) as info:
        await chat(client, mode)
    assert not isinstance(info.value, QuantTimeoutError)
    assert exc_type.__name__ in str(info.value)
    assert isinstance(info.value.__cause__, exc_type)
    assert handler.calls == len(transport.requests) == 3
    assert client.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "exc_type", [httpx.ReadTimeout, httpx.ConnectTimeout, httpx.WriteTimeout, httpx.PoolTimeout]
)
async def test_timeouts_retried_then_quant_timeout_error(
    make_client: MakeClient, mode: str, exc_type: type[httpx.TransportError]
) -> None:
    handler = Script(fail(exc_type))
    client, _ = make_client(handler, max_retries=2)
    pin_jitter(client, 1.0)
    with pytest.raises(QuantTimeoutError) as info:
        await chat(client, mode)
    assert isinstance(info.value, QuantConnectionError)
    assert "timed out" in str(info.value)
    assert handler.calls == 3
    assert client.sleeps == [0.375, 0.75]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- streams


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("failures", "waits"),
    [
        ([status(503)], [0.5]),
        ([status(429, {"retry-after": "2"})], [2.0]),
        ([fail(httpx.ConnectError)], [0.5]),
        ([fail(httpx.ConnectTimeout), status(502)], [0.5, 1.0]),
    ],
    ids=["503", "429-retry-after", "connect", "timeout-then-502"],
)
async def test_stream_retried_before_first_event(
    make_client: MakeClient, mode: str, failures: list[Step], waits: list[float]
) -> None:
    handler = Script(*failures, sse_ok)
    client, transport = make_client(handler, max_retries=2)
    pin_jitter(client, 0.0)
    events = await stream(client, mode)
    assert "".join(e.delta for e in events if isinstance(e, ContentEvent)) == "héllo ✓"
    assert isinstance(events[-1], DoneEvent)
    assert handler.calls == len(failures) + 1
    assert [op for op, _ in transport.requests] == ["chatInferenceStream"] * handler.calls
    assert client.sleeps == waits  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_stream_retry_after_honoured(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(429, {"retry-after": "2"}), sse_ok)
    client, _ = make_client(handler)
    await stream(client, mode)
    assert client.sleeps == [2.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_stream_body_failing_before_first_frame_is_retried(
    make_client: MakeClient, mode: str
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        # A keep-alive comment and half a frame, then the connection drops.
        chunks = [b": ping\n\n", b'event: start\ndata: {"requ']
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=ChunkStream(chunks, httpx.ReadError("connection reset")),
        )

    handler = Script(broken, sse_ok)
    client, _ = make_client(handler)
    pin_jitter(client, 0.0)
    events = await stream(client, mode)
    assert [type(e).__name__ for e in events] == ["StartEvent", "ContentEvent", "DoneEvent"]
    assert handler.calls == 2
    assert client.sleeps == [0.5]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("step", "error"),
    [(status(503), QuantServerError), (fail(httpx.ConnectError), QuantConnectionError)],
    ids=["503", "connect"],
)
async def test_stream_retries_exhausted(
    make_client: MakeClient, mode: str, step: Step, error: type[Exception]
) -> None:
    handler = Script(step)
    client, _ = make_client(handler, max_retries=2)
    pin_jitter(client, 0.0)
    with pytest.raises(error) as info:
        await stream(client, mode)
    assert not isinstance(info.value, QuantStreamError)
    assert handler.calls == 3
    assert client.sleeps == [0.5, 1.0]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [400, 401, 404, 422])
async def test_stream_client_errors_not_retried(
    make_client: MakeClient, mode: str, code: int
) -> None:
    handler = Script(status(code), sse_ok)
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(QuantAPIError) as info:
        await stream(client, mode)
    assert info.value.status_code == code
    assert handler.calls == 1


@pytest.mark.parametrize("mode", MODES)
async def test_stream_x_should_retry_false(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(503, {"x-should-retry": "false"}), sse_ok)
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(QuantServerError):
        await stream(client, mode)
    assert handler.calls == 1


def mid_stream_failure(exc: Exception) -> Step:
    def step(request: httpx.Request) -> httpx.Response:
        chunks = [
            b'event: start\ndata: {"requestId":"req-mid","model":"m"}\n\n',
            'event: content\ndata: {"delta":"Héllo "}\n\n'.encode(),
            'event: content\ndata: {"delta":"wör'.encode()[:-1],  # cut inside a UTF-8 sequence
        ]
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=ChunkStream(chunks, exc)
        )

    return step


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadError("connection reset by peer"),
        httpx.RemoteProtocolError("peer closed"),
        httpx.ReadTimeout("read timed out"),
    ],
    ids=["read-error", "protocol-error", "read-timeout"],
)
async def test_stream_not_retried_after_first_event(
    make_client: MakeClient, mode: str, exc: Exception
) -> None:
    handler = Script(mid_stream_failure(exc), sse_ok)
    client, transport = make_client(handler, max_retries=3)
    seen: list[StreamEvent] = []
    with pytest.raises(QuantStreamError, match="mid-stream") as info:
        await stream(client, mode, seen)
    assert isinstance(info.value.__cause__, type(exc))
    assert handler.calls == len(transport.requests) == 1
    assert client.sleeps == []  # type: ignore[attr-defined]
    assert [type(e).__name__ for e in seen] == ["StartEvent", "ContentEvent"]
    assert not isinstance(info.value, QuantConnectionError)


# --------------------------------------------------------------------------- partial text


@pytest.mark.parametrize("mode", MODES)
async def test_stream_error_after_first_event_keeps_partial_text(
    make_client: MakeClient, mode: str
) -> None:
    """A connection lost mid-stream must keep the text and request id received so far."""
    handler = Script(mid_stream_failure(httpx.ReadError("connection reset by peer")), sse_ok)
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(QuantStreamError) as info:
        await stream(client, mode)
    assert info.value.partial_text == "Héllo "
    assert info.value.request_id == "req-mid"
    assert handler.calls == 1


# --------------------------------------------------------------------------- timeouts
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16).decode()
BODIES: dict[str, Any] = {
    "/chat": {"response": {"role": "assistant", "content": "ok"}, "finishReason": "stop"},
    "/embeddings": {
        "embeddings": [0.1],
        "model": "amazon.titan-embed-text-v2:0",
        "dimension": 1,
        "usage": {"inputTokens": 1, "totalTokens": 1},
    },
    "/image-generation": {"images": [PNG]},
    "/models": {"count": 0, "models": []},
}
STREAM = 'event: content\ndata: {"delta":"ok"}\n\nevent: done\ndata: {"complete":true}\n\n'


def recorder(seen: dict[str, dict[str, float | None]]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/ai", 1)[1]
        seen[path] = dict(request.extensions["timeout"])
        if path == "/chat/stream":
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=STREAM)
        return httpx.Response(200, json=BODIES[path])

    return handler


async def call_everything(client: QuantClient, mode: str) -> None:
    image = {"task_type": "TEXT_IMAGE", "text_to_image_params": {"text": "a fox"}}
    if mode == "sync":
        client.chat(messages=MESSAGES)
        list(client.stream_chat(messages=MESSAGES))
        client.embed("x")
        client.generate_image(**image)
        client.list_models()
    else:
        await client.achat(messages=MESSAGES)
        [e async for e in client.astream_chat(messages=MESSAGES)]
        await client.aembed("x")
        await client.agenerate_image(**image)
        await client.alist_models()


def as_dict(timeout: httpx.Timeout) -> dict[str, float | None]:
    return dict(timeout.as_dict())


def test_defaults_are_finite_and_image_reads_wait_longer() -> None:
    for timeout in (DEFAULT_TIMEOUT, IMAGE_TIMEOUT):
        assert all(v is not None and 0 < v < 3600 for v in as_dict(timeout).values())
    assert DEFAULT_TIMEOUT.connect == IMAGE_TIMEOUT.connect
    assert IMAGE_TIMEOUT.read is not None
    assert DEFAULT_TIMEOUT.read is not None
    assert IMAGE_TIMEOUT.read >= 300 > DEFAULT_TIMEOUT.read  # the spec: images take minutes


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_default_timeouts_per_operation(make_client: MakeClient, mode: str) -> None:
    seen: dict[str, dict[str, float | None]] = {}
    client, _ = make_client(recorder(seen))
    await call_everything(client, mode)
    assert seen == {
        "/chat": as_dict(DEFAULT_TIMEOUT),
        "/chat/stream": as_dict(DEFAULT_TIMEOUT),
        "/embeddings": as_dict(DEFAULT_TIMEOUT),
        "/image-generation": as_dict(IMAGE_TIMEOUT),
        "/models": as_dict(DEFAULT_TIMEOUT),
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (30, {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}),
        (
            httpx.Timeout(5.0, connect=1.0, read=600.0),
            {"connect": 1.0, "read": 600.0, "write": 5.0, "pool": 5.0},
        ),
    ],
    ids=["seconds", "httpx.Timeout"],
)
async def test_caller_timeout_applies_to_every_operation(
    make_client: MakeClient, mode: str, given: float | httpx.Timeout, expected: dict[str, float]
) -> None:
    seen: dict[str, dict[str, float | None]] = {}
    client, _ = make_client(recorder(seen), timeout=given)
    await call_everything(client, mode)
    assert set(seen) == {"/chat", "/chat/stream", "/embeddings", "/image-generation", "/models"}
    assert all(value == expected for value in seen.values()), seen


# --------------------------------------------------------------------------- state-creating requests

ACCEPTED = {
    "requestId": "exec-1",
    "status": "queued",
    "message": "Execution started.",
    "pollUrl": "/ai/chat/executions/exec-1",
}


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json=ACCEPTED)


async def start(client: QuantClient, mode: str, via_stream: bool = False) -> str:
    if mode == "sync":
        return client.start_chat(messages=MESSAGES, via_stream=via_stream).request_id
    return (await client.astart_chat(messages=MESSAGES, via_stream=via_stream)).request_id


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("via_stream", [False, True], ids=["chat", "chat-stream"])
@pytest.mark.parametrize(
    "exc_type",
    [
        httpx.ReadTimeout,
        httpx.WriteError,
        httpx.WriteTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ],
)
async def test_start_chat_is_not_retried_once_it_may_have_arrived(
    make_client: MakeClient, mode: str, via_stream: bool, exc_type: type[httpx.TransportError]
) -> None:
    handler = Script(fail(exc_type), accepted)
    client, transport = make_client(handler, max_retries=3)
    with pytest.raises(QuantConnectionError) as info:
        await start(client, mode, via_stream)
    assert handler.calls == len(transport.requests) == 1
    assert client.sleeps == []  # type: ignore[attr-defined]
    message = str(info.value)
    assert exc_type.__name__ in message
    assert "may have reached the service and started" in message
    assert "not retried" in message
    assert isinstance(info.value, QuantTimeoutError) == issubclass(exc_type, httpx.TimeoutException)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("failure", "wait"),
    [
        (fail(httpx.ConnectError), 0.5),
        (fail(httpx.ConnectTimeout), 0.5),
        (fail(httpx.PoolTimeout), 0.5),
        (status(503), 0.5),
        (status(429, {"retry-after": "2"}), 2.0),
        (status(408), 0.5),
    ],
    ids=["connect", "connect-timeout", "pool-timeout", "503", "429", "408"],
)
async def test_start_chat_is_retried_when_it_did_not_arrive(
    make_client: MakeClient, mode: str, failure: Step, wait: float
) -> None:
    handler = Script(failure, accepted)
    client, transport = make_client(handler, max_retries=2)
    pin_jitter(client, 0.0)
    assert await start(client, mode) == "exec-1"
    assert handler.calls == len(transport.requests) == 2
    assert client.sleeps == [wait]  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", [409, 500, 502, 504])
async def test_start_chat_is_not_retried_on_statuses_that_may_follow_processing(
    make_client: MakeClient, mode: str, code: int
) -> None:
    handler = Script(status(code), accepted)
    client, _ = make_client(handler, max_retries=3)
    with pytest.raises(QuantAPIError) as info:
        await start(client, mode)
    assert info.value.status_code == code
    assert handler.calls == 1


@pytest.mark.parametrize("mode", MODES)
async def test_start_chat_is_retried_when_the_service_says_it_is_safe(
    make_client: MakeClient, mode: str
) -> None:
    handler = Script(status(500, {"x-should-retry": "true"}), accepted)
    client, _ = make_client(handler, max_retries=3)
    assert await start(client, mode) == "exec-1"
    assert handler.calls == 2


@pytest.mark.parametrize("mode", MODES)
async def test_replayable_is_a_keyword_of_request_and_arequest(
    make_client: MakeClient, mode: str
) -> None:
    handler = Script(fail(httpx.ReadTimeout), ok)
    client, _ = make_client(handler, max_retries=2)
    url = client.config.ai_url("/chat")
    body = b'{"modelId":"amazon.nova-lite-v1:0","messages":[{"role":"user","content":"x"}]}'
    with pytest.raises(QuantTimeoutError, match="may have reached"):
        if mode == "sync":
            client.transport.request("POST", url, body=body, replayable=False)
        else:
            await client.transport.arequest("POST", url, body=body, replayable=False)
    assert handler.calls == 1
    handler.calls = 0
    if mode == "sync":
        response = client.transport.request("POST", url, body=body)
    else:
        response = await client.transport.arequest("POST", url, body=body)
    assert response.json() == CHAT_OK  # the default is replayable: retried after the timeout
    assert handler.calls == 2


# --------------------------------------------------------------------------- key hygiene

KEY = "qc_live_super_secret_key_123"


def chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def assert_no_key_in_chain(error: BaseException) -> None:
    for exc in chain(error):
        request = getattr(exc, "_request", None)
        if request is not None:
            assert "authorization" not in request.headers
        assert KEY not in repr(exc.args)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ReadTimeout, httpx.WriteError])
async def test_connection_errors_chain_no_request_with_the_key(
    make_client: MakeClient, mode: str, exc_type: type[httpx.TransportError]
) -> None:
    client, _ = make_client(Script(fail(exc_type)), api_key=KEY, max_retries=1)
    with pytest.raises(QuantConnectionError) as info:
        await chat(client, mode)
    cause = info.value.__cause__
    assert type(cause) is exc_type  # the type and message are kept...
    assert str(cause) == f"simulated {exc_type.__name__}"
    assert cause.request.url.path.endswith("/ai/chat")  # ...with the method and URL only
    assert "authorization" not in cause.request.headers
    assert info.value.__suppress_context__
    assert_no_key_in_chain(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_mid_stream_errors_chain_no_request_with_the_key(
    make_client: MakeClient, mode: str
) -> None:
    def step(request: httpx.Request) -> httpx.Response:
        return mid_stream_failure(httpx.ReadError("reset", request=request))(request)

    client, _ = make_client(Script(step), api_key=KEY)
    with pytest.raises(QuantStreamError) as info:
        await stream(client, mode)
    assert isinstance(info.value.__cause__, httpx.ReadError)
    assert_no_key_in_chain(info.value)


# --------------------------------------------------------------------------- retry-after-ms


@pytest.mark.parametrize("mode", MODES)
async def test_retry_after_ms_wins_over_retry_after(make_client: MakeClient, mode: str) -> None:
    handler = Script(status(503, {"retry-after-ms": "250", "retry-after": "9"}), ok)
    client, _ = make_client(handler)
    await chat(client, mode)
    assert client.sleeps == [0.25]  # type: ignore[attr-defined]


def test_retry_after_of_reads_both_headers() -> None:
    from quant_ai._transport import retry_after_of

    assert retry_after_of(httpx.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_after_of(httpx.Headers({"retry-after-ms": "soon", "retry-after": "3"})) == 3.0
    assert retry_after_of(httpx.Headers({})) is None


# --------------------------------------------------------------------------- one loop per flavour


def test_one_send_loop_per_flavour_and_one_retry_decision() -> None:
    """The retry rule is written once: every loop of the module is in _send or _asend, and
    _retry_wait is what both call."""
    import ast
    import inspect

    from quant_ai import _transport

    tree = ast.parse(inspect.getsource(_transport))
    loops: list[str] = []
    calls: dict[str, int] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.While):
                    loops.append(fn.name)
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "_retry_wait"
                ):
                    calls[fn.name] = calls.get(fn.name, 0) + 1
    assert sorted(loops) == ["_asend", "_send"]
    assert calls == {"_send": 2, "_asend": 2}


@pytest.mark.parametrize("mode", MODES)
async def test_stream_response_is_a_head_and_typed_frames(
    make_client: MakeClient, mode: str
) -> None:
    from quant_ai._transport import SSEFrame

    client, _ = make_client(Script(sse_ok))
    url = client.config.ai_url("/chat/stream")
    body = b'{"modelId":"amazon.nova-lite-v1:0","messages":[{"role":"user","content":"x"}]}'
    if mode == "sync":
        opened = client.transport.stream(url, body)
        frames = list(opened)
        opened.close()
    else:
        aopened = await client.transport.astream(url, body)
        frames = [f async for f in aopened]
        await aopened.aclose()
        opened = aopened  # type: ignore[assignment]
    assert opened.is_sse
    assert opened.response.status_code == 200
    assert [f.event for f in frames] == ["start", "content", "done"]
    assert all(isinstance(f, SSEFrame) for f in frames)


@pytest.mark.parametrize("mode", MODES)
async def test_undecodable_bodies_are_typed_not_retried_and_keyless(
    make_client: MakeClient, mode: str
) -> None:
    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
            content=b"not gzip at all",
        )

    handler = Script(garbled, ok)
    client, _ = make_client(handler, api_key=KEY, max_retries=3, check=False)
    with pytest.raises(QuantConnectionError, match="DecodingError") as info:
        await chat(client, mode)
    assert handler.calls == 1  # the same bytes would come back
    assert isinstance(info.value.__cause__, httpx.DecodingError)
    assert_no_key_in_chain(info.value)


@pytest.mark.parametrize("mode", MODES)
async def test_stream_frames_yield_frames_or_the_json_answer_turned_into_items(
    make_client: MakeClient, mode: str
) -> None:
    # A JSON answer to a stream request is documented wire behaviour the spec leaves out.
    client, _ = make_client(Script(sse_ok, ok), check=False)
    url = client.config.ai_url("/chat/stream")
    body = b'{"modelId":"amazon.nova-lite-v1:0","messages":[{"role":"user","content":"x"}]}'

    def on_json(response: httpx.Response) -> list[str]:
        return [response.json()["requestId"]]

    async def collect() -> list[Any]:
        if mode == "sync":
            return list(client.transport.stream_frames(url, body, on_json))
        return [f async for f in client.transport.astream_frames(url, body, on_json)]

    frames = await collect()
    assert [f.event for f in frames] == ["start", "content", "done"]
    assert await collect() == ["req-abc123"]  # a JSON answer: what on_json made of it
