"""The OpenAI-compatible surface shares the engine with the native routes."""

from __future__ import annotations

import base64
import json
import struct

import httpx

from tests.emulator.helpers import MODEL, chat_body, parse_sse

WEATHER_FN = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def test_chat_completion_matches_native(client: httpx.Client, oai: httpx.Client) -> None:
    native = client.post("/ai/chat", json=chat_body("Compare the surfaces")).json()
    r = oai.post(
        "/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "Compare the surfaces"}]},
    )
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == MODEL
    choice = body["choices"][0]
    assert choice["message"]["content"] == native["response"]["content"]
    assert choice["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] == native["usage"]["inputTokens"]
    assert body["usage"]["completion_tokens"] == native["usage"]["outputTokens"]


def test_chat_completion_length_and_stop(oai: httpx.Client) -> None:
    msgs = [
        {"role": "system", "content": "x"},
        {"role": "user", "content": "a long reply please about it"},
    ]
    body = oai.post(
        "/chat/completions", json={"model": MODEL, "messages": msgs, "max_tokens": 2}
    ).json()
    assert body["choices"][0]["finish_reason"] == "length"
    body = oai.post(
        "/chat/completions", json={"model": MODEL, "messages": msgs, "stop": "reply"}
    ).json()
    assert body["choices"][0]["message"]["content"] == 'Emulated answer to "a long '


def test_stream_with_usage_and_done(oai: httpx.Client) -> None:
    payload = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "stream it"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 2,
    }
    events = parse_sse(oai.post("/chat/completions", json=payload).text)
    assert events[-1][2] == "[DONE]"
    chunks = [e[2] for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Emulated answer"
    finish = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1]
    assert finish == "stop"  # documented: streams report stop on truncation
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 2


def test_tools_and_tool_choice(oai: httpx.Client) -> None:
    msgs = [{"role": "user", "content": "What's the weather in Melbourne?"}]
    body = oai.post(
        "/chat/completions", json={"model": MODEL, "messages": msgs, "tools": [WEATHER_FN]}
    ).json()
    call = body["choices"][0]["message"]["tool_calls"][0]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Melbourne"}
    none = oai.post(
        "/chat/completions",
        json={"model": MODEL, "messages": msgs, "tools": [WEATHER_FN], "tool_choice": "none"},
    ).json()
    assert "tool_calls" not in none["choices"][0]["message"]
    hello = [{"role": "user", "content": "hello"}]
    forced = oai.post(
        "/chat/completions",
        json={
            "model": MODEL,
            "messages": hello,
            "tools": [WEATHER_FN],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
    ).json()
    assert forced["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    required = oai.post(
        "/chat/completions",
        json={"model": MODEL, "messages": hello, "tools": [WEATHER_FN], "tool_choice": "required"},
    ).json()
    assert required["choices"][0]["finish_reason"] == "tool_calls"
    follow = [
        *msgs,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "20C"},
    ]
    final = oai.post(
        "/chat/completions", json={"model": MODEL, "messages": follow, "tools": [WEATHER_FN]}
    ).json()
    assert (
        final["choices"][0]["message"]["content"]
        == "Based on the tool results: get_weather returned 20C."
    )


def test_stream_tool_calls(oai: httpx.Client) -> None:
    payload = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "weather in Oslo"}],
        "tools": [WEATHER_FN],
        "stream": True,
    }
    chunks = [e[2] for e in parse_sse(oai.post("/chat/completions", json=payload).text)[:-1]]
    calls = [
        c["choices"][0]["delta"]["tool_calls"][0]
        for c in chunks
        if "tool_calls" in c["choices"][0]["delta"]
    ]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_embeddings_float_base64_and_tokens(client: httpx.Client, oai: httpx.Client) -> None:
    native = client.post(
        "/ai/embeddings", json={"input": ["same text here"], "dimensions": 256}
    ).json()
    body = oai.post(
        "/embeddings",
        json={
            "model": "amazon.titan-embed-text-v2:0",
            "input": ["same text here"],
            "dimensions": 256,
        },
    ).json()
    assert body["object"] == "list"
    assert body["data"][0]["embedding"] == native["embeddings"][0]
    b = oai.post(
        "/embeddings",
        json={
            "model": "amazon.titan-embed-text-v2:0",
            "input": "same text here",
            "dimensions": 256,
            "encoding_format": "base64",
        },
    ).json()
    floats = struct.unpack("<256f", base64.b64decode(b["data"][0]["embedding"]))
    assert all(abs(x - y) < 1e-6 for x, y in zip(floats, native["embeddings"][0], strict=False))
    tokens = oai.post(
        "/embeddings", json={"model": "amazon.titan-embed-text-v2:0", "input": [[1, 2, 3], [4, 5]]}
    ).json()
    assert len(tokens["data"]) == 2
    assert tokens["usage"]["prompt_tokens"] == 5
    bad = oai.post("/embeddings", json={"model": MODEL, "input": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "model"


def test_models_and_errors(oai: httpx.Client) -> None:
    listing = oai.get("/models").json()
    assert listing["object"] == "list"
    assert len(listing["data"]) == 10
    assert oai.get("/models/amazon.nova-micro-v1:0").json()["id"] == "amazon.nova-micro-v1:0"
    missing = oai.get("/models/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["param"] == "model"
    r = oai.post(
        "/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "x"}], "n": 2},
    )
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "n"
    r = oai.post(
        "/chat/completions", json={"model": "nope", "messages": [{"role": "user", "content": "x"}]}
    )
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_request_error"
    r = oai.post("/chat/completions", json={"model": MODEL, "messages": []})
    assert r.status_code == 400
    assert r.json()["error"]["param"] == "messages"


def test_stream_settings_headers(oai: httpx.Client) -> None:
    payload = {"model": MODEL, "messages": [{"role": "user", "content": "abc"}], "stream": True}
    events = parse_sse(
        oai.post("/chat/completions", json=payload, headers={"X-Emulator-Content-Events": "4"}).text
    )
    deltas = [e[2]["choices"][0]["delta"].get("content") for e in events[1:-2]]
    assert len(deltas) == 4
    assert "".join(deltas) == 'Emulated answer to "abc".'
    for name, value in (("X-Emulator-Content-Events", "zero"), ("X-Emulator-Chunking", "lines")):
        r = oai.post("/chat/completions", json=payload, headers={name: value})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == name
