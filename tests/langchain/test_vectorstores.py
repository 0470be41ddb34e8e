"""QuantVectorStore and QuantRetriever on a live local emulator: every request is recorded and
validated against the spec (``tests.contract.check_request``), so the tests check both what
comes back and what was sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.documents import Document
from langchain_core.indexing import InMemoryRecordManager, aindex, index

from langchain_quant import QuantRetriever, QuantVectorStore
from quant_ai import QuantClient, QuantNotFoundError, QuantValidationError, UnsupportedFilterError
from tests.contract import check_request
from tests.langchain import _support

pytestmark = pytest.mark.emulator


class Recorder:
    """An httpx request hook: validates each request against the spec and keeps it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        op, body = check_request(request)
        self.seen.append((request.method, op, body))

    async def acall(self, request: httpx.Request) -> None:
        self(request)

    def ops(self) -> list[str]:
        return [op for _, op, _ in self.seen]

    def bodies(self, op: str) -> list[Any]:
        return [body for _, name, body in self.seen if name == op]


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def qc(rec: Recorder) -> Iterator[QuantClient]:
    params = _support.live_params()
    client = QuantClient(
        api_key=params["api_key"],
        organization=params["organization"],
        base_url=params["base_url"],
        http_client=httpx.Client(event_hooks={"request": [rec]}),
        async_http_client=httpx.AsyncClient(event_hooks={"request": [rec.acall]}),
    )
    yield client
    client.close()


@pytest.fixture
def store(qc: QuantClient, rec: Recorder) -> Iterator[QuantVectorStore]:
    made = QuantVectorStore(collection="lc-" + uuid.uuid4().hex[:12], client=qc, dimensions=256)
    yield made
    with contextlib.suppress(QuantNotFoundError):  # tests refused before creating it
        qc.vector_db.delete_collection(made.collection)


DOCS = [
    Document(page_content="the red fox runs", metadata={"kind": "animal", "n": 1, "tags": ["red"]}),
    Document(page_content="a red car drives", metadata={"kind": "car", "n": 2, "tags": ["red"]}),
    Document(
        page_content="the green frog sits",
        metadata={"kind": "animal", "n": 3, "tags": ["green", "small"]},
    ),
]


def _fill(store: QuantVectorStore) -> None:
    store.add_documents(DOCS, ids=["fox", "car", "frog"])


# ----------------------------------------------------------------------------- filters

FILTERS: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = [
    ({"kind": "animal"}, {"exact": {"kind": "animal"}}, ["fox", "frog"]),
    ({"kind": {"$eq": "car"}}, {"exact": {"kind": "car"}}, ["car"]),
    ({"n": {"$in": [3]}}, {"exact": {"n": 3}}, ["frog"]),
    (
        {"$and": [{"kind": "animal"}, {"n": 1}]},
        {"exact": {"kind": "animal", "n": 1}},
        ["fox"],
    ),
    ({"kind": "animal", "n": 3}, {"exact": {"kind": "animal", "n": 3}}, ["frog"]),
    ({"tags": {"$contains": "red"}}, {"contains": {"tags": ["red"]}}, ["car", "fox"]),
    (
        {"tags": {"$contains": ["small", "nothing"]}},
        {"contains": {"tags": ["small", "nothing"]}},
        ["frog"],
    ),
    (
        {"kind": "animal", "tags": {"$contains": ["red"]}},
        {"exact": {"kind": "animal"}, "contains": {"tags": ["red"]}},
        ["fox"],
    ),
    ({"n": "1"}, {"exact": {"n": "1"}}, []),
]


@pytest.mark.parametrize(("flt", "wire", "ids"), FILTERS)
def test_filters_reach_the_service_compiled(
    store: QuantVectorStore,
    rec: Recorder,
    flt: dict[str, Any],
    wire: dict[str, Any],
    ids: list[str],
) -> None:
    _fill(store)
    found = store.similarity_search("red fox frog car", k=5, filter=flt)
    assert sorted(d.id or "" for d in found) == ids
    assert rec.bodies("queryVectorCollection")[-1]["filter"] == wire


REFUSED = [
    {"n": {"$ne": 1}},
    {"n": {"$gt": 1}},
    {"n": {"$lt": 1}},
    {"n": {"$in": [1, 2]}},
    {"n": {"$nin": [1]}},
    {"$or": [{"n": 1}, {"n": 2}]},
    {"$not": {"n": 1}},
    {"kind": {"$like": "an%"}},
    {"kind": {"$exists": True}},
]


@pytest.mark.parametrize("flt", REFUSED, ids=lambda f: json.dumps(f))
def test_unsupported_filters_raise_before_any_request(
    store: QuantVectorStore, rec: Recorder, flt: dict[str, Any]
) -> None:
    before = len(rec.seen)
    with pytest.raises(UnsupportedFilterError):
        store.similarity_search("red fox", filter=flt)
    with pytest.raises(UnsupportedFilterError):
        asyncio.run(store.asimilarity_search("red fox", filter=flt))
    with pytest.raises(UnsupportedFilterError):
        store.delete(filter=flt)
    assert len(rec.seen) == before


# ----------------------------------------------------------------------------- ids, metadata


def test_metadata_round_trips_exactly(store: QuantVectorStore, rec: Recorder) -> None:
    meta = {"i": 1, "f": 1.5, "b": True, "none": None, "list": [1, "a"], "obj": {"x": {"y": 2}}}
    doc = Document(page_content="exact metadata", metadata=meta, id="m1")
    store.add_documents([doc])
    assert doc == Document(page_content="exact metadata", metadata=meta, id="m1")
    hit = store.similarity_search("exact metadata", k=1)[0]
    assert hit == Document(page_content="exact metadata", metadata=meta, id="m1")
    assert type(hit.metadata["i"]) is int
    assert store.get_by_ids(["m1"]) == [hit]
    upload = rec.bodies("uploadVectorDocuments")[-1]["documents"][0]
    assert upload["key"] == "m1"


def test_ids_from_argument_then_document_then_new(store: QuantVectorStore) -> None:
    ids = store.add_documents(
        [Document(page_content="one text", id="doc-a"), Document(page_content="two text")]
    )
    assert ids[0] == "doc-a"
    assert uuid.UUID(ids[1])
    assert store.add_documents([Document(page_content="three", id="ignored")], ids=["x"]) == ["x"]
    assert [d.id for d in store.get_by_ids(["x", "ignored"])] == ["x"]


def test_reserved_metadata_is_refused(store: QuantVectorStore, rec: Recorder) -> None:
    with pytest.raises(QuantValidationError, match="_quant_"):
        store.add_texts(["text here"], [{"_quant_id": "x"}])
    assert "uploadVectorDocuments" not in rec.ops()


def test_readding_an_id_replaces_it(store: QuantVectorStore) -> None:
    store.add_texts(["first version"], [{"v": 1}], ids=["same"])
    store.add_texts(["second version"], [{"v": 2}], ids=["same"])
    assert store.get_by_ids(["same"]) == [
        Document(page_content="second version", metadata={"v": 2}, id="same")
    ]


# ----------------------------------------------------------------------------- search


def test_scores_are_relevance_and_k_is_checked(store: QuantVectorStore) -> None:
    _fill(store)
    pairs = store.similarity_search_with_score("the red fox runs", k=3)
    assert pairs[0][0].id == "fox"
    assert pairs[0][1] == pytest.approx(1.0)
    assert all(0.0 <= s <= 1.0 for _, s in pairs)
    assert [s for _, s in pairs] == sorted((s for _, s in pairs), reverse=True)
    rel = store.similarity_search_with_relevance_scores("the red fox runs", k=3)
    assert [s for _, s in rel] == [s for _, s in pairs]
    with pytest.raises(QuantValidationError, match="between 1 and 20, got 21"):
        store.similarity_search("red", k=21)
    high = store.similarity_search_with_score("the red fox runs", k=3, score_threshold=0.99)
    assert [d.id for d, _ in high] == ["fox"]


@pytest.mark.parametrize("text", ["fox", "a", "red " * 300])
def test_any_query_length_works(store: QuantVectorStore, rec: Recorder, text: str) -> None:
    _fill(store)
    assert store.similarity_search(text, k=1)
    sent = rec.bodies("queryVectorCollection")[-1]
    assert ("query" in sent) == (3 <= len(text) <= 1000)
    if "vector" in sent:
        assert rec.bodies("embeddings")[-1]["dimensions"] == 256
        assert len(sent["vector"]) == 256


def test_search_by_vector_and_mmr(store: QuantVectorStore, rec: Recorder) -> None:
    _fill(store)
    vector = store.vector_db.embed_query(store.collection, "the red fox runs")
    assert store.similarity_search_by_vector(vector, k=1)[0].id == "fox"
    picked = store.max_marginal_relevance_search("red fox", k=2, fetch_k=3, lambda_mult=0.3)
    assert len(picked) == 2
    assert picked[0].id == "fox"
    sent = rec.bodies("queryVectorCollection")[-1]
    assert sent["includeEmbeddings"] is True
    assert sent["limit"] == 3
    mmr_async = asyncio.run(store.amax_marginal_relevance_search("red fox", k=2, fetch_k=3))
    assert len(mmr_async) == 2
    assert mmr_async[0].id == "fox"


def test_async_twins_are_native(store: QuantVectorStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import langchain_core.vectorstores.base as base

    def no_threads(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an async method fell back to a thread pool")

    monkeypatch.setattr(base, "run_in_executor", no_threads)

    async def run() -> None:
        ids = await store.aadd_documents(DOCS, ids=["fox", "car", "frog"])
        assert ids == ["fox", "car", "frog"]
        assert (await store.asimilarity_search("the red fox runs", k=1))[0].id == "fox"
        pairs = await store.asimilarity_search_with_score("red car", k=1)
        assert pairs[0][0].id == "car"
        rel = await store.asimilarity_search_with_relevance_scores("red car", k=1)
        assert rel[0][0].id == "car"
        vector = await store.vector_db.aembed_query(store.collection, "green frog")
        assert (await store.asimilarity_search_by_vector(vector, k=1))[0].id == "frog"
        assert [d.id for d in await store.aget_by_ids(["car", "nope"])] == ["car"]
        await store.adelete(["car"])
        await store.adelete(filter={"kind": "animal", "n": 3})
        left = await store.asimilarity_search("anything at all", k=5)
        assert [d.id for d in left] == ["fox"]
        await store.adelete(delete_all=True)
        assert await store.asimilarity_search("anything at all", k=5) == []
        await store.quant_client.aclose()

    asyncio.run(run())


# ----------------------------------------------------------------------------- delete


def test_delete_modes(store: QuantVectorStore, rec: Recorder) -> None:
    _fill(store)
    with pytest.raises(ValueError, match="delete_all=True"):
        store.delete()
    with pytest.raises(ValueError, match="one of"):
        store.delete(["fox"], delete_all=True)
    assert store.delete(["fox", "missing"]) is True
    assert rec.bodies("deleteVectorDocuments")[-1] == {"keys": ["fox", "missing"]}
    store.delete(filter={"tags": {"$contains": "green"}})
    assert [d.id for d in store.similarity_search("red car", k=5)] == ["car"]
    store.delete(delete_all=True)
    assert rec.bodies("deleteVectorDocuments")[-1] == {"purgeAll": True}
    assert store.similarity_search("red car", k=5) == []


# ----------------------------------------------------------------------------- construction


def test_unknown_arguments_are_refused(qc: QuantClient) -> None:
    with pytest.raises(ValueError, match="colection"):
        QuantVectorStore(collection="x", colection="y", client=qc)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="topk"):
        QuantRetriever(collection="x", topk=3, client=qc)  # type: ignore[call-arg]
    store = QuantVectorStore("positional-name", client=qc)
    assert store.collection == "positional-name"
    with pytest.raises(TypeError, match="nonsense"):
        store.similarity_search("query text", nonsense=1)
    with pytest.raises(TypeError, match="nonsense"):
        store.add_texts(["text"], nonsense=1)


def test_embeddings_are_server_side(qc: QuantClient) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    name = "lc-" + uuid.uuid4().hex[:12]
    with pytest.raises(ValueError, match="embedding=None"):
        QuantVectorStore.from_texts(["x"], DeterministicFakeEmbedding(size=8), collection=name)
    store = QuantVectorStore.from_texts(
        ["alpha beta", "gamma delta"], None, [{"n": 1}, {"n": 2}], collection=name, client=qc
    )
    assert store.embeddings is None
    assert store.similarity_search("alpha beta", k=1)[0].metadata == {"n": 1}
    other = asyncio.run(
        QuantVectorStore.afrom_documents(
            [Document(page_content="epsilon", id="e")], collection=name, client=qc
        )
    )
    assert other.get_by_ids(["e"])[0].page_content == "epsilon"
    qc.vector_db.delete_collection(name)


def test_existing_collection_with_other_settings(qc: QuantClient) -> None:
    name = "lc-" + uuid.uuid4().hex[:12]
    qc.vector_db.create_collection(name, dimensions=512)
    assert QuantVectorStore(name, client=qc).similarity_search("nothing here") == []
    with pytest.raises(ValueError, match="512 dimensions"):
        QuantVectorStore(name, client=qc, dimensions=256).similarity_search("nothing here")
    qc.vector_db.delete_collection(name)
    missing = QuantVectorStore(name, client=qc, create_collection=False)
    with pytest.raises(QuantNotFoundError):
        missing.similarity_search("anything")


def test_store_pickles_before_and_after_use() -> None:
    store = QuantVectorStore("lc-" + uuid.uuid4().hex[:12], **_support.live_params())
    assert pickle.loads(pickle.dumps(store)).collection == store.collection
    _fill(store)
    again = pickle.loads(pickle.dumps(store))
    assert [d.id for d in again.similarity_search("the red fox runs", k=1)] == ["fox"]
    assert "qc-emulator" not in repr(again)
    again.vector_db.delete_collection(again.collection)


# ----------------------------------------------------------------------------- retrievers


def test_as_retriever_and_quant_retriever(store: QuantVectorStore, qc: QuantClient) -> None:
    _fill(store)
    retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"kind": "animal"}})
    assert [d.id for d in retriever.invoke("red fox")] == ["fox", "frog"]
    thresholded = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.99}
    )
    assert [d.id for d in thresholded.invoke("the red fox runs")] == ["fox"]
    quant = QuantRetriever(collection=store.collection, client=qc, k=3)
    assert len(quant.invoke("red fox")) == 3
    assert [d.id for d in quant.invoke("red fox", k=1)] == ["fox"]
    assert [d.id for d in quant.invoke("red", filter={"kind": "car"})] == ["car"]
    assert [d.id for d in quant.invoke("the red fox runs", score_threshold=0.99)] == ["fox"]
    assert [d.id for d in asyncio.run(quant.ainvoke("red fox", k=1))] == ["fox"]
    with pytest.raises(QuantValidationError):
        quant.invoke("red fox", k=25)


# ----------------------------------------------------------------------------- index()


def test_index_api_with_a_record_manager(store: QuantVectorStore, rec: Recorder) -> None:
    manager = InMemoryRecordManager(namespace=f"quant/{store.collection}")
    manager.create_schema()
    docs = [
        Document(page_content="chapter one text", metadata={"source": "book.txt"}),
        Document(page_content="chapter two text", metadata={"source": "book.txt"}),
        Document(page_content="a separate note", metadata={"source": "note.txt"}),
    ]
    first = index(
        docs, manager, store, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert (first["num_added"], first["num_deleted"]) == (3, 0)
    again = index(
        docs, manager, store, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert (again["num_added"], again["num_skipped"]) == (0, 3)
    changed = [
        Document(page_content="chapter one, revised", metadata={"source": "book.txt"}),
        docs[2],
    ]
    third = index(
        changed,
        manager,
        store,
        cleanup="incremental",
        source_id_key="source",
        key_encoder="sha256",
    )
    assert (third["num_added"], third["num_skipped"], third["num_deleted"]) == (1, 1, 2)
    stored = store.similarity_search("chapter text note", k=10)
    assert sorted(d.page_content for d in stored) == ["a separate note", "chapter one, revised"]
    assert all(d.metadata.keys() == {"source"} for d in stored)
    full = asyncio.run(aindex([], manager, store, cleanup="full", key_encoder="sha256"))
    assert full["num_deleted"] == 2
    assert store.similarity_search("chapter text note", k=10) == []


# ----------------------------------------------------------------------------- errors


def test_service_errors_are_langchain_duals(store: QuantVectorStore) -> None:
    from langchain_core.exceptions import ModelNotFoundError, ModelRateLimitError

    from quant_ai import QuantRateLimitError

    _fill(store)
    params = _support.live_params()
    limited = QuantVectorStore(
        store.collection,
        **params,
        max_retries=0,
        default_headers={"X-Emulator-Fault": "status=429;count=1000;retry_after=3"},
    )
    with pytest.raises(QuantRateLimitError) as info:
        limited.similarity_search("red fox")
    assert isinstance(info.value, ModelRateLimitError)
    assert info.value.retry_after == 3
    with pytest.raises(QuantRateLimitError):
        asyncio.run(limited.aget_by_ids(["fox"]))
    missing = QuantRetriever(collection="lc-no-such-collection", **params)
    with pytest.raises(QuantNotFoundError) as found:
        missing.invoke("anything")
    assert isinstance(found.value, ModelNotFoundError)


def test_an_existing_collection_of_another_size_or_model_is_refused(
    store: QuantVectorStore, qc: QuantClient
) -> None:
    store.add_texts(["made with 256 dimensions"])  # creates the collection
    same = QuantVectorStore(collection=store.collection, client=qc, dimensions=256)
    assert same.similarity_search("made with", k=1)
    unasked = QuantVectorStore(collection=store.collection, client=qc)  # takes it as it is
    assert unasked.similarity_search("made with", k=1)
    other_size = QuantVectorStore(collection=store.collection, client=qc, dimensions=512)
    with pytest.raises(QuantValidationError, match="exists with 256 dimensions") as info:
        other_size.similarity_search("made with", k=1)
    assert info.value.field == "dimensions"
    other_model = QuantVectorStore(
        collection=store.collection, client=qc, embedding_model="cohere.embed-english-v3"
    )
    with pytest.raises(QuantValidationError) as info:
        other_model.similarity_search("made with", k=1)
    assert info.value.field == "embedding_model"
