"""``QuantVectorStore`` (LlamaIndex): filters, ids and metadata, every call sync and async.

The store talks to a real emulator (which validates every request against the spec) or, for
the request-shape tests, to ``make_client``'s contract-checked mock transport.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from llama_index_quant import QuantEmbedding, QuantLLM, QuantVectorStore
from llama_index_quant.vector_stores import compile_metadata_filters, filters_to_conditions
from quant_ai import Condition, QuantClient, QuantValidationError, UnsupportedFilterError
from quant_ai.emulator import QuantEmulator
from tests.conftest import MakeClient

KEY = "qc-vector-store"


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        yield emu


@pytest.fixture
def client(emulator: QuantEmulator) -> Iterator[QuantClient]:
    with QuantClient(api_key=KEY, organization="acme", base_url=emulator.base_url) as made:
        yield made


@pytest.fixture
def store(client: QuantClient) -> QuantVectorStore:
    return QuantVectorStore(f"li-{uuid.uuid4().hex[:8]}", client=client)


def node(node_id: str, text: str, ref: str | None = None, **metadata: Any) -> TextNode:
    made = TextNode(id_=node_id, text=text, metadata=metadata)
    if ref is not None:
        made.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=ref)
    return made


NODES = [
    node("n-platypus", "The platypus is a mammal that lays eggs.", "doc-animals",
         kind="animal", tags=["mammal", "egg"], rank=1),
    node("n-echidna", "The echidna is another egg laying mammal of Australia.", "doc-animals",
         kind="animal", tags=["mammal"], rank=2),
    node("n-canberra", "Canberra was designed by Walter Burley Griffin and Marion Mahony.",
         "doc-cities", kind="city", tags=["capital"], rank=3),
    node("n-otway", "The Cape Otway Lightstation was first lit in 1848.", "doc-coast",
         kind="lighthouse", tags=["coast"], rank=4),
]  # fmt: skip


def ids_of(result: Any) -> list[str]:
    return [n.node_id for n in result.nodes]


def eq(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])


# ------------------------------------------------------------------ the filter table


def wire(filters: MetadataFilters) -> dict[str, Any]:
    """The filter as the service receives it."""
    compiled = compile_metadata_filters(filters)
    assert compiled is not None
    return compiled.to_wire()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (eq("kind", "city"), {"exact": {"kind": "city"}}),
        (eq("rank", 3), {"exact": {"rank": 3}}),
        (eq("tags", "coast", FilterOperator.CONTAINS), {"contains": {"tags": ["coast"]}}),
        (eq("tags", ["egg", "capital"], FilterOperator.ANY), {"contains": {"tags": ["egg", "capital"]}}),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="kind", value="animal"),
                    MetadataFilters(
                        filters=[MetadataFilter(key="tags", value=["egg"], operator="any")],
                        condition=FilterCondition.AND,
                    ),
                ],
                condition=FilterCondition.AND,
            ),
            {"exact": {"kind": "animal"}, "contains": {"tags": ["egg"]}},
        ),
    ],
    ids=["EQ str", "EQ int", "CONTAINS", "ANY", "AND nested"],
)  # fmt: skip
def test_supported_filters_compile_to_the_service_filter(
    filters: MetadataFilters, expected: dict[str, Any]
) -> None:
    assert wire(filters) == expected


def test_metadata_filters_become_the_cores_neutral_conditions() -> None:
    filters = MetadataFilters(
        filters=[
            MetadataFilter(key="kind", value="animal"),
            MetadataFilter(key="tags", value="egg", operator=FilterOperator.CONTAINS),
            MetadataFilters(filters=[MetadataFilter(key="t", value=["a", "b"], operator="any")]),
        ]
    )
    assert filters_to_conditions(filters) == [
        Condition("kind", "eq", "animal"),
        Condition("tags", "contains", "egg"),
        Condition("t", "contains", ["a", "b"]),
    ]
    assert filters_to_conditions(None) == []
    assert compile_metadata_filters(MetadataFilters(filters=[])) is None


def test_values_the_service_cannot_compare_are_refused_by_the_core() -> None:
    with pytest.raises(UnsupportedFilterError, match="contains"):
        compile_metadata_filters(eq("tags", 3, FilterOperator.CONTAINS))
    with pytest.raises(UnsupportedFilterError, match="equality"):
        compile_metadata_filters(eq("tags", ["a"]))


SUPPORTED = {FilterOperator.EQ, FilterOperator.CONTAINS, FilterOperator.ANY}


@pytest.mark.parametrize("op", [op for op in FilterOperator if op not in SUPPORTED], ids=str)
def test_every_other_operator_is_refused_by_name(op: FilterOperator) -> None:
    value: Any = (
        ["a", "b"] if op in (FilterOperator.IN, FilterOperator.NIN, FilterOperator.ALL) else 1
    )
    with pytest.raises(UnsupportedFilterError) as info:
        compile_metadata_filters(eq("year", value, op))
    assert str(info.value).startswith(
        f"filters: FilterOperator.{op.name} ({op.value!r}) on 'year' is not supported"
    )
    assert info.value.field == "filters.year"
    assert info.value.operator == op.value


@pytest.mark.parametrize("condition", [FilterCondition.OR, FilterCondition.NOT])
def test_or_and_not_are_refused_by_name(condition: FilterCondition) -> None:
    filters = MetadataFilters(
        filters=[MetadataFilter(key="a", value="x"), MetadataFilter(key="b", value="y")],
        condition=condition,
    )
    with pytest.raises(UnsupportedFilterError, match=f"condition {condition.name} "):
        compile_metadata_filters(filters)
    nested = MetadataFilters(filters=[MetadataFilter(key="a", value="x"), filters])
    with pytest.raises(UnsupportedFilterError, match=f"condition {condition.name} "):
        compile_metadata_filters(nested)


@pytest.mark.parametrize("top_k", [0, 21])
def test_a_top_k_outside_the_services_limit_is_refused_before_any_request(
    make_client: MakeClient, top_k: int
) -> None:
    client, transport = make_client(lambda request: httpx.Response(500))
    store = QuantVectorStore("handbook", client=client)  # a name: resolving it would list
    with pytest.raises(QuantValidationError, match="limit: must be between 1 and 20"):
        store.query(VectorStoreQuery(query_str="eggs", similarity_top_k=top_k))
    assert transport.requests == []


def test_a_refused_filter_sends_nothing(make_client: MakeClient) -> None:
    client, transport = make_client(lambda request: httpx.Response(500))
    store = QuantVectorStore("3f1c1c8e-9b7e-4a55-9d0c-3f1d2b1a0c11", client=client)
    query = VectorStoreQuery(query_str="eggs", filters=eq("rank", 2, FilterOperator.GT))
    with pytest.raises(UnsupportedFilterError, match=r"FilterOperator\.GT"):
        store.query(query)
    assert transport.requests == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"mode": VectorStoreQueryMode.HYBRID}, "mode"),
        ({"doc_ids": ["d"]}, "doc_ids"),
        ({"node_ids": ["n"]}, "node_ids"),
        ({"alpha": 0.5}, "alpha"),
    ],
)
def test_query_options_the_service_lacks_are_refused(
    make_client: MakeClient, change: dict[str, Any], field: str
) -> None:
    client, transport = make_client(lambda request: httpx.Response(500))
    store = QuantVectorStore("3f1c1c8e-9b7e-4a55-9d0c-3f1d2b1a0c11", client=client)
    with pytest.raises(QuantValidationError) as info:
        store.query(VectorStoreQuery(query_str="eggs", **change))
    assert info.value.field == field
    assert transport.requests == []


# ------------------------------------------------------------------ live on the emulator


def test_add_then_query_round_trips_ids_ref_doc_ids_and_metadata(store: QuantVectorStore) -> None:
    assert store.add(NODES) == [n.node_id for n in NODES]
    result = store.query(VectorStoreQuery(query_str="Who designed Canberra?", similarity_top_k=4))
    assert ids_of(result)[0] == "n-canberra"
    assert sorted(ids_of(result)) == sorted(n.node_id for n in NODES)
    by_id = {n.node_id: n for n in result.nodes}
    for original in NODES:
        back = by_id[original.node_id]
        assert back.get_content() == original.get_content()
        assert back.metadata == original.metadata  # types kept: ints, lists; no extra keys
        assert back.ref_doc_id == original.ref_doc_id
    assert result.similarities is not None
    assert result.similarities == sorted(result.similarities, reverse=True)


async def test_async_add_and_query(store: QuantVectorStore) -> None:
    assert await store.async_add(NODES) == [n.node_id for n in NODES]
    result = await store.aquery(
        VectorStoreQuery(query_str="lighthouse first lit", similarity_top_k=1)
    )
    assert ids_of(result) == ["n-otway"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (eq("kind", "animal"), {"n-platypus", "n-echidna"}),
        (eq("rank", 3), {"n-canberra"}),
        (eq("tags", "coast", FilterOperator.CONTAINS), {"n-otway"}),
        (eq("tags", ["egg", "capital"], FilterOperator.ANY), {"n-platypus", "n-canberra"}),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="kind", value="animal"),
                    MetadataFilter(key="tags", value="egg", operator=FilterOperator.CONTAINS),
                ]
            ),
            {"n-platypus"},
        ),
    ],
    ids=["EQ", "EQ int", "CONTAINS", "ANY", "AND"],
)
async def test_filters_select_on_the_service(
    store: QuantVectorStore, filters: MetadataFilters, expected: set[str]
) -> None:
    store.add(NODES)
    query = VectorStoreQuery(
        query_str="Tell me about Australia", similarity_top_k=10, filters=filters
    )
    assert set(ids_of(store.query(query))) == expected
    assert set(ids_of(await store.aquery(query))) == expected


def test_delete_by_ref_doc_id_removes_all_its_nodes(store: QuantVectorStore) -> None:
    store.add(NODES)
    store.delete("doc-animals")
    left = ids_of(store.query(VectorStoreQuery(query_str="egg laying mammal", similarity_top_k=10)))
    assert sorted(left) == ["n-canberra", "n-otway"]


async def test_adelete_by_ref_doc_id(store: QuantVectorStore) -> None:
    await store.async_add(NODES)
    await store.adelete("doc-cities")
    left = await store.aquery(VectorStoreQuery(query_str="Canberra designed", similarity_top_k=10))
    assert "n-canberra" not in ids_of(left)
    assert len(left.nodes) == 3


def test_get_nodes_and_delete_nodes_by_id_and_filter(store: QuantVectorStore) -> None:
    store.add(NODES)
    got = store.get_nodes(node_ids=["n-otway", "n-echidna"])
    assert sorted(n.node_id for n in got) == ["n-echidna", "n-otway"]
    assert {n.node_id: n.metadata["rank"] for n in got} == {"n-echidna": 2, "n-otway": 4}
    assert {n.node_id for n in store.get_nodes(filters=eq("kind", "animal"))} == {
        "n-platypus",
        "n-echidna",
    }
    # ids and filters together: only the ids that match
    assert [
        n.node_id for n in store.get_nodes(["n-otway", "n-platypus"], eq("kind", "animal"))
    ] == ["n-platypus"]
    store.delete_nodes(["n-otway"])
    store.delete_nodes(filters=eq("tags", "capital", FilterOperator.CONTAINS))
    left = store.get_nodes(filters=MetadataFilters(filters=[]))
    assert sorted(n.node_id for n in left) == ["n-echidna", "n-platypus"]
    store.delete_nodes(["missing-id"])  # deleting what is not there is not an error


async def test_async_get_delete_nodes_and_clear(store: QuantVectorStore) -> None:
    await store.async_add(NODES)
    got = await store.aget_nodes(node_ids=["n-canberra"])
    assert [n.get_content() for n in got] == [NODES[2].get_content()]
    await store.adelete_nodes(filters=eq("kind", "animal"))
    assert sorted(
        n.node_id for n in await store.aget_nodes(filters=MetadataFilters(filters=[]))
    ) == [
        "n-canberra",
        "n-otway",
    ]
    await store.aclear()
    assert await store.aget_nodes(filters=MetadataFilters(filters=[])) == []


def test_clear_empties_the_collection(store: QuantVectorStore) -> None:
    store.add(NODES)
    store.clear()
    assert (
        store.query(VectorStoreQuery(query_str="anything at all", similarity_top_k=5)).nodes == []
    )


def test_re_adding_an_id_replaces_it(store: QuantVectorStore) -> None:
    store.add(NODES[:1])
    store.add(
        [node("n-platypus", "The platypus hunts with electroreception.", "doc-animals", rank=9)]
    )
    (only,) = store.get_nodes(node_ids=["n-platypus"])
    assert only.get_content() == "The platypus hunts with electroreception."
    assert only.metadata == {"rank": 9}


async def test_async_twins_never_call_the_sync_methods(
    store: QuantVectorStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Native async: no sync call (and so no thread pool) behind any async twin."""
    await store.acollection_id()

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a sync call from an async method")

    sync_calls = (
        "upload_documents",
        "query",
        "search",
        "embed_query",
        "delete_documents",
        "delete_matching",
        "list_documents",
        "list_matching",
        "get_documents",
        "create_collection",
        "resolve_collection_id",
    )
    for name in sync_calls:
        monkeypatch.setattr(store.client.vector_db, name, forbidden)
    for name in ("add", "query", "delete", "delete_nodes", "get_nodes", "clear"):
        monkeypatch.setattr(QuantVectorStore, name, forbidden)
    await store.async_add(NODES)
    assert (await store.aquery(VectorStoreQuery(query_str="lighthouse", similarity_top_k=1))).nodes
    await store.aget_nodes(node_ids=["n-otway"])
    await store.aget_nodes(filters=eq("kind", "animal"))
    await store.aget_nodes()
    await store.adelete_nodes(["n-echidna"], filters=eq("kind", "animal"))
    await store.adelete_nodes(filters=eq("kind", "city"))
    await store.adelete_nodes(["n-otway"])
    await store.aquery(VectorStoreQuery(query_str="Hi", similarity_top_k=1))
    await store.adelete("doc-animals")
    await store.aclear()


def test_add_and_query_refuse_unknown_keyword_arguments(store: QuantVectorStore) -> None:
    with pytest.raises(QuantValidationError, match="does not take batch"):
        store.add(NODES, batch=3)
    with pytest.raises(QuantValidationError, match="does not take namespace"):
        store.query(VectorStoreQuery(query_str="eggs"), namespace="x")


def test_the_query_request_sends_text_top_k_threshold_zero_and_the_filter(
    make_client: MakeClient,
) -> None:
    cid = "3f1c1c8e-9b7e-4a55-9d0c-3f1d2b1a0c11"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "results": [
                    {
                        "documentId": "9a6f1f1e-1b2b-4c3c-8d4d-5e6f7a8b9c0d",
                        "content": "Other text",
                        "similarity": 0.5,
                        "metadata": {"title": "From another client"},
                    }
                ],
                "searchMode": "text",
                "count": 1,
            },
        )

    client, transport = make_client(handler)
    store = QuantVectorStore(cid, client=client)
    result = store.query(
        VectorStoreQuery(query_str="egg laying", similarity_top_k=3, filters=eq("kind", "animal"))
    )
    (op, body) = transport.requests[-1]
    assert op == "queryVectorCollection"
    assert body == {
        "query": "egg laying",
        "limit": 3,
        "threshold": 0,
        "filter": {"exact": {"kind": "animal"}},
    }
    # a document stored by another client (no LlamaIndex node in its metadata) still reads
    assert [n.get_content() for n in result.nodes] == ["Other text"]
    assert result.nodes[0].metadata == {"title": "From another client"}
    assert result.similarities == [0.5]


# ------------------------------------------------------------------ VectorStoreIndex over the store


def docs() -> list[Document]:
    from importlib import resources

    files = sorted(resources.files("quant_demo").joinpath("data").iterdir(), key=str)
    return [
        Document(id_=f.name, text=f.read_text("utf-8"), metadata={"file": f.name})
        for f in files
        if f.name.endswith(".md")
    ]


def test_vector_store_index_query_and_chat_engine(
    client: QuantClient, store: QuantVectorStore
) -> None:
    index = VectorStoreIndex.from_documents(
        docs(),
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=QuantEmbedding(client=client),
    )
    llm = QuantLLM(client=client)
    response = index.as_query_engine(llm=llm, similarity_top_k=2).query(
        "When was the Cape Otway Lightstation first lit?"
    )
    assert "1848" in str(response)
    assert response.source_nodes[0].node.metadata["file"] == "lighthouses.md"
    assert response.source_nodes[0].node.ref_doc_id == "lighthouses.md"
    chat = index.as_chat_engine(chat_mode="context", llm=llm, similarity_top_k=1)
    reply = chat.chat("Who designed Canberra?")
    assert str(reply)
    assert [n.node.metadata["file"] for n in reply.source_nodes] == ["canberra.md"]
    assert "Walter Burley Griffin" in reply.source_nodes[0].node.get_content()

    again = VectorStoreIndex.from_vector_store(store, embed_model=QuantEmbedding(client=client))
    nodes = again.as_retriever(similarity_top_k=4, filters=eq("file", "reef.md")).retrieve(
        "World Heritage"
    )
    assert nodes
    assert {n.node.metadata["file"] for n in nodes} == {"reef.md"}
    index.delete_ref_doc("reef.md")
    assert (
        again.as_retriever(similarity_top_k=4, filters=eq("file", "reef.md")).retrieve(
            "World Heritage"
        )
        == []
    )


def test_nothing_in_the_stored_metadata_is_a_local_path_or_vector(store: QuantVectorStore) -> None:
    with_vector = node("n-v", "Vectors stay local.", "doc-v", kind="x")
    with_vector.embedding = [0.1] * 8
    store.add([with_vector])
    (back,) = store.get_nodes(node_ids=["n-v"])
    assert back.embedding is None
    assert json.dumps(back.metadata) == json.dumps({"kind": "x"})


# ------------------------------------------------------------------ construction


def test_construction_is_cheap_strict_and_keeps_the_key_out_of_dumps() -> None:
    import pickle

    with pytest.raises(ValueError, match="bogus") as info:  # pydantic's or the core's
        QuantVectorStore("handbook", api_key="qc-secret-key", bogus=1)
    assert "qc-secret-key" not in str(info.value)
    store = QuantVectorStore("handbook", api_key="qc-secret-key", organization="o", threshold=0.2)
    dumped = store.to_json()
    assert "qc-secret-key" not in dumped
    assert "qc-secret-key" not in repr(store)
    again = QuantVectorStore.from_dict(store.to_dict())
    assert (again.collection, again.threshold, again.api_key) == ("handbook", 0.2, None)
    copy = pickle.loads(pickle.dumps(store))  # worker processes need a usable key
    assert copy.api_key is not None
    assert copy.api_key.get_secret_value() == "qc-secret-key"
    assert QuantVectorStore.class_name() == "QuantVectorStore"


async def test_vector_store_index_async_ingest_and_filtered_aquery(
    client: QuantClient, store: QuantVectorStore
) -> None:
    embed = QuantEmbedding(client=client)
    index = VectorStoreIndex(
        nodes=[],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
    )
    for document in docs():
        await index.ainsert(document)
    engine = index.as_query_engine(
        llm=QuantLLM(client=client), similarity_top_k=2, filters=eq("file", "lighthouses.md")
    )
    response = await engine.aquery("When was the Cape Otway Lightstation first lit?")
    assert "1848" in str(response)
    assert {n.node.ref_doc_id for n in response.source_nodes} == {"lighthouses.md"}
    await index.adelete_ref_doc("lighthouses.md")
    after = await engine.aquery("When was the Cape Otway Lightstation first lit?")
    assert after.source_nodes == []


async def test_questions_of_any_length_are_answered(store: QuantVectorStore) -> None:
    """Outside the service's 3 to 1,000 characters the core embeds the question itself."""
    store.add(NODES)
    for text in ("Hi", "lighthouse first lit " * 60):
        query = VectorStoreQuery(query_str=text, similarity_top_k=2)
        assert len(store.query(query).nodes) == 2
        assert len((await store.aquery(query)).nodes) == 2
    by_vector = VectorStoreQuery(query_embedding=[0.5] * 1024, similarity_top_k=1)
    assert len(store.query(by_vector).nodes) == 1


async def test_get_nodes_without_arguments_reads_every_page(store: QuantVectorStore) -> None:
    many = [
        node(f"n-{i:03d}", f"Note number {i} about the coast.", "doc-notes", i=i)
        for i in range(130)
    ]
    store.add(many)  # two upload requests of the core's 100
    assert sorted(n.node_id for n in store.get_nodes()) == [n.node_id for n in many]
    assert len(await store.aget_nodes()) == 130
    matching = store.get_nodes(filters=eq("ref_doc_id", "doc-notes"))  # 7 pages of 20
    assert len(matching) == 130
    store.delete_nodes(filters=eq("ref_doc_id", "doc-notes"))
    assert store.get_nodes() == []


def test_the_store_and_the_index_take_the_houses_connection_arguments() -> None:
    from llama_index_quant import QuantIndex

    with httpx.Client() as http:
        settings: dict[str, Any] = {
            "api_key": "k",
            "organization": "acme",
            "base_url": "http://quant.internal",
            "timeout": 30,
            "connect_timeout": 2,
            "max_retries": 5,
            "default_headers": {"X-Team": "search"},
            "allow_insecure_http": True,
            "http_client": http,
            "async_http_client": None,
        }
        for made in (
            QuantVectorStore("handbook", **settings),
            QuantIndex("handbook", **settings).vector_store,
        ):
            core = made.client
            assert core.config.organization == "acme"
            assert core.config.base_url == "http://quant.internal"
            assert core.transport.timeout == httpx.Timeout(30.0, connect=2.0)
            assert core.max_retries == 5
    with pytest.raises(QuantValidationError, match="default_headers"):
        QuantVectorStore("handbook", default_header={"X": "y"})
    with pytest.raises(QuantValidationError, match="similarity"):
        QuantIndex("handbook", similarity_top_k=3)  # a retriever option, not the store's


async def test_an_existing_collection_of_another_size_or_model_is_refused(
    client: QuantClient,
) -> None:
    name = f"li-{uuid.uuid4().hex[:8]}"
    QuantVectorStore(name, client=client, dimensions=256).add([node("n1", "made with 256")])
    assert QuantVectorStore(name, client=client).collection_id  # unasked: taken as it is
    with pytest.raises(QuantValidationError, match="exists with 256 dimensions") as info:
        _ = QuantVectorStore(name, client=client, dimensions=512).collection_id
    assert info.value.field == "dimensions"
    other_model = QuantVectorStore(name, client=client, embedding_model="cohere.embed-english-v3")
    with pytest.raises(QuantValidationError) as info:
        await other_model.acollection_id()
    assert info.value.field == "embedding_model"
