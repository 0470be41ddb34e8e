"""SSE parsing of ``/ai/chat/stream``: framing, every event, chunking, accumulation.

Streams go through a real ``httpx.Response`` with a streaming body (MockTransport), so the
framing of httpx-sse, the typed events of ``quant_ai._sse`` and the client's stream handling are
tested together, sync and async.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import fields
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quant_ai import (
    ChatResponse,
    ChatStreamAccumulator,
    ContentEvent,
    DoneEvent,
    OrchestrationStatusEvent,
    QuantAPIError,
    QuantClient,
    QuantError,
    QuantStreamError,
    SessionEvent,
    StartEvent,
    StreamEvent,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolRequestEvent,
    ToolStartEvent,
    ToolUse,
    UnknownEvent,
    Usage,
)
from quant_ai._sse import _DONE_SENTINEL, aiter_events, iter_events, parse_event
from tests.contract import ContractTransport

MakeClient = Callable[..., tuple[QuantClient, ContractTransport]]
MESSAGES = [{"role": "user", "content": "Hi"}]
SSE_HEADERS = {"content-type": "text/event-stream"}
MODES = ["sync", "async"]


# --------------------------------------------------------------------------- helpers


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body delivered in the given network chunks, optionally failing at the end."""

    def __init__(self, chunks: Sequence[bytes], error: Exception | None = None) -> None:
        self.chunks = [c for c in chunks if c]
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


def sse_response(
    chunks: Sequence[bytes] | str | bytes, *, content_type: str = "text/event-stream"
) -> httpx.Response:
    if isinstance(chunks, str):
        chunks = [chunks.encode()]
    elif isinstance(chunks, bytes):
        chunks = [chunks]
    return httpx.Response(200, headers={"content-type": content_type}, stream=ChunkStream(chunks))


def sse_handler(body: str | bytes, **kwargs: Any) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return sse_response(body, **kwargs)

    return handler


async def collect(client: QuantClient, mode: str, **kwargs: Any) -> list[StreamEvent]:
    kwargs.setdefault("messages", MESSAGES)
    if mode == "sync":
        return list(client.stream_chat(**kwargs))
    return [event async for event in client.astream_chat(**kwargs)]


def frame(event: str | None, data: Any) -> str:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"{head}data: {payload}\n\n"


def summary(event: StreamEvent) -> tuple[str, dict[str, Any]]:
    """An event without its raw payload (``data``), for readable comparisons."""
    keep = isinstance(event, UnknownEvent)
    values = {f.name: getattr(event, f.name) for f in fields(event) if keep or f.name != "data"}
    return type(event).__name__, values


def text_of(events: Sequence[StreamEvent]) -> str:
    return "".join(e.delta for e in events if isinstance(e, ContentEvent))


def accumulate(events: Sequence[StreamEvent]) -> ChatStreamAccumulator:
    acc = ChatStreamAccumulator()
    for event in events:
        acc.add(event)
    return acc


# --------------------------------------------------------------------------- parse_event


WEATHER = {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}
CLOCK = {"toolUseId": "t2", "name": "get_time", "input": {"tz": "Europe/Paris"}}
USAGE = {"inputTokens": 8, "outputTokens": 15, "totalTokens": 23}


@pytest.mark.parametrize(
    ("event", "raw", "expected"),
    [
        pytest.param(
            "start",
            '{"requestId":"abc123","model":"amazon.nova-lite-v1:0","streaming":true}',
            StartEvent("abc123", "amazon.nova-lite-v1:0"),
            id="start",
        ),
        pytest.param("start", "{}", StartEvent(None, None), id="start-empty"),
        pytest.param(
            "content", '{"delta":"Hello","complete":false}', ContentEvent("Hello"), id="content"
        ),
        pytest.param(
            "content", '{"delta":"","complete":false}', ContentEvent(""), id="content-empty"
        ),
        pytest.param(
            "", '{"type":"content","content":"Hello"}', ContentEvent("Hello"), id="docs-variant"
        ),
        pytest.param("content", '{"content":"Hi"}', ContentEvent("Hi"), id="content-field"),
        pytest.param("content", "plain text", ContentEvent("plain text"), id="content-not-json"),
        pytest.param("session", '{"sessionId":"sess-1"}', SessionEvent("sess-1"), id="session"),
        pytest.param(
            "tool_start",
            '{"name":"web_search"}',
            ToolStartEvent("web_search", None, None),
            id="tool_start",
        ),
        pytest.param(
            "tool_start",
            '{"name":"web_search","toolUseId":"s1","input":{"q":"x"}}',
            ToolStartEvent("web_search", "s1", {"q": "x"}),
            id="tool_start-full",
        ),
        pytest.param(
            "tool_input_progress",
            '{"name":"web_search"}',
            ToolInputProgressEvent("web_search"),
            id="tool_input_progress",
        ),
        pytest.param(
            "tool_complete",
            '{"name":"web_search","result":"3 hits"}',
            ToolCompleteEvent("web_search", None, "3 hits"),
            id="tool_complete-string",
        ),
        pytest.param(
            "tool_complete",
            '{"name":"web_search","toolUseId":"s1","result":{"hits":3}}',
            ToolCompleteEvent("web_search", "s1", {"hits": 3}),
            id="tool_complete-object",
        ),
        pytest.param(
            "orchestration_status",
            '{"message":"Running 2 tools"}',
            OrchestrationStatusEvent("Running 2 tools"),
            id="orchestration_status",
        ),
        pytest.param("mystery", '{"x":1}', UnknownEvent("mystery", {"x": 1}), id="unknown"),
        pytest.param(
            "",
            '{"type":"novel","x":1}',
            UnknownEvent("novel", {"type": "novel", "x": 1}),
            id="unknown-type",
        ),
        pytest.param("custom", "", UnknownEvent("custom", None), id="unknown-no-data"),
        pytest.param("content", "[1, 2]", UnknownEvent("content", [1, 2]), id="non-object"),
    ],
)
def test_parse_event_simple(event: str, raw: str, expected: StreamEvent) -> None:
    assert summary(parse_event(event, raw)) == summary(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("event", "raw"), [("", ""), ("", "   "), ("ping", ""), ("keepalive", ""), ("heartbeat", "")]
)
def test_parse_event_keepalives_are_nothing(event: str, raw: str) -> None:
    assert parse_event(event, raw) is None


@pytest.mark.parametrize("event", ["", "content", "done"])
def test_parse_event_done_sentinel(event: str) -> None:
    assert parse_event(event, "[DONE]") is _DONE_SENTINEL
    assert parse_event(event, " [DONE] ") is _DONE_SENTINEL


def test_parse_event_done_with_usage() -> None:
    done = parse_event("done", json.dumps({"complete": True, "usage": USAGE}))
    assert isinstance(done, DoneEvent)
    assert done.complete is True
    assert done.usage == Usage(input_tokens=8, output_tokens=15, total_tokens=23)
    assert done.finish_reason is None
    assert done.tool_uses == []
    assert done.content is None
    assert done.orchestration is None


def test_parse_event_done_without_complete_is_complete() -> None:
    done = parse_event("done", '{"finishReason":"length"}')
    assert isinstance(done, DoneEvent)
    assert done.complete is True
    assert done.finish_reason == "length"


def test_parse_event_done_tool_request() -> None:
    done = parse_event(
        "done", json.dumps({"complete": False, "stopReason": "tool_request", "toolUse": WEATHER})
    )
    assert isinstance(done, DoneEvent)
    assert done.complete is False
    assert done.finish_reason == "tool_use"
    assert done.tool_uses == [ToolUse.model_validate(WEATHER)]
    assert not done.tool_uses[0].server_executed


@pytest.mark.parametrize("tool_use", [WEATHER, [WEATHER, CLOCK]], ids=["object", "list"])
def test_parse_event_done_response_tool_use(tool_use: Any) -> None:
    payload = {"complete": True, "response": {"content": "Let me check.", "toolUse": tool_use}}
    done = parse_event("done", json.dumps(payload))
    assert isinstance(done, DoneEvent)
    expected = tool_use if isinstance(tool_use, list) else [tool_use]
    assert done.tool_uses == [ToolUse.model_validate(t) for t in expected]
    assert done.content == "Let me check."


def test_parse_event_done_orchestration() -> None:
    orch = {
        "pollUrl": "https://dashboard.quantcdn.io/api/v3/organizations/acme/ai/orchestrations/o1"
    }
    done = parse_event("done", json.dumps({"complete": False, "orchestration": orch}))
    assert isinstance(done, DoneEvent)
    assert done.complete is False
    assert done.orchestration == orch


def test_parse_event_done_without_event_line() -> None:
    done = parse_event("", json.dumps({"complete": True, "usage": USAGE}))
    assert isinstance(done, DoneEvent)
    assert done.usage is not None
    assert done.usage.total_tokens == 23
    typed = parse_event("", json.dumps({"type": "done", "usage": USAGE}))
    assert isinstance(typed, DoneEvent)


def test_parse_event_content_complete_true_is_done() -> None:
    done = parse_event("content", json.dumps({"delta": "", "complete": True, "usage": USAGE}))
    assert isinstance(done, DoneEvent)


@pytest.mark.parametrize(
    ("event", "payload", "expected"),
    [
        ("tool_request", WEATHER, [WEATHER]),
        ("tool_request", {"toolUse": [WEATHER, CLOCK]}, [WEATHER, CLOCK]),
        ("", {"toolUse": WEATHER, "stopReason": "tool_use"}, [WEATHER]),
        ("content", {"delta": "", "toolUse": [WEATHER]}, [WEATHER]),
    ],
    ids=["bare", "list", "top-level-no-event", "in-content"],
)
def test_parse_event_tool_request(event: str, payload: Any, expected: list[Any]) -> None:
    item = parse_event(event, json.dumps(payload))
    assert isinstance(item, ToolRequestEvent)
    assert item.tool_uses == [ToolUse.model_validate(t) for t in expected]


@pytest.mark.parametrize(
    ("event", "raw", "message"),
    [
        ("error", '{"error":"Rate limit exceeded"}', "Rate limit exceeded"),
        ("error", '{"message":"Model overloaded"}', "Model overloaded"),
        ("error", '{"error":{"message":"quota"}}', "quota"),
        ("error", "{}", "the stream reported an error"),
        ("exception", '{"error":"boom"}', "boom"),
        ("", '{"type":"error","error":"typed"}', "typed"),
        ("", '{"error":"bare"}', "bare"),
        ("start", "not json", "undecodable"),
    ],
)
def test_parse_event_errors(event: str, raw: str, message: str) -> None:
    with pytest.raises(QuantStreamError, match=message):
        parse_event(event, raw)


# --------------------------------------------------------------------------- iter_events


def test_iter_events_stops_at_done_and_skips_keepalives() -> None:
    frames = [
        ("", ""),
        ("start", '{"requestId":"r1"}'),
        ("ping", ""),
        ("content", '{"delta":"a"}'),
        ("done", '{"complete":true}'),
        ("content", '{"delta":"never read"}'),
    ]
    seen: list[tuple[str, str]] = []

    def source() -> Iterator[tuple[str, str]]:
        for f in frames:
            seen.append(f)
            yield f

    events = list(iter_events(source()))
    assert [type(e) for e in events] == [StartEvent, ContentEvent, DoneEvent]
    assert ("content", '{"delta":"never read"}') not in seen


def test_iter_events_error_has_partial_text_and_request_id() -> None:
    frames = iter(
        [
            ("start", '{"requestId":"req-9"}'),
            ("content", '{"delta":"partial "}'),
            ("content", '{"delta":"answer"}'),
            ("error", '{"error":"Model overloaded"}'),
        ]
    )
    with pytest.raises(QuantStreamError, match="Model overloaded") as info:
        list(iter_events(frames))
    assert info.value.partial_text == "partial answer"
    assert info.value.request_id == "req-9"


async def test_aiter_events_truncated() -> None:
    async def frames() -> AsyncIterator[tuple[str, str]]:
        yield "start", '{"requestId":"req-1"}'
        yield "content", '{"delta":"cut"}'

    with pytest.raises(QuantStreamError, match="truncated") as info:
        [e async for e in aiter_events(frames())]
    assert info.value.partial_text == "cut"
    assert info.value.request_id == "req-1"


# --------------------------------------------------------------------------- framing


SPEC_EXAMPLE = (
    "id: chunk-0\n"
    "event: start\n"
    'data: {"requestId":"abc123","model":"amazon.nova-lite-v1:0","streaming":true}\n'
    "\n"
    "id: chunk-1\n"
    "event: content\n"
    'data: {"delta":"Hello","complete":false}\n'
    "\n"
    "id: chunk-3\n"
    "event: done\n"
    'data: {"complete":true,"usage":{"inputTokens":8,"outputTokens":15,"totalTokens":23}}\n'
    "\n"
)

# A realistic stream with every framing feature and multi-byte UTF-8 (2, 3 and 4 bytes).
SAMPLE = (
    ": keep-alive comment\n"
    "\n"
    ": ping\n"
    "\n"
    "id: chunk-0\n"
    "retry: 3000\n"
    "event: start\n"
    'data: {"requestId":"req-héllo","model":"amazon.nova-lite-v1:0","streaming":true}\n'
    "\n"
    "event: session\n"
    ": ping (a comment inside a frame)\n"
    'data: {"sessionId":"sess-1"}\n'
    "\n"
    "id: chunk-1\n"
    "event: content\n"
    'data: {"delta":"héllo ","complete":false}\n'
    "\n"
    "id: chunk-2\n"
    "event: content\n"
    'data: {"delta":\n'
    'data: "✓ wörld 🎉","complete":false}\n'
    "\n"
    "event: tool_start\n"
    'data: {"name":"search","toolUseId":"s1","input":{"q":"ünïcode"}}\n'
    "\n"
    "event: tool_complete\n"
    'data: {"name":"search","toolUseId":"s1","result":{"hits":["é"]}}\n'
    "\n"
    "id: chunk-3\n"
    ":ping\n"
    "event: done\n"
    'data: {"complete":true,"usage":{"inputTokens":8,"outputTokens":15,"totalTokens":23}}\n'
    "\n"
)
SAMPLE_EXPECTED = [
    summary(StartEvent("req-héllo", "amazon.nova-lite-v1:0")),
    summary(SessionEvent("sess-1")),
    summary(ContentEvent("héllo ")),
    summary(ContentEvent("✓ wörld 🎉")),
    summary(ToolStartEvent("search", "s1", {"q": "ünïcode"})),
    summary(ToolCompleteEvent("search", "s1", {"hits": ["é"]})),
    summary(
        DoneEvent(
            complete=True,
            finish_reason=None,
            usage=Usage(input_tokens=8, output_tokens=15, total_tokens=23),
            tool_uses=[],
            content=None,
            orchestration=None,
        )
    ),
]
NEWLINES = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def sample_bytes(newline: str) -> bytes:
    return SAMPLE.replace("\n", NEWLINES[newline]).encode("utf-8")


@pytest.mark.parametrize("mode", MODES)
async def test_spec_example(make_client: MakeClient, mode: str) -> None:
    client, transport = make_client(sse_handler(SPEC_EXAMPLE))
    events = await collect(client, mode)
    assert [summary(e) for e in events] == [
        summary(StartEvent("abc123", "amazon.nova-lite-v1:0")),
        summary(ContentEvent("Hello")),
        summary(
            DoneEvent(
                True, None, Usage(input_tokens=8, output_tokens=15, total_tokens=23), [], None, None
            )
        ),
    ]
    assert transport.requests[0][0] == "chatInferenceStream"
    assert client.usage.total_tokens == 23


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("newline", list(NEWLINES))
async def test_sample_in_one_chunk(make_client: MakeClient, mode: str, newline: str) -> None:
    client, _ = make_client(sse_handler(sample_bytes(newline)))
    events = await collect(client, mode)
    assert [summary(e) for e in events] == SAMPLE_EXPECTED
    assert text_of(events) == "héllo ✓ wörld 🎉"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("newline", list(NEWLINES))
async def test_sample_split_at_every_byte(make_client: MakeClient, mode: str, newline: str) -> None:
    """Two network chunks, split at every position (inside UTF-8 sequences and CRLFs too)."""
    body = sample_bytes(newline)
    current: list[list[bytes]] = [[body]]
    client, _ = make_client(lambda request: sse_response(current[0]))
    reference = await collect(client, mode)
    assert [summary(e) for e in reference] == SAMPLE_EXPECTED
    for i in range(1, len(body)):
        current[0] = [body[:i], body[i:]]
        events = await collect(client, mode)
        assert events == reference, f"split at byte {i}: {body[:i][-12:]!r} | {body[i:][:12]!r}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("newline", list(NEWLINES))
async def test_sample_one_byte_per_chunk(make_client: MakeClient, mode: str, newline: str) -> None:
    body = sample_bytes(newline)
    client, _ = make_client(
        lambda request: sse_response([body[i : i + 1] for i in range(len(body))])
    )
    events = await collect(client, mode)
    assert [summary(e) for e in events] == SAMPLE_EXPECTED
    assert text_of(events) == "héllo ✓ wörld 🎉"


@pytest.fixture
def chunked_client(make_client: MakeClient) -> tuple[QuantClient, list[list[bytes]]]:
    current: list[list[bytes]] = [[]]
    client, _ = make_client(lambda request: sse_response(current[0]))
    return client, current


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    newline=st.sampled_from(list(NEWLINES)),
    cuts=st.lists(st.integers(min_value=1, max_value=len(sample_bytes("crlf")) - 1), max_size=30),
)
def test_sample_any_chunking(
    chunked_client: tuple[QuantClient, list[list[bytes]]], newline: str, cuts: list[int]
) -> None:
    client, current = chunked_client
    body = sample_bytes(newline)
    points = sorted({c for c in cuts if c < len(body)})
    bounds = [0, *points, len(body)]
    current[0] = [body[a:b] for a, b in itertools.pairwise(bounds)]
    assert b"".join(current[0]) == body
    events = list(client.stream_chat(messages=MESSAGES))
    assert [summary(e) for e in events] == SAMPLE_EXPECTED


@pytest.mark.parametrize("mode", MODES)
async def test_multiline_data_is_joined_with_newlines(make_client: MakeClient, mode: str) -> None:
    body = (
        "event: content\n"
        "data: line one\n"
        "data: line two\n"
        "\n"
        "event: content\n"
        "data: {\n"
        'data: "delta": "json over lines"\n'
        "data: }\n"
        "\n" + frame("done", {"complete": True})
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [e.delta for e in events if isinstance(e, ContentEvent)] == [
        "line one\nline two",
        "json over lines",
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_comments_blank_lines_and_field_spacing(make_client: MakeClient, mode: str) -> None:
    body = (
        ":\n"
        ": ping\n"
        "\n"
        "event:content\n"  # no space after the colon
        'data:{"delta":"a"}\n'
        "retry: soon\n"
        "\n"
        "event: content\n"
        ": a comment inside a frame\n"
        'data: {"delta":"b"}\n'
        "unknownfield: ignored\n"
        "\n"
        "\n"
        "\n" + frame("done", {"complete": True})
    )
    client, _ = make_client(sse_handler(body, content_type="text/event-stream; charset=utf-8"))
    events = await collect(client, mode)
    assert [summary(e) for e in events] == [
        summary(ContentEvent("a")),
        summary(ContentEvent("b")),
        summary(DoneEvent(True, None, None, [], None, None)),
    ]


@pytest.mark.parametrize("mode", MODES)
async def test_keepalive_events_are_skipped(make_client: MakeClient, mode: str) -> None:
    body = (
        "event: ping\ndata:\n\n"
        + frame("content", {"delta": "x"})
        + "event: heartbeat\n\n"
        + frame("done", {})
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [type(e) for e in events] == [ContentEvent, DoneEvent]


@pytest.mark.parametrize("mode", MODES)
async def test_every_known_event_in_a_stream(make_client: MakeClient, mode: str) -> None:
    orch = {
        "pollUrl": "https://dashboard.quantcdn.io/api/v3/organizations/acme/ai/orchestrations/o1"
    }
    body = "".join(
        [
            frame("start", {"requestId": "req-1", "model": "m"}),
            frame("session", {"sessionId": "sess-42"}),
            frame("tool_input_progress", {"name": "web_search"}),
            frame("tool_start", {"name": "web_search"}),
            frame("tool_complete", {"name": "web_search", "result": "3 hits"}),
            frame("orchestration_status", {"message": "Waiting for 1 tool"}),
            frame("brand_new_event", {"x": [1, 2]}),
            frame("content", {"delta": "Partial"}),
            frame("done", {"complete": False, "orchestration": orch}),
        ]
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [summary(e) for e in events] == [
        summary(StartEvent("req-1", "m")),
        summary(SessionEvent("sess-42")),
        summary(ToolInputProgressEvent("web_search")),
        summary(ToolStartEvent("web_search", None, None)),
        summary(ToolCompleteEvent("web_search", None, "3 hits")),
        summary(OrchestrationStatusEvent("Waiting for 1 tool")),
        summary(UnknownEvent("brand_new_event", {"x": [1, 2]})),
        summary(ContentEvent("Partial")),
        summary(DoneEvent(False, None, None, [], None, orch)),
    ]
    acc = accumulate(events)
    assert acc.session_id == "sess-42"
    assert acc.request_id == "req-1"
    assert acc.done is events[-1]
    response = acc.response()
    assert response.text == "Partial"
    assert response.tool_calls == []
    [server] = response.server_tool_calls
    assert (server.name, server.status, server.result) == ("web_search", "complete", "3 hits")


@pytest.mark.parametrize("mode", MODES)
async def test_events_after_done_are_not_read(make_client: MakeClient, mode: str) -> None:
    body = (
        frame("content", {"delta": "Hi"})
        + frame("done", {"complete": True})
        + frame("content", {"delta": " again"})
        + "data: [DONE]\n\n"
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert text_of(events) == "Hi"
    assert isinstance(events[-1], DoneEvent)


# --------------------------------------------------------------------------- errors and truncation


@pytest.mark.parametrize("mode", MODES)
async def test_error_event_raises_with_partial_text(make_client: MakeClient, mode: str) -> None:
    body = (
        frame("start", {"requestId": "req-err", "model": "m"})
        + frame("content", {"delta": "The answer "})
        + frame("content", {"delta": "is "})
        + frame("error", {"error": "Model overloaded"})
        + frame("done", {"complete": True})
    )
    client, _ = make_client(sse_handler(body))
    with pytest.raises(QuantStreamError, match="Model overloaded") as info:
        await collect(client, mode)
    assert info.value.partial_text == "The answer is "
    assert info.value.request_id == "req-err"
    assert not isinstance(info.value, QuantAPIError)


@pytest.mark.parametrize("mode", MODES)
async def test_error_event_seen_by_consumer_after_partial_events(
    make_client: MakeClient, mode: str
) -> None:
    body = frame("content", {"delta": "So far"}) + frame("error", {"error": "boom"})
    client, _ = make_client(sse_handler(body))
    seen: list[StreamEvent] = []
    with pytest.raises(QuantStreamError, match="boom"):
        if mode == "sync":
            for event in client.stream_chat(messages=MESSAGES):
                seen.append(event)
        else:
            async for event in client.astream_chat(messages=MESSAGES):
                seen.append(event)
    assert seen == [ContentEvent("So far")]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "body",
    [
        "",
        ": ping\n\n",
        frame("start", {"requestId": "req-t"}),
        frame("start", {"requestId": "req-t"}) + frame("content", {"delta": "half an ans"}),
        # The done frame is cut before its terminating blank line.
        frame("start", {"requestId": "req-t"})
        + frame("content", {"delta": "half an ans"})
        + 'event: done\ndata: {"complete":true}',
    ],
    ids=["empty", "keepalive-only", "start-only", "mid-answer", "unterminated-done"],
)
async def test_stream_without_done_raises(make_client: MakeClient, mode: str, body: str) -> None:
    client, _ = make_client(sse_handler(body))
    with pytest.raises(QuantStreamError, match="truncated") as info:
        await collect(client, mode)
    expected_text = "half an ans" if "half" in body else ""
    assert info.value.partial_text == expected_text
    assert info.value.request_id == ("req-t" if "req-t" in body else None)


@pytest.mark.parametrize("mode", MODES)
async def test_undecodable_frame_raises(make_client: MakeClient, mode: str) -> None:
    body = frame("content", {"delta": "ok"}) + "event: done\ndata: {not json\n\n"
    client, _ = make_client(sse_handler(body))
    with pytest.raises(QuantStreamError, match="undecodable") as info:
        await collect(client, mode)
    assert info.value.partial_text == "ok"


# --------------------------------------------------------------------------- tool use


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tool_use", [WEATHER, [WEATHER, CLOCK]], ids=["object", "list"])
async def test_tool_use_in_done_response(make_client: MakeClient, mode: str, tool_use: Any) -> None:
    body = (
        frame("content", {"delta": "Let me "})
        + frame("content", {"delta": "check."})
        + frame(
            "done",
            {
                "complete": False,
                "stopReason": "tool_request",
                "response": {"role": "assistant", "content": "Let me check.", "toolUse": tool_use},
                "usage": USAGE,
            },
        )
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.complete is False
    response = accumulate(events).response()
    expected = tool_use if isinstance(tool_use, list) else [tool_use]
    assert response.text == "Let me check."  # not doubled by the done payload's content
    assert response.tool_calls == [ToolUse.model_validate(t) for t in expected]
    assert response.server_tool_calls == []
    assert response.finish_reason == "tool_use"
    assert response.usage == Usage(input_tokens=8, output_tokens=15, total_tokens=23)


@pytest.mark.parametrize("mode", MODES)
async def test_top_level_tool_use_frame(make_client: MakeClient, mode: str) -> None:
    body = frame(
        None, {"role": "assistant", "toolUse": [WEATHER, CLOCK], "stopReason": "tool_use"}
    ) + frame("done", {"complete": False, "stopReason": "tool_request"})
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert isinstance(events[0], ToolRequestEvent)
    response = accumulate(events).response()
    assert [t.tool_use_id for t in response.tool_calls] == ["t1", "t2"]
    assert response.finish_reason == "tool_use"
    assert response.text == ""


@pytest.mark.parametrize("mode", MODES)
async def test_top_level_tool_use_in_done(make_client: MakeClient, mode: str) -> None:
    body = frame("done", {"complete": False, "stopReason": "tool_request", "toolUse": WEATHER})
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    [done] = events
    assert isinstance(done, DoneEvent)
    assert done.tool_uses == [ToolUse.model_validate(WEATHER)]
    assert accumulate(events).response().tool_calls == [ToolUse.model_validate(WEATHER)]


@pytest.mark.parametrize("mode", MODES)
async def test_tool_request_event_then_done_is_not_duplicated(
    make_client: MakeClient, mode: str
) -> None:
    body = frame("tool_request", {"toolUse": WEATHER}) + frame(
        "done",
        {"complete": False, "stopReason": "tool_request", "response": {"toolUse": [WEATHER]}},
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [type(e) for e in events] == [ToolRequestEvent, DoneEvent]
    assert accumulate(events).response().tool_calls == [ToolUse.model_validate(WEATHER)]


def test_done_content_used_when_no_deltas() -> None:
    acc = ChatStreamAccumulator()
    acc.add(StartEvent("req-1", "m"))
    done = parse_event(
        "done", json.dumps({"complete": True, "response": {"content": "Whole answer"}})
    )
    assert isinstance(done, DoneEvent)
    acc.add(done)
    response = acc.response()
    assert response.text == "Whole answer"
    assert response.finish_reason == "stop"
    assert response.request_id == "req-1"
    assert response.model == "m"


def test_accumulator_server_tool_without_ids_pairs_start_and_complete() -> None:
    acc = accumulate(
        [
            ToolStartEvent("search", None, {"q": "a"}),
            ToolStartEvent("fetch", None, None),
            ToolCompleteEvent("search", None, {"hits": 1}),
            ToolCompleteEvent("fetch", None, "page"),
            DoneEvent(True, "stop", None, [], None, None),
        ]
    )
    tools = {t.name: t for t in acc.response().server_tool_calls}
    assert set(tools) == {"search", "fetch"}
    assert (tools["search"].input, tools["search"].status, tools["search"].result) == (
        {"q": "a"},
        "complete",
        {"hits": 1},
    )
    assert (tools["fetch"].status, tools["fetch"].result) == ("complete", "page")
    assert acc.response().tool_calls == []


# --------------------------------------------------------------------------- stream == buffered


BUFFERED = {
    "response": {
        "role": "assistant",
        "content": "Héllo ✓ — I searched and need the weather.",
        "toolUse": [
            {
                "toolUseId": "s1",
                "name": "search",
                "input": {"q": "paris"},
                "status": "complete",
                "result": {"hits": ["é"]},
            },
            WEATHER,
        ],
    },
    "model": "amazon.nova-pro-v1:0",
    "requestId": "req-abc123",
    "finishReason": "tool_use",
    "usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20, "costCents": 0.18},
}
BUFFERED_PLAIN = {
    "response": {"role": "assistant", "content": "The capital of Australia is Canberra."},
    "model": "amazon.nova-lite-v1:0",
    "requestId": "req-abc123",
    "finishReason": "stop",
    "usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20, "costCents": 0.18},
}


def streamed(answer: dict[str, Any]) -> str:
    """The SSE stream a service would send for ``answer``."""
    text = answer["response"]["content"]
    uses = answer["response"].get("toolUse", [])
    server = [u for u in uses if "status" in u]
    client_side = [u for u in uses if "status" not in u]
    parts = [
        frame(
            "start", {"requestId": answer["requestId"], "model": answer["model"], "streaming": True}
        )
    ]
    parts += [
        frame("content", {"delta": text[i : i + 5], "complete": False})
        for i in range(0, len(text), 5)
    ]
    for use in server:
        parts.append(
            frame(
                "tool_start",
                {"name": use["name"], "toolUseId": use["toolUseId"], "input": use["input"]},
            )
        )
        parts.append(
            frame(
                "tool_complete",
                {"name": use["name"], "toolUseId": use["toolUseId"], "result": use["result"]},
            )
        )
    done: dict[str, Any] = {"complete": not client_side, "usage": answer["usage"]}
    if client_side:
        done |= {"stopReason": "tool_request", "response": {"toolUse": client_side}}
    else:
        done["finishReason"] = answer["finishReason"]
    parts.append(frame("done", done))
    return "".join(parts)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", [BUFFERED_PLAIN, BUFFERED], ids=["plain", "tools"])
async def test_accumulator_matches_buffered_answer(
    make_client: MakeClient, mode: str, answer: dict[str, Any]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            return sse_response(streamed(answer))
        return httpx.Response(200, json=answer)

    client, _ = make_client(handler)
    if mode == "sync":
        buffered = client.chat(messages=MESSAGES)
    else:
        buffered = await client.achat(messages=MESSAGES)
    events = await collect(client, mode)
    response = accumulate(events).response()
    assert isinstance(response, ChatResponse)
    assert response.text == buffered.text
    assert response.tool_calls == buffered.tool_calls
    assert response.server_tool_calls == buffered.server_tool_calls
    assert response.usage == buffered.usage
    assert response.finish_reason == buffered.finish_reason
    assert response.request_id == buffered.request_id == "req-abc123"
    assert response.model == buffered.model
    assert response == buffered


# --------------------------------------------------------------------------- JSON / 202 answers


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", [BUFFERED_PLAIN, BUFFERED], ids=["plain", "tools"])
async def test_json_answer_to_stream_becomes_events(
    make_client: MakeClient, mode: str, answer: dict[str, Any]
) -> None:
    client, _ = make_client(lambda request: httpx.Response(200, json=answer), check=False)
    events = await collect(client, mode)
    assert isinstance(events[0], StartEvent)
    assert events[0].request_id == "req-abc123"
    assert events[0].model == answer["model"]
    assert text_of(events) == answer["response"]["content"]
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.usage == Usage(input_tokens=12, output_tokens=8, total_tokens=20, cost_cents=0.18)
    assert done.finish_reason == answer["finishReason"]
    buffered = ChatResponse.model_validate(answer)
    assert accumulate(events).response() == buffered
    assert client.usage.total_tokens == 20


@pytest.mark.parametrize("mode", MODES)
async def test_202_to_stream_raises(make_client: MakeClient, mode: str) -> None:
    accepted = {
        "requestId": "XkdVWiEfSwMEPrw=",
        "sessionId": "session-1",
        "status": "queued",
        "message": "Execution started. Poll the status endpoint for updates.",
        "pollUrl": "/ai/chat/executions/XkdVWiEfSwMEPrw%3D",
    }
    client, _ = make_client(lambda request: httpx.Response(202, json=accepted))
    with pytest.raises(QuantError, match="XkdVWiEfSwMEPrw=") as info:
        await collect(client, mode)
    assert not isinstance(info.value, QuantStreamError)


# ============================================================================ core bugs (reported)
# The tests below expose bugs in quant_ai; they are kept here (failing) until the core is fixed.


@pytest.mark.parametrize("mode", MODES)
async def test_done_sentinel_ends_the_stream(make_client: MakeClient, mode: str) -> None:
    """``data: [DONE]`` is an explicit end of stream (spec notes §3.3), not a truncation."""
    body = (
        frame("content", {"delta": "Hel"})
        + frame("content", {"delta": "lo"})
        + "data: [DONE]\n\n"
        + frame("content", {"delta": " never"})
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert text_of(events) == "Hello"
    response = accumulate(events).response()
    assert response.text == "Hello"
    assert response.finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
async def test_json_answer_with_client_tools_is_not_complete(
    make_client: MakeClient, mode: str
) -> None:
    """A JSON answer that requests client tools must give ``DoneEvent(complete=False)``,
    as the SSE ``done`` with ``complete:false, stopReason:"tool_request"`` does."""
    client, _ = make_client(lambda request: httpx.Response(200, json=BUFFERED), check=False)
    events = await collect(client, mode)
    done = events[-1]
    assert isinstance(done, DoneEvent)
    assert done.complete is False
    assert done.finish_reason == "tool_use"


# Bug: httpx-sse reports a frame without an ``event:`` line as event "message" (the SSE default
# type), but parse_event only treats "" as "no event line".


@pytest.mark.parametrize("mode", MODES)
async def test_docs_variant_without_event_lines(make_client: MakeClient, mode: str) -> None:
    """``data: {"type": "content", "content": ...}`` frames with no ``event:`` line (docs)."""
    body = (
        frame(None, {"type": "content", "content": "Hel"})
        + frame(None, {"type": "content", "content": "lo ✓"})
        + frame(None, {"type": "done", "complete": True, "usage": USAGE})
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [type(e) for e in events] == [ContentEvent, ContentEvent, DoneEvent]
    assert text_of(events) == "Hello ✓"
    assert accumulate(events).response().usage == Usage(
        input_tokens=8, output_tokens=15, total_tokens=23
    )


@pytest.mark.parametrize("mode", MODES)
async def test_event_less_done_frame_ends_the_stream(make_client: MakeClient, mode: str) -> None:
    body = frame("content", {"delta": "Hi"}) + frame(None, {"complete": True, "usage": USAGE})
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [type(e) for e in events] == [ContentEvent, DoneEvent]


@pytest.mark.parametrize("mode", MODES)
async def test_event_less_error_frame_raises_its_message(
    make_client: MakeClient, mode: str
) -> None:
    body = frame("content", {"delta": "Hi"}) + frame(None, {"error": "Model overloaded"})
    client, _ = make_client(sse_handler(body))
    with pytest.raises(QuantStreamError, match="Model overloaded") as info:
        await collect(client, mode)
    assert info.value.partial_text == "Hi"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "keepalive",
    [": ping\n\n", "retry: 5000\n\n", "\n\n", "id: 9\n\n"],
    ids=["comment", "retry-only", "blank-lines", "id-only"],
)
async def test_keepalive_frames_after_an_id_yield_nothing(
    make_client: MakeClient, mode: str, keepalive: str
) -> None:
    """After an ``id:`` line (spec example), keep-alives must not surface as events."""
    body = (
        'id: chunk-0\nevent: start\ndata: {"requestId":"r1"}\n\n'
        + keepalive
        + 'id: chunk-1\nevent: content\ndata: {"delta":"Hello"}\n\n'
        + keepalive
        + 'id: chunk-2\nevent: done\ndata: {"complete":true}\n\n'
    )
    client, _ = make_client(sse_handler(body))
    events = await collect(client, mode)
    assert [type(e) for e in events] == [StartEvent, ContentEvent, DoneEvent]
