"""The core's embedding rules (quant_ai.embeddings) and QuantClient.embed_many / aembed_many."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import pytest

from quant_ai import (
    EmbeddingsResponse,
    QuantBadRequestError,
    QuantClient,
    QuantValidationError,
    _validation,
)
from quant_ai.embeddings import (
    MAX_BATCH_SIZE,
    BatchPlan,
    assemble_vectors,
    check_dimensions,
    default_dimensions,
    model_family,
    plan_batches,
)
from quant_ai.emulator.catalog import MODELS
from tests.contract import check_request


def vector_of(text: str) -> list[float]:
    return [float(len(text)), float(ord(text[-1])), 0.5]


def answer(texts: list[str]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "embeddings": [vector_of(t) for t in texts],
            "model": "amazon.titan-embed-text-v2:0",
            "dimension": 3,
            "usage": {"inputTokens": len(texts), "totalTokens": len(texts)},
        },
    )


def texts_of(request: httpx.Request) -> list[str]:
    value = json.loads(request.content)["input"]
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- rules


def test_one_batch_limit_for_the_core_and_the_adapters() -> None:
    from langchain_quant import embeddings as lc
    from llama_index_quant import embeddings as li

    assert MAX_BATCH_SIZE == 100
    assert lc.MAX_BATCH_SIZE is MAX_BATCH_SIZE
    assert li.MAX_BATCH_SIZE is MAX_BATCH_SIZE
    assert _validation.MAX_EMBEDDING_TEXTS is MAX_BATCH_SIZE


def test_plan_batches_sets_blank_texts_aside() -> None:
    plan = plan_batches(["a", "", "b", " \n", "c"], 2)
    assert plan == BatchPlan(count=5, batches=[[0, 2], [4]], blank=[1, 3])
    assert plan.texts(["a", "", "b", " \n", "c"]) == [["a", "b"], ["c"]]
    assert plan_batches([]) == BatchPlan(0, [], [])
    with pytest.raises(QuantValidationError, match="batch_size") as info:
        plan_batches(["a"], 101)
    assert info.value.field == "batch_size"
    with pytest.raises(QuantValidationError, match=r"input\.1"):
        plan_batches(["a", 3])  # type: ignore[list-item]


def test_default_sizes_follow_the_catalogue_by_model_family() -> None:
    embedding_models = [m for m in MODELS.values() if m.kind == "embeddings"]
    assert embedding_models
    for model in embedding_models:
        # the emulator answers with 1536 for the fixed-size model and 1024 by default otherwise
        expected = 1536 if model.embed_dimensions == (1536,) else 1024
        assert default_dimensions(model.id) == expected
        assert default_dimensions(model_family(model.id)) == expected  # without ":0"
    assert default_dimensions(None) == 1024  # the default model
    assert default_dimensions("amazon.titan-embed-text-v1") == 1536
    assert default_dimensions("cohere.embed-english-v3") is None
    assert default_dimensions("my.amazon.titan-embed-text-v2-copy") is None  # no substring match


@pytest.mark.parametrize(
    ("model", "dimensions", "message"),
    [
        ("amazon.titan-embed-text-v2:0", 300, "use one of 256, 512, 1024"),
        ("amazon.titan-embed-text-v2:0", 8192, "use one of 256, 512, 1024"),
        ("amazon.titan-embed-text-v1:0", 1536, "fixed size of 1536"),
        ("other.model", 100, "use one of 256, 512, 1024, 8192"),
    ],
)
def test_check_dimensions_refusals(model: str, dimensions: int, message: str) -> None:
    with pytest.raises(QuantValidationError, match=message) as info:
        check_dimensions(model, dimensions)
    assert info.value.field == "dimensions"


def test_check_dimensions_accepts() -> None:
    for dims in (None, 256, 512, 1024):
        check_dimensions("amazon.titan-embed-text-v2:0", dims)
    check_dimensions("amazon.titan-embed-text-v1:0", None)
    check_dimensions("other.model", 8192)


def test_assemble_fills_blank_texts_with_zero_vectors_of_the_call_size() -> None:
    plan = plan_batches(["x", "", "yy"], 100)
    response = EmbeddingsResponse.model_validate(
        {"embeddings": [[1.0, 2.0], [3.0, 4.0]], "dimension": 2}
    )
    assert assemble_vectors(plan, [response], model="other.model") == [
        [1.0, 2.0],
        [0.0, 0.0],
        [3.0, 4.0],
    ]
    blank_only = plan_batches(["", " "], 100)
    assert assemble_vectors(blank_only, [], model="amazon.titan-embed-text-v1:0") == [
        [0.0] * 1536,
        [0.0] * 1536,
    ]
    assert assemble_vectors(blank_only, [], model="other.model", dimensions=8) == [[0.0] * 8] * 2
    with pytest.raises(QuantValidationError, match="set dimensions"):
        assemble_vectors(blank_only, [], model="other.model")


def test_assemble_refuses_a_wrong_vector_count() -> None:
    plan = plan_batches(["x", "y"], 100)
    short = EmbeddingsResponse.model_validate({"embeddings": [[1.0]], "dimension": 1})
    with pytest.raises(Exception, match="1 vectors for 2 texts"):
        assemble_vectors(plan, [short])


# --------------------------------------------------------------------------- embed_many (sync)


class InFlight:
    """Counts requests in flight; the first ``target`` wait for each other (bounded)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.now = 0
        self.peak = 0
        self.lock = threading.Lock()
        self.all_in = threading.Event()

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            if self.now >= self.target:
                self.all_in.set()

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def test_embed_many_keeps_order_under_concurrency(make_client: Any) -> None:
    flight = InFlight(target=3)

    def handler(request: httpx.Request) -> httpx.Response:
        texts = texts_of(request)
        with flight:
            flight.all_in.wait(10)  # the first three batches meet: they really are concurrent
            if texts[0] == "t0":
                threading.Event().wait(0.05)  # the first batch answers last
            return answer(texts)

    client, transport = make_client(handler)
    texts = [f"t{i}" for i in range(23)]
    vectors = client.embed_many(texts, batch_size=5, max_concurrency=3)
    assert vectors == [vector_of(t) for t in texts]
    assert sorted(len(body["input"]) for _, body in transport.requests) == [3, 5, 5, 5, 5]
    assert flight.peak == 3  # max_concurrency batches in flight together, never more
    assert client.usage.input_tokens == 23


def test_embed_many_request_fields_and_blank_texts(make_client: Any) -> None:
    client, transport = make_client(lambda r: answer(texts_of(r)))
    vectors = client.embed_many(
        ["", "hello", "   "], model="amazon.titan-embed-text-v2:0", dimensions=256, normalize=False
    )
    assert vectors == [[0.0] * 3, vector_of("hello"), [0.0] * 3]  # the size of the others
    assert transport.requests == [
        (
            "embeddings",
            {
                "input": ["hello"],
                "modelId": "amazon.titan-embed-text-v2:0",
                "dimensions": 256,
                "normalize": False,
            },
        )
    ]
    assert client.embed_many(["", " "], dimensions=512) == [[0.0] * 512] * 2
    assert client.embed_many([]) == []
    assert len(transport.requests) == 1  # nothing sent for blank-only calls


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 101}, "batch_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"dimensions": 300}, "dimensions"),
        ({"model": "amazon.titan-embed-text-v1:0", "dimensions": 512}, "dimensions"),
        ({"texts": "one text"}, "texts"),
        ({"texts": ["ok", None]}, "input.1"),
        ({"texts": [""], "model": "other.model"}, "dimensions"),
    ],
)
def test_embed_many_refuses_bad_input_before_sending(
    make_client: Any, kwargs: dict[str, Any], field: str
) -> None:
    client, transport = make_client(lambda r: answer(texts_of(r)))
    texts = kwargs.pop("texts", ["a", "b"])
    with pytest.raises(QuantValidationError) as info:
        client.embed_many(texts, **kwargs)
    assert info.value.field == field
    assert transport.requests == []


def test_embed_many_error_in_one_batch_stops_the_rest(make_client: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        texts = texts_of(request)
        if texts[0] == "t4":
            return httpx.Response(400, json={"message": "batch refused"})
        return answer(texts)

    client, transport = make_client(handler, max_retries=0)
    texts = [f"t{i}" for i in range(20)]
    with pytest.raises(QuantBadRequestError, match="batch refused"):
        client.embed_many(texts, batch_size=2, max_concurrency=1)
    assert [body["input"][0] for _, body in transport.requests] == ["t0", "t2", "t4"]


def test_embed_many_error_under_concurrency_cancels_what_has_not_started(
    make_client: Any,
) -> None:
    started: list[str] = []
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        texts = texts_of(request)
        with lock:
            started.append(texts[0])
        if texts[0] == "t0":
            return httpx.Response(400, json={"message": "first batch refused"})
        threading.Event().wait(0.05)
        return answer(texts)

    client, _ = make_client(handler, max_retries=0)
    texts = [f"t{i}" for i in range(40)]
    with pytest.raises(QuantBadRequestError, match="first batch refused"):
        client.embed_many(texts, batch_size=1, max_concurrency=2)
    assert len(started) < 10  # the queued batches were cancelled, not sent
    assert not [t for t in threading.enumerate() if t.name.startswith("quant-ai-embed")]


# --------------------------------------------------------------------------- aembed_many


class AsyncContract(httpx.AsyncBaseTransport):
    """An async transport checking each request against the spec, answering after a delay."""

    def __init__(self, delays: dict[str, float] | None = None, fail: str | None = None) -> None:
        self.delays = delays or {}
        self.fail = fail
        self.now = 0
        self.peak = 0
        self.threads: set[int] = set()
        self.sent: list[list[str]] = []
        self.finished: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        check_request(request)
        texts = texts_of(request)
        self.sent.append(texts)
        self.threads.add(threading.get_ident())
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delays.get(texts[0], 0.01))
            if texts[0] == self.fail:
                return httpx.Response(400, json={"message": "refused"}, request=request)
            self.finished.append(texts[0])
            return answer(texts)
        finally:
            self.now -= 1


def async_client(transport: AsyncContract) -> QuantClient:
    return QuantClient(
        api_key="qc_test_key",
        organization="acme",
        base_url="https://quant.test",
        max_retries=0,
        async_http_client=httpx.AsyncClient(transport=transport),
    )


async def test_aembed_many_order_and_bounded_concurrency_without_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import concurrent.futures

    def no_pool(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("aembed_many must not use a thread pool")

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "__init__", no_pool)
    transport = AsyncContract(delays={"t0": 0.08})  # the first batch answers last
    client = async_client(transport)
    texts = [f"t{i}" for i in range(17)]
    vectors = await client.aembed_many(texts, batch_size=3, max_concurrency=2)
    assert vectors == [vector_of(t) for t in texts]
    assert len(transport.sent) == 6
    assert transport.peak == 2
    assert transport.threads == {threading.get_ident()}  # all on the event loop's thread
    assert transport.finished.index("t0") > 0  # the first batch finished after others


async def test_aembed_many_error_cancels_the_other_batches() -> None:
    transport = AsyncContract(delays={"t0": 0.001, "t1": 0.5, "t2": 0.5}, fail="t0")
    client = async_client(transport)
    with pytest.raises(QuantBadRequestError, match="refused"):
        await client.aembed_many([f"t{i}" for i in range(6)], batch_size=1, max_concurrency=3)
    assert [s[0] for s in transport.sent] == ["t0", "t1", "t2"]  # t3.. never started
    assert transport.finished == []  # t1 and t2 were cancelled while in flight


async def test_aembed_many_validates_before_sending() -> None:
    transport = AsyncContract()
    client = async_client(transport)
    with pytest.raises(QuantValidationError, match="batch_size"):
        await client.aembed_many(["a"], batch_size=500)
    with pytest.raises(QuantValidationError, match="dimensions"):
        await client.aembed_many(["a"], dimensions=7)
    assert await client.aembed_many([" "]) == [[0.0] * 1024]
    assert transport.sent == []
