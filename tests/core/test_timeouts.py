"""Timeouts: finite defaults, a longer read for image generation, and caller overrides.

Every request carries its timeout in ``request.extensions["timeout"]``; the handler records it,
so nothing here waits for anything.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from quant_ai import DEFAULT_TIMEOUT, QuantClient
from quant_ai._transport import IMAGE_TIMEOUT
from tests.contract import ContractTransport

MakeClient = Callable[..., tuple[QuantClient, ContractTransport]]
MESSAGES = [{"role": "user", "content": "x"}]
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
