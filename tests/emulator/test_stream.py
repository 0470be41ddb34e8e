"""SSE streaming: event catalogue, same answer as buffered chat, tools, shapes, chunking."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quant_ai.emulator import QuantEmulator
from tests.emulator.helpers import MODEL, chat_body, checked, parse_sse
from tests.emulator.test_chat import TOOLS


def stream(
    client: httpx.Client, body: dict[str, Any], **headers: str
) -> list[tuple[Any, Any, Any]]:
    r = client.post("/ai/chat/stream", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    return parse_sse(r.text)


def test_stream_matches_buffered(client: httpx.Client) -> None:
    body = chat_body("Tell me something about rivers")
    buffered = checked("chatInference", client.post("/ai/chat", json=body))
    events = stream(client, body)
    assert [e[0] for e in events] == [f"chunk-{i}" for i in range(len(events))]
    names = [e[1] for e in events]
    assert names[0] == "start"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"content"}
    start = events[0][2]
    assert start["model"] == MODEL
    assert start["streaming"] is True
    assert start["requestId"]
    deltas = [e[2]["delta"] for e in events if e[1] == "content"]
    assert all(e[2]["complete"] is False for e in events if e[1] == "content")
    assert "".join(deltas) == buffered["response"]["content"]
    assert len(deltas) == len(buffered["response"]["content"].split())
    done = events[-1][2]
    assert done["complete"] is True
    assert done["finishReason"] == "stop"
    assert done["usage"] == buffered["usage"]


def test_stream_length_and_session(client: httpx.Client) -> None:
    sid = "3f1c2a0e-8d7b-4c55-9a61-0d2b7e9f4a10"
    events = stream(
        client, {**chat_body("long story about the sea"), "maxTokens": 2, "sessionId": sid}
    )
    assert [e[1] for e in events[:2]] == ["start", "session"]
    assert events[1][2] == {"sessionId": sid}
    assert events[-1][2]["finishReason"] == "length"


def test_stream_tool_request(client: httpx.Client) -> None:
    events = stream(
        client, {**chat_body("What is the weather in Paris and in London?"), "toolConfig": TOOLS}
    )
    requests = [e[2] for e in events if e[1] == "tool_request"]
    assert [(r["name"], r["input"]) for r in requests] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "London"}),
    ]
    done = events[-1][2]
    assert done["complete"] is False
    assert done["stopReason"] == "tool_request"
    assert done["finishReason"] == "tool_use"
    assert done["response"]["toolUse"] == requests
    assert done["response"]["role"] == "assistant"
    assert (
        done["usage"]["totalTokens"] == done["usage"]["inputTokens"] + done["usage"]["outputTokens"]
    )


def test_stream_server_tools(client: httpx.Client) -> None:
    body = {
        **chat_body("weather in Paris"),
        "toolConfig": {"autoExecute": True, "allowedTools": ["get_weather"]},
    }
    events = stream(client, body)
    names = [e[1] for e in events]
    assert names[:4] == ["start", "tool_start", "tool_complete", "orchestration_status"]
    assert events[1][2]["name"] == "get_weather"
    assert events[1][2]["input"] == {"location": "Paris"}
    result = events[2][2]["result"]
    assert result["location"] == "Paris"
    assert events[1][2]["toolUseId"] == events[2][2]["toolUseId"]
    assert "message" in events[3][2]
    done = events[-1][2]
    assert done["complete"] is True
    assert done["toolExecutions"][0]["result"] == result
    assert result["temperature"] in "".join(e[2]["delta"] for e in events if e[1] == "content")


def test_wild_shapes(client: httpx.Client) -> None:
    r = client.post(
        "/ai/chat/stream", json=chat_body("wild one"), headers={"X-Emulator-Shapes": "wild"}
    )
    assert "event:" not in r.text
    events = parse_sse(r.text)
    types = [e[2]["type"] for e in events]
    assert types[0] == "start"
    assert types[-1] == "done"
    text = "".join(e[2]["content"] for e in events if e[2]["type"] == "content")
    assert text == 'Emulated answer to "wild one".'


@pytest.mark.parametrize(
    ("chunking", "count"), [("char", 30), ("none", 1), ("sentence", 1), ("word", 5)]
)
def test_chunking(client: httpx.Client, chunking: str, count: int) -> None:
    events = stream(client, chat_body("chunk me"), **{"X-Emulator-Chunking": chunking})
    deltas = [e[2]["delta"] for e in events if e[1] == "content"]
    assert "".join(deltas) == 'Emulated answer to "chunk me".'
    assert len(deltas) == count


def test_forced_content_events(client: httpx.Client) -> None:
    events = stream(client, chat_body("benchmark"), **{"X-Emulator-Content-Events": "500"})
    deltas = [e[2]["delta"] for e in events if e[1] == "content"]
    assert len(deltas) == 500
    assert all(deltas)
    assert "".join(deltas).startswith('Emulated answer to "benchmark".')
    r = client.post(
        "/ai/chat/stream", json=chat_body("x"), headers={"X-Emulator-Content-Events": "zero"}
    )
    assert r.status_code == 400


def test_slow_events(emulator: QuantEmulator, client: httpx.Client) -> None:
    before = emulator.injected_event_delay_s
    fault = {"X-Emulator-Fault": "event_delay=20"}
    with client.stream(
        "POST", "/ai/chat/stream", json=chat_body("one two three"), headers=fault
    ) as r:
        events = parse_sse(r.read().decode())
    names = [e[1] for e in events]
    assert names == ["start", *["content"] * 6, "done"]  # 'Emulated answer to "one two three".'
    # a pause before every event but the first
    assert emulator.injected_event_delay_s - before == pytest.approx(0.02 * (len(events) - 1))


@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_each_event_is_written_on_its_own(client: httpx.Client, count: int) -> None:
    """Dropping the connection after N events delivers exactly N whole events: each event
    reaches the socket as it is written, none waits for the end of the answer."""
    body = chat_body("drop me please now")
    full = stream(client, body)
    assert len(full) == 9  # start, 7 words, done
    received = b""
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream(
            "POST",
            "/ai/chat/stream",
            json=body,
            headers={"X-Emulator-Fault": f"drop_after={count}"},
        ) as r,
    ):
        assert r.status_code == 200
        for chunk in r.iter_bytes():
            received += chunk
    assert received.endswith(b"\n\n")
    assert parse_sse(received.decode()) == full[:count]
    # the server is still fine afterwards
    assert client.post("/ai/chat", json=chat_body("after drop")).status_code == 200


async def test_async_stream(aclient: httpx.AsyncClient) -> None:
    async with aclient.stream("POST", "/ai/chat/stream", json=chat_body("async stream")) as r:
        text = "".join([chunk async for chunk in r.aiter_text()])
    events = parse_sse(text)
    assert events[-1][1] == "done"
    assert (
        "".join(e[2]["delta"] for e in events if e[1] == "content")
        == 'Emulated answer to "async stream".'
    )


def test_stream_validates_body(client: httpx.Client) -> None:
    r = client.post("/ai/chat/stream", json={**chat_body("x"), "stream": True})
    assert r.status_code == 400
    assert "stream" in r.json()["errors"]
