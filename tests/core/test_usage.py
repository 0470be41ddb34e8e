"""Usage totals: every call's tokens and cost add up on ``client.usage``."""

from __future__ import annotations

import httpx

from tests.core.test_client import CHAT_OK, DONE, EMBED_MANY


async def test_usage_totals_across_calls(make_client) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/embeddings"):
            return httpx.Response(200, json=EMBED_MANY)
        if request.url.path.endswith("/stream"):
            frames = (
                'event: content\ndata: {"delta":"Hi"}\n\n'
                'event: done\ndata: {"complete":true,"usage":{"inputTokens":3,"outputTokens":2,"totalTokens":5,"costCents":0.5}}\n\n'
            )
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=frames)
        if "/executions/" in request.url.path:
            return httpx.Response(200, json=DONE)
        return httpx.Response(200, json=CHAT_OK)

    client, _ = make_client(handler)
    client.chat(messages=[{"role": "user", "content": "x"}])
    await client.achat(messages=[{"role": "user", "content": "x"}])
    list(client.stream_chat(messages=[{"role": "user", "content": "x"}]))
    client.embed(["a", "b"])
    client.wait_for_execution("r1")
    totals = client.usage.as_dict()
    assert totals == {
        "requests": 5,
        "input_tokens": 12 * 2 + 3 + 4 + 5,
        "output_tokens": 8 * 2 + 2 + 3,
        "total_tokens": 20 * 2 + 5 + 4 + 8,
        "cost_cents": round(0.18 * 2 + 0.5 + 0.01, 6),
    }
    client.usage.reset()
    assert client.usage.requests == 0
