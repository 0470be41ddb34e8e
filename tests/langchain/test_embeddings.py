"""QuantEmbeddings over a contract-checked MockTransport."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from langchain_core.exceptions import ModelAPIError

from langchain_quant import QuantEmbeddings


def vector_of(text: str, size: int = 4) -> list[float]:
    return [float(len(text)), float(ord(text[0]))] + [0.5] * (size - 2)


def handler_for(size: int = 4, seen: list[list[str]] | None = None) -> Any:
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        if seen is not None:
            with lock:
                seen.append(texts)
        return httpx.Response(
            200,
            json={
                "embeddings": [vector_of(t, size) for t in texts],
                "model": body.get("modelId", "amazon.titan-embed-text-v2:0"),
                "dimension": size,
                "usage": {"inputTokens": len(texts), "totalTokens": len(texts)},
            },
        )

    return handler


def test_order_matches_input_across_parallel_batches(make_client: Any) -> None:
    seen: list[list[str]] = []
    client, _transport = make_client(handler_for(seen=seen))
    texts = [f"text number {i}" for i in range(23)]
    emb = QuantEmbeddings(client=client, batch_size=5, max_concurrency=3)
    vectors = emb.embed_documents(texts)
    assert vectors == [vector_of(t) for t in texts]
    assert sorted(len(b) for b in seen) == [3, 5, 5, 5, 5]
    assert all(isinstance(x, float) for x in vectors[0])


async def test_async_order_and_concurrency(make_client: Any) -> None:
    seen: list[list[str]] = []
    client, _ = make_client(handler_for(seen=seen))
    texts = [f"t{i}" for i in range(7)]
    emb = QuantEmbeddings(client=client, batch_size=2, max_concurrency=2)
    assert await emb.aembed_documents(texts) == [vector_of(t) for t in texts]
    assert len(seen) == 4
    assert await emb.aembed_query("solo") == vector_of("solo")


def test_empty_texts_get_zero_vectors_without_a_request(make_client: Any) -> None:
    seen: list[list[str]] = []
    client, _transport = make_client(handler_for(size=4, seen=seen))
    emb = QuantEmbeddings(client=client)
    vectors = emb.embed_documents(["", "hello", "   "])
    assert vectors == [[0.0] * 4, vector_of("hello"), [0.0] * 4]
    assert seen == [["hello"]]
    assert emb.embed_query("") == [0.0] * 1024  # model default size, no request
    assert len(seen) == 1
    assert QuantEmbeddings(client=client, dimensions=256).embed_documents([""]) == [[0.0] * 256]


def test_empty_texts_of_unknown_model_need_dimensions(make_client: Any) -> None:
    client, _ = make_client(handler_for())
    with pytest.raises(ValueError, match="set dimensions"):
        QuantEmbeddings(client=client, model="other.model").embed_query("")


def test_request_fields(make_client: Any) -> None:
    client, transport = make_client(handler_for())
    QuantEmbeddings(
        client=client, model="amazon.titan-embed-text-v2:0", dimensions=512, normalize=False
    ).embed_query("hi")
    assert transport.requests[0] == (
        "embeddings",
        {
            "input": ["hi"],
            "modelId": "amazon.titan-embed-text-v2:0",
            "dimensions": 512,
            "normalize": False,
        },
    )


def test_batch_size_limit() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        QuantEmbeddings(batch_size=101)
    with pytest.raises(ValueError, match="max_concurrency"):
        QuantEmbeddings(max_concurrency=0)


def test_errors_are_dual_classes(make_client: Any) -> None:
    client, _ = make_client(lambda r: httpx.Response(500, json={"message": "down"}), max_retries=0)
    with pytest.raises(ModelAPIError):
        QuantEmbeddings(client=client).embed_query("x")


def test_lazy_client_from_settings() -> None:
    emb = QuantEmbeddings(api_key="k", organization="o", base_url="https://quant.test", timeout=5)
    assert emb._quant_client is None
    assert emb.quant_client is emb.quant_client
    assert "k" not in repr(emb.api_key)


class InFlight:
    """Counts requests in flight; the first ``target`` wait for each other (or a guard)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.all_in = threading.Event()

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            if self.now >= self.target:
                self.all_in.set()

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def test_sync_batches_are_sent_max_concurrency_at_a_time(make_client: Any) -> None:
    flight = InFlight(target=3)
    inner = handler_for()

    def handler(request: httpx.Request) -> httpx.Response:
        flight.enter()
        try:
            flight.all_in.wait(10)  # a guard against a hang if batches were sequential
            return inner(request)
        finally:
            flight.leave()

    client, transport = make_client(handler)
    texts = [f"t{i}" for i in range(10)]
    emb = QuantEmbeddings(client=client, batch_size=2, max_concurrency=3)
    assert emb.embed_documents(texts) == [vector_of(t) for t in texts]
    assert len(transport.requests) == 5
    assert flight.peak == 3  # three batches in flight together, never more


async def test_async_batches_are_sent_max_concurrency_at_a_time() -> None:
    import asyncio
    import json

    from quant_ai import QuantClient
    from tests.contract import check_request

    now = peak = 0
    all_in = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal now, peak
        check_request(request)
        now += 1
        peak = max(peak, now)
        if now >= 2:
            all_in.set()
        await asyncio.wait_for(all_in.wait(), 10)  # a guard against a hang if sequential
        now -= 1
        texts = json.loads(request.content)["input"]
        return httpx.Response(
            200, json={"embeddings": [vector_of(t) for t in texts], "dimension": 4}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = QuantClient(
            api_key="qc_test_key",
            organization="acme",
            base_url="https://quant.test",
            async_http_client=http,
        )
        emb = QuantEmbeddings(client=client, batch_size=3, max_concurrency=2)
        texts = [f"doc {i}" for i in range(12)]
        assert await emb.aembed_documents(texts) == [vector_of(t) for t in texts]
    assert peak == 2


def test_client_settings_reach_the_core() -> None:
    from tests.contract import ContractTransport

    transport = ContractTransport(lambda r: httpx.Response(503, json={"message": "down"}))
    emb = QuantEmbeddings(
        api_key="qc_emb_key",
        organization="emb-org",
        base_url="https://quant.test",
        timeout=3.0,
        max_retries=0,
        default_headers={"X-Team": "search"},
        http_client=httpx.Client(transport=transport),
    )
    assert emb.quant_client.transport.timeout == httpx.Timeout(3.0)
    with pytest.raises(ModelAPIError):
        emb.embed_query("x")
    assert len(transport.requests) == 1  # max_retries=0
