"""Large request bodies: spliced from their parts, sent in slices, same bytes on the wire."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pydantic
import pytest

from quant_ai import ChatRequest, ImageBlock, QuantClient
from quant_ai._body import CHUNK_SIZE, SPILL_MIN_CHARS, JsonBody, dump_json
from quant_ai.types import ImageContent, MediaSource, Message


def _request(*blocks: Any) -> ChatRequest:
    return ChatRequest.model_validate(
        {
            "messages": [{"role": "user", "content": list(blocks)}],
            "modelId": "amazon.nova-lite-v1:0",
        }
    )


def _plain(model: ChatRequest) -> bytes:
    return model.__pydantic_serializer__.to_json(model, by_alias=True, exclude_none=True)


def test_small_requests_stay_plain_bytes() -> None:
    req = _request(ImageBlock.from_bytes(b"\x89PNG small", "png"), {"text": "hi"})
    body = dump_json(req)
    assert isinstance(body, bytes)
    assert body == _plain(req)


def test_large_media_is_spliced_into_identical_bytes() -> None:
    big = os.urandom(SPILL_MIN_CHARS)  # base64 is 4/3 as long: above the threshold
    req = _request(
        ImageBlock.from_bytes(big, "png"),
        {"text": 'quote " and backslash \\ and \u00e9'},
        ImageBlock.from_bytes(b"tiny", "jpeg"),
        ImageBlock.from_bytes(big[::-1], "gif"),
    )
    body = dump_json(req)
    assert isinstance(body, JsonBody)
    plain = _plain(req)
    assert len(body) == len(plain)
    assert bytes(body) == plain
    chunks = list(body.chunks())
    assert b"".join(chunks) == plain
    assert max(len(c) for c in chunks) <= CHUNK_SIZE
    assert list(body.chunks()) == chunks  # a new iterator each time (retries resend)
    # other serializations are untouched by the spill serializer
    assert req.model_dump_json(by_alias=True, exclude_none=True).encode() == plain


def test_text_that_would_need_escaping_is_not_spliced() -> None:
    odd = "A" * SPILL_MIN_CHARS + '"\n'
    with pytest.raises(pydantic.ValidationError, match="not valid base64"):
        _request({"image": {"format": "png", "source": {"bytes": odd}}})
    # Built without validation, such text is still serialized safely (escaped, not spliced).
    source = MediaSource.model_construct(data=odd)
    image = ImageBlock.model_construct(
        image=ImageContent.model_construct(format="png", source=source)
    )
    req = ChatRequest.model_construct(
        messages=[Message.model_construct(role="user", content=[image])],
        model_id="amazon.nova-lite-v1:0",
    )
    body = dump_json(req)
    assert isinstance(body, bytes)
    assert json.loads(body)["messages"][0]["content"][0]["image"]["source"]["bytes"] == odd


def _echo_client(seen: list[httpx.Request], fail_first: bool = False) -> QuantClient:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        calls["n"] += 1
        if fail_first and calls["n"] == 1:
            return httpx.Response(503, json={"message": "busy"})
        return httpx.Response(200, json={"response": {"role": "assistant", "content": "ok"}})

    transport = httpx.MockTransport(handler)
    client = QuantClient(
        api_key="qc_test_key",
        organization="acme",
        base_url="https://quant.test",
        http_client=httpx.Client(transport=transport),
        async_http_client=httpx.AsyncClient(transport=transport),
    )
    client.transport.sleep = lambda _s: None

    async def asleep(_s: float) -> None:
        return None

    client.transport.asleep = asleep
    return client


@pytest.mark.parametrize("fail_first", [False, True])
def test_sync_client_sends_the_same_bytes_with_content_length(fail_first: bool) -> None:
    seen: list[httpx.Request] = []
    client = _echo_client(seen, fail_first)
    block = ImageBlock.from_bytes(os.urandom(2 * SPILL_MIN_CHARS), "png")
    req = _request(block, {"text": "What is this?"})
    assert client.chat(req).text == "ok"
    assert len(seen) == (2 if fail_first else 1)
    for request in seen:  # a retry resends the whole body
        assert request.content == _plain(req)
        assert request.headers["content-length"] == str(len(_plain(req)))
        assert "transfer-encoding" not in request.headers


async def test_async_client_sends_the_same_bytes_with_content_length() -> None:
    seen: list[httpx.Request] = []
    client = _echo_client(seen, fail_first=True)
    block = ImageBlock.from_bytes(os.urandom(2 * SPILL_MIN_CHARS), "png")
    req = _request(block, {"text": "What is this?"})
    assert (await client.achat(req)).text == "ok"
    assert len(seen) == 2
    for request in seen:
        assert request.content == _plain(req)
        assert request.headers["content-length"] == str(len(_plain(req)))
