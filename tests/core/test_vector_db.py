"""quant_ai.vector_db: filter compiler, limits, id rule, batching and every call (sync and
async) through a contract-checked MockTransport (every request body is validated against the
spec's schemas by ``make_client``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from quant_ai import (
    Condition,
    QuantClient,
    QuantConflictError,
    QuantConnectionError,
    QuantNotFoundError,
    QuantValidationError,
    UnsupportedFilterError,
    VectorDocument,
    VectorFilter,
    compile_filter,
)
from quant_ai.vector_db import (
    ID_FIELD,
    MAX_UPLOAD_BYTES,
    build_query_body,
    decode_metadata,
    encode_document,
    plan_batches,
)
from tests.conftest import MakeClient

CID = "6f1c1f9e-1e43-4a4b-9d5c-2d6f7f3b9a01"
CID2 = "0b9a4c1d-0000-4000-8000-000000000002"
DOC_ID = "11111111-2222-4333-8444-555555555555"
LIST = {
    "collections": [
        {"collectionId": CID, "name": "docs", "embeddingModel": "amazon.titan-embed-text-v2:0"},
        {"collectionId": CID2, "name": "other"},
    ],
    "count": 2,
}
DETAIL = {
    "collection": {
        "collectionId": CID,
        "name": "docs",
        "embeddingModel": "amazon.titan-embed-text-v2:0",
        "dimensions": 256,
    }
}


def _result(content: str, metadata: dict[str, Any], similarity: float = 0.9) -> dict[str, Any]:
    return {
        "documentId": DOC_ID,
        "content": content,
        "similarity": similarity,
        "metadata": metadata,
    }


QUERY_OK = {
    "results": [_result("cats", {"n": 1, ID_FIELD: "a"})],
    "searchMode": "text",
    "hasMore": False,
    "count": 1,
}


class Server:
    """Answers by operation (``METHOD path-suffix``); records (method, path, body)."""

    def __init__(self, **routes: Any) -> None:
        self.routes: dict[str, Any] = {
            "GET collections": LIST,
            "GET collection": DETAIL,
            "POST query": QUERY_OK,
            "POST documents": {"success": True, "documentIds": [DOC_ID], "chunksCreated": 1},
            "DELETE documents": {"collectionId": CID, "deletedCount": 1, "message": "ok"},
            "GET documents": {"documents": []},
            "DELETE collection": {"success": True, "message": "gone"},
            **{k.replace("_", " "): v for k, v in routes.items()},
        }
        self.seen: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.split("/ai/vector-db/", 1)[1]
        parts = path.split("/")
        kind = {1: "collections", 2: "collection"}.get(len(parts), parts[-1])
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, path, body))
        answer = self.routes[f"{request.method} {kind}"]
        if callable(answer):
            answer = answer(request, body)
        if isinstance(answer, httpx.Response):
            return answer
        status = 201 if request.method == "POST" and kind == "collections" else 200
        return httpx.Response(status, json=answer)

    def ops(self) -> list[str]:
        return [f"{m} {p.split('/')[-1] if '/' in p else p}" for m, p, _ in self.seen]


def _run(mode: str, client: QuantClient, name: str, *args: Any, **kwargs: Any) -> Any:
    vdb = client.vector_db
    if mode == "sync":
        return getattr(vdb, name)(*args, **kwargs)
    return asyncio.run(getattr(vdb, "a" + name)(*args, **kwargs))


MODES = pytest.mark.parametrize("mode", ["sync", "async"])


# ----------------------------------------------------------------------------- filter compiler

SUPPORTED: list[tuple[Any, dict[str, Any]]] = [
    ({"genre": "scifi"}, {"exact": {"genre": "scifi"}}),
    ({"n": 1}, {"exact": {"n": 1}}),
    ({"ok": True}, {"exact": {"ok": True}}),
    ({"x": 1.5}, {"exact": {"x": 1.5}}),
    ({"genre": {"$eq": "scifi"}}, {"exact": {"genre": "scifi"}}),
    ({"genre": {"$in": ["scifi"]}}, {"exact": {"genre": "scifi"}}),
    ({"a": 1, "b": "x"}, {"exact": {"a": 1, "b": "x"}}),
    ({"$and": [{"a": 1}, {"b": {"$eq": "x"}}]}, {"exact": {"a": 1, "b": "x"}}),
    ({"$and": [{"a": 1}, {"$and": [{"c": False}]}]}, {"exact": {"a": 1, "c": False}}),
    ({"$and": [{"a": 1}, {"a": 1}]}, {"exact": {"a": 1}}),
    ({"tags": {"$contains": "x"}}, {"contains": {"tags": ["x"]}}),
    ({"tags": {"$contains": ["x", "y"]}}, {"contains": {"tags": ["x", "y"]}}),
    (
        {"genre": "scifi", "tags": {"$contains": ["a"]}},
        {"exact": {"genre": "scifi"}, "contains": {"tags": ["a"]}},
    ),
    (
        [Condition("a", "eq", 1), Condition("tags", "contains", ["x"])],
        {"exact": {"a": 1}, "contains": {"tags": ["x"]}},
    ),
    ([("a", "==", "v")], {"exact": {"a": "v"}}),
    (VectorFilter(exact={"a": 1}), {"exact": {"a": 1}}),
]

REFUSED: list[tuple[Any, str | None]] = [
    ({"n": {"$ne": 1}}, "$ne"),
    ({"n": {"$gt": 1}}, "$gt"),
    ({"n": {"$gte": 1}}, "$gte"),
    ({"n": {"$lt": 1}}, "$lt"),
    ({"n": {"$lte": 1}}, "$lte"),
    ({"n": {"$in": [1, 2]}}, "$in"),
    ({"n": {"$nin": [1]}}, "$nin"),
    ({"n": {"$like": "a%"}}, "$like"),
    ({"n": {"$exists": True}}, "$exists"),
    ({"$or": [{"a": 1}, {"b": 2}]}, "$or"),
    ({"$not": {"a": 1}}, "$not"),
    ({"$nor": [{"a": 1}]}, "$nor"),
    ({"a": {"$eq": 1, "$ne": 2}}, "$ne"),
    ({"$and": [{"a": 1}, {"a": 2}]}, "$eq"),
    ({"$and": [{"t": {"$contains": "x"}}, {"t": {"$contains": "y"}}]}, "$contains"),
    ({"t": {"$contains": 3}}, "$contains"),
    ({"t": {"$contains": []}}, "$contains"),
    ({"a": None}, "$eq"),
    ({"a": [1, 2]}, "$eq"),
    ({"a": {"nested": 1}}, "$eq"),
    ({"a": float("nan")}, None),
    ({"$and": []}, None),
    ({"_quant_id": "x"}, None),
    ([Condition("a", "!=", 1)], "!="),
    ([Condition("a", "in", [1, 2])], "in"),
    ("genre = scifi", None),
]


@pytest.mark.parametrize(("flt", "wire"), SUPPORTED)
def test_supported_filters_compile(flt: Any, wire: dict[str, Any]) -> None:
    compiled = compile_filter(flt)
    assert compiled is not None
    assert compiled.to_wire() == wire


@pytest.mark.parametrize(("flt", "operator"), REFUSED)
def test_unsupported_filters_are_refused_with_the_operator(flt: Any, operator: str | None) -> None:
    with pytest.raises(UnsupportedFilterError) as info:
        compile_filter(flt)
    assert isinstance(info.value, QuantValidationError)
    assert info.value.operator == operator
    if operator is not None:
        assert operator in str(info.value)


def test_refusal_says_what_is_supported() -> None:
    with pytest.raises(UnsupportedFilterError, match=r"\$contains.*any of the strings"):
        compile_filter({"n": {"$gt": 1}})


def test_empty_filters_are_none() -> None:
    assert compile_filter(None) is None
    assert compile_filter({}) is None
    assert compile_filter([]) is None


@MODES
def test_refused_filter_sends_nothing(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    with pytest.raises(UnsupportedFilterError):
        _run(mode, client, "query", CID, "cats", filter={"$or": [{"a": 1}]})
    assert server.seen == []


# ----------------------------------------------------------------------------- limits

BAD_QUERIES: list[tuple[dict[str, Any], str]] = [
    ({"query": "ab"}, "query"),
    ({"query": "x" * 1001}, "query"),
    ({"query": "cats", "vector": [0.1]}, "query"),
    ({}, "query"),
    ({"query": "cats", "limit": 0}, "limit"),
    ({"query": "cats", "limit": 21}, "limit"),
    ({"query": "cats", "limit": True}, "limit"),
    ({"query": "cats", "threshold": -0.1}, "threshold"),
    ({"query": "cats", "threshold": 1.5}, "threshold"),
    ({"list_by_metadata": True}, "listByMetadata"),
    ({"list_by_metadata": True, "filter": {"a": 1}, "query": "cats"}, "listByMetadata"),
    ({"query": "cats", "cursor": "abc"}, "cursor"),
    ({"query": "cats", "sort_by": "created_at"}, "sortBy"),
    ({"list_by_metadata": True, "filter": {"a": 1}, "sort_by": "name"}, "sortBy"),
    ({"list_by_metadata": True, "filter": {"a": 1}, "sort_order": "up"}, "sortOrder"),
    ({"vector": []}, "vector"),
    ({"vector": [float("inf")]}, "vector"),
]


@pytest.mark.parametrize(("kwargs", "field"), BAD_QUERIES)
def test_query_limits_are_refused_before_sending(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    server = Server()
    client, _ = make_client(server)
    with pytest.raises(QuantValidationError) as info:
        client.vector_db.query(CID, **kwargs)
    assert info.value.field == field
    assert server.seen == []


def test_k_above_twenty_is_an_error_not_a_clamp() -> None:
    with pytest.raises(QuantValidationError, match="between 1 and 20, got 21"):
        build_query_body("cats", limit=21)


def test_query_body_defaults_to_a_plain_top_k() -> None:
    assert build_query_body("cats") == {"query": "cats", "limit": 5, "threshold": 0.0}
    body = build_query_body(
        filter={"a": 1},
        list_by_metadata=True,
        limit=20,
        cursor="c1",
        sort_by="document_id",
        sort_order="asc",
        include_embeddings=True,
    )
    assert body == {
        "listByMetadata": True,
        "limit": 20,
        "filter": {"exact": {"a": 1}},
        "includeEmbeddings": True,
        "cursor": "c1",
        "sortBy": "document_id",
        "sortOrder": "asc",
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "documents"),
        ({"keys": ["a"], "purge_all": True}, "purge_all"),
        ({"document_ids": ["not-a-uuid"]}, "documentIds[0]"),
        ({"keys": ["k" * 513]}, "keys[0]"),
        ({"keys": "abc"}, "keys"),
        ({"metadata_field": "f"}, "metadata.values"),
        ({"metadata_values": ["x"]}, "metadata.field"),
        ({"metadata_field": "f", "metadata_values": [1]}, "metadata.values[0]"),
    ],
)
def test_delete_modes_are_checked(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    server = Server()
    client, _ = make_client(server)
    with pytest.raises(QuantValidationError) as info:
        client.vector_db.delete_documents(CID, **kwargs)
    assert info.value.field == field
    assert server.seen == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": CID}, "name"),
        ({"name": "x", "dimensions": 300}, "dimensions"),
        ({"name": "x", "dimensions": 0}, "dimensions"),
    ],
)
def test_create_collection_checks(
    make_client: MakeClient, kwargs: dict[str, Any], field: str
) -> None:
    server = Server()
    client, _ = make_client(server)
    with pytest.raises(QuantValidationError) as info:
        client.vector_db.create_collection(**kwargs)
    assert info.value.field == field
    assert server.seen == []


def test_list_documents_limits(make_client: MakeClient) -> None:
    client, _ = make_client(Server())
    with pytest.raises(QuantValidationError, match="limit"):
        client.vector_db.list_documents(CID, limit=101)
    with pytest.raises(QuantValidationError, match="offset"):
        client.vector_db.list_documents(CID, offset=-1)


# ----------------------------------------------------------------------------- id rule


def test_id_goes_as_key_and_in_metadata_and_comes_back() -> None:
    wire = encode_document(VectorDocument(content="c", id="doc-1", metadata={"n": 1}))
    assert wire == {"content": "c", "key": "doc-1", "metadata": {"n": 1, ID_FIELD: "doc-1"}}
    assert decode_metadata(wire["metadata"]) == ("doc-1", {"n": 1})
    assert encode_document(VectorDocument(content="c")) == {"content": "c"}


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"_quant_id": "x"}, "documents[0].metadata._quant_id"),
        ({"_quant_other": 1}, "documents[0].metadata._quant_other"),
        ({"title": 5}, "documents[0].metadata.title"),
        ({"tags": "a"}, "documents[0].metadata.tags"),
        ({"x": object()}, "documents[0].metadata"),
        ({"x": float("nan")}, "documents[0].metadata"),
    ],
)
def test_bad_metadata_is_refused(metadata: dict[str, Any], field: str) -> None:
    with pytest.raises(QuantValidationError) as info:
        encode_document(VectorDocument(content="c", metadata=metadata))
    assert info.value.field == field


def test_bad_ids_and_content_are_refused() -> None:
    with pytest.raises(QuantValidationError, match="512"):
        encode_document(VectorDocument(content="c", id="x" * 513))
    with pytest.raises(QuantValidationError, match="content"):
        encode_document(VectorDocument(content="  "))


@MODES
def test_results_strip_reserved_names_and_keep_types(make_client: MakeClient, mode: str) -> None:
    meta = {"n": 1, "f": 1.0, "b": False, "s": "1", "l": [1, "a"], "d": {"k": None}}
    answer = {"results": [_result("cats", {**meta, ID_FIELD: "a", "_quant_x": 1})]}
    client, _ = make_client(Server(POST_query=answer))
    hit = _run(mode, client, "query", CID, "cats").results[0]
    assert hit.id == "a"
    assert hit.metadata == meta
    assert [type(hit.metadata[k]) for k in ("n", "f", "b")] == [int, float, bool]
    assert hit.document_id == DOC_ID


@MODES
def test_results_accept_score_as_well_as_similarity(make_client: MakeClient, mode: str) -> None:
    answer = {"results": [{"documentId": DOC_ID, "content": "x", "score": 0.42}]}
    client, _ = make_client(Server(POST_query=answer))
    hit = _run(mode, client, "query", CID, "cats").results[0]
    assert hit.similarity == pytest.approx(0.42)
    assert hit.id is None
    assert hit.metadata == {}


# ----------------------------------------------------------------------------- calls


@MODES
def test_names_resolve_once_by_listing(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    _run(mode, client, "query", "docs", "cats")
    _run(mode, client, "query", "docs", "dogs")
    assert server.ops() == ["GET collections", "POST query", "POST query"]
    assert server.seen[1][1] == f"collections/{CID}/query"


@MODES
def test_ids_are_used_as_is(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    _run(mode, client, "query", CID2, "cats")
    assert server.ops() == ["POST query"]


@MODES
def test_unknown_name_is_not_found(make_client: MakeClient, mode: str) -> None:
    client, _ = make_client(Server())
    with pytest.raises(QuantNotFoundError, match="'nope'"):
        _run(mode, client, "query", "nope", "cats")


@MODES
def test_create_returns_existing_with_exist_ok(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    with pytest.raises(QuantConflictError, match="exist_ok=True"):
        _run(mode, client, "create_collection", "docs")
    made = _run(mode, client, "create_collection", "docs", exist_ok=True)
    assert (made.collection_id, made.dimensions) == (CID, 256)
    assert "POST collections" not in server.ops()


@MODES
def test_create_sends_the_spec_body(make_client: MakeClient, mode: str) -> None:
    made = {
        "success": True,
        "collection": {"collectionId": CID2, "name": "new", "embeddingModel": "m"},
    }
    server = Server(POST_collections=made)
    client, _ = make_client(server)
    out = _run(mode, client, "create_collection", "new", dimensions=512, description="d")
    assert server.seen[-1] == (
        "POST",
        "collections",
        {
            "name": "new",
            "embeddingModel": "amazon.titan-embed-text-v2:0",
            "dimensions": 512,
            "description": "d",
        },
    )
    assert (out.collection_id, out.dimensions) == (CID2, 512)
    assert client.vector_db.resolve_collection_id("new") == CID2


@MODES
def test_a_409_on_create_means_exists(make_client: MakeClient, mode: str) -> None:
    """A race: the name appears between the listing and the create."""
    lists = iter([{"collections": [], "count": 0}, LIST, LIST])
    server = Server(
        GET_collections=lambda r, b: next(lists),
        POST_collections=lambda r, b: httpx.Response(409, json={"message": "exists"}),
    )
    client, _ = make_client(server, max_retries=2)
    made = _run(mode, client, "create_collection", "docs", exist_ok=True)
    assert made.collection_id == CID
    assert server.ops().count("POST collections") == 1  # a 409 is an answer, not retried
    assert client.sleeps == []  # type: ignore[attr-defined]


@MODES
def test_a_create_that_may_have_landed_is_not_resent(make_client: MakeClient, mode: str) -> None:
    lists = iter([{"collections": [], "count": 0}] * 3)

    def dropped(request: httpx.Request, body: Any) -> httpx.Response:
        raise httpx.ReadError("connection dropped after sending", request=request)

    server = Server(GET_collections=lambda r, b: next(lists), POST_collections=dropped)
    client, _ = make_client(server, max_retries=2)
    with pytest.raises(QuantConnectionError):
        _run(mode, client, "create_collection", "fresh")
    assert server.ops().count("POST collections") == 1


@MODES
def test_upload_sends_keys_and_ids(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    docs = [
        VectorDocument(content="a", id="1", metadata={"n": 1}),
        {"content": "b", "key": "2"},
        "plain text",
    ]
    result = _run(mode, client, "upload_documents", CID, docs)
    assert server.seen[-1][2] == {
        "documents": [
            {"content": "a", "key": "1", "metadata": {"n": 1, ID_FIELD: "1"}},
            {"content": "b", "key": "2", "metadata": {ID_FIELD: "2"}},
            {"content": "plain text"},
        ]
    }
    assert result.ids == ["1", "2", None]
    assert (result.document_ids, result.chunks_created, result.batches) == ([DOC_ID], 1, 1)


@MODES
def test_upload_batches_by_count(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    docs = [VectorDocument(content=f"doc {i}", id=str(i)) for i in range(5)]
    result = _run(mode, client, "upload_documents", CID, docs, batch_size=2)
    sizes = [len(body["documents"]) for _, _, body in server.seen]
    assert sizes == [2, 2, 1]
    assert result.batches == 3


def test_upload_batches_stay_under_the_body_limit() -> None:
    big = "x" * (10 * 1024 * 1024)
    wire = [encode_document(VectorDocument(content=big, id=str(i)), i) for i in range(3)]
    bodies = plan_batches(wire, 100)
    assert len(bodies) == 2
    assert all(len(b) <= MAX_UPLOAD_BYTES for b in bodies)
    assert [len(json.loads(b)["documents"]) for b in bodies] == [2, 1]


def test_one_document_over_the_limit_is_refused(make_client: MakeClient) -> None:
    server = Server()
    client, _ = make_client(server)
    with pytest.raises(QuantValidationError) as info:
        client.vector_db.upload_documents(CID, ["y" * (MAX_UPLOAD_BYTES + 1)])
    assert info.value.field == "documents[0].content"
    assert server.seen == []


@MODES
def test_delete_bodies(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    _run(mode, client, "delete_documents", CID, keys=["a", "b"])
    _run(mode, client, "delete_documents", CID, document_ids=[DOC_ID])
    _run(mode, client, "delete_documents", CID, metadata_field="f", metadata_values=["x"])
    out = _run(mode, client, "delete_documents", CID, purge_all=True)
    assert [b for _, _, b in server.seen] == [
        {"keys": ["a", "b"]},
        {"documentIds": [DOC_ID]},
        {"metadata": {"field": "f", "values": ["x"]}},
        {"purgeAll": True},
    ]
    assert out.deleted_count == 1
    assert _run(mode, client, "delete_documents", CID, keys=[]).deleted_count == 0
    assert len(server.seen) == 4


@MODES
def test_delete_matching_lists_every_page_then_deletes_by_id(
    make_client: MakeClient, mode: str
) -> None:
    ids = [f"11111111-2222-4333-8444-{i:012d}" for i in range(3)]
    pages = iter(
        [
            {
                "results": [{"documentId": ids[0]}, {"documentId": ids[1]}],
                "hasMore": True,
                "nextCursor": "p2",
            },
            {"results": [{"documentId": ids[2]}], "hasMore": False},
        ]
    )
    server = Server(POST_query=lambda r, b: next(pages))
    client, _ = make_client(server)
    _run(mode, client, "delete_matching", CID, {"kind": "x"})
    bodies = [b for _, _, b in server.seen]
    assert bodies[0] == {"listByMetadata": True, "limit": 20, "filter": {"exact": {"kind": "x"}}}
    assert bodies[1]["cursor"] == "p2"
    assert bodies[2] == {"documentIds": sorted(ids)}


@MODES
def test_get_documents_by_caller_id(make_client: MakeClient, mode: str) -> None:
    stored = {
        "documents": [
            {"documentId": DOC_ID, "key": "a", "content": "A", "metadata": {ID_FIELD: "a", "n": 2}}
        ]
    }

    def listing(request: httpx.Request, body: Any) -> Any:
        return stored if request.url.params.get("key") == "a" else {"documents": []}

    server = Server(GET_documents=listing)
    client, _ = make_client(server)
    docs = _run(mode, client, "get_documents", CID, ["a", "missing"])
    assert [(d.id, d.content, d.metadata) for d in docs] == [("a", "A", {"n": 2})]


@MODES
def test_search_embeds_short_and_long_texts_with_the_collection_model(
    make_client: MakeClient, mode: str
) -> None:
    embed = {
        "embeddings": [0.5] * 256,
        "model": "amazon.titan-embed-text-v2:0",
        "dimension": 256,
        "usage": {"inputTokens": 1, "totalTokens": 1},
    }
    server = Server()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ai/embeddings"):
            server.seen.append(("POST", "embeddings", json.loads(request.content)))
            return httpx.Response(200, json=embed)
        return server(request)

    client, _ = make_client(handler)
    _run(mode, client, "search", "docs", "hi", limit=3)
    embedded = [b for m, p, b in server.seen if p == "embeddings"]
    assert embedded == [
        {"input": "hi", "modelId": "amazon.titan-embed-text-v2:0", "dimensions": 256}
    ]
    query = [b for m, p, b in server.seen if p.endswith("/query")][-1]
    assert query == {"vector": [0.5] * 256, "limit": 3, "threshold": 0.0}
    _run(mode, client, "search", "docs", "cats")
    query = [b for m, p, b in server.seen if p.endswith("/query")][-1]
    assert query["query"] == "cats"


@MODES
def test_delete_collection_forgets_the_name(make_client: MakeClient, mode: str) -> None:
    server = Server()
    client, _ = make_client(server)
    _run(mode, client, "delete_collection", "docs")
    assert server.ops() == ["GET collections", f"DELETE {CID}"]
    _run(mode, client, "get_collection", "docs")
    assert server.ops()[-2:] == ["GET collections", f"GET {CID}"]


def test_vector_db_is_one_group_per_client(make_client: MakeClient) -> None:
    client, _ = make_client(Server())
    assert client.vector_db is client.vector_db


CallRecorder = Callable[[httpx.Request], httpx.Response]


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        ({}, None),
        ({"dimensions": 256, "embedding_model": "amazon.titan-embed-text-v2:0"}, None),
        ({"dimensions": None, "embedding_model": None}, None),
        ({"dimensions": 512}, "dimensions"),
        ({"embedding_model": "cohere.embed-english-v3"}, "embedding_model"),
    ],
)
def test_an_existing_collection_must_match_what_was_asked(
    asked: dict[str, Any], field: str | None
) -> None:
    from quant_ai.vector_db import VectorCollection, check_collection_matches

    existing = VectorCollection.model_validate(
        {
            "collectionId": "0c2d5c3e-8f1a-4c7e-9d2b-1a2b3c4d5e6f",
            "name": "docs",
            "embeddingModel": "amazon.titan-embed-text-v2:0",
            "dimensions": 256,
        }
    )
    if field is None:
        assert check_collection_matches(existing, **asked) is existing
    else:
        with pytest.raises(QuantValidationError) as info:
            check_collection_matches(existing, **asked)
        assert info.value.field == field
