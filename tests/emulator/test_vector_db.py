"""The emulator's vector database: every operation of the spec, its documented errors, and
fault injection on its routes. Responses are validated against the spec by the client hooks."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from quant_ai import QuantClient, QuantConnectionError, QuantNotFoundError, VectorDocument
from quant_ai.emulator import QuantEmulator
from quant_ai.emulator.vector_db import VectorDBState, vector_state
from tests.emulator.helpers import VALIDATED

BASE = "/ai/vector-db/collections"


def _name() -> str:
    return "t-" + uuid.uuid4().hex[:10]


@pytest.fixture
def coll(client: httpx.Client) -> Iterator[str]:
    r = client.post(BASE, json={"name": _name(), "embeddingModel": "amazon.titan-embed-text-v2:0"})
    assert r.status_code == 201, r.text
    cid = r.json()["collection"]["collectionId"]
    yield cid
    client.delete(f"{BASE}/{cid}")


def upload(client: httpx.Client, cid: str, docs: list[dict[str, Any]]) -> list[str]:
    r = client.post(f"{BASE}/{cid}/documents", json={"documents": docs})
    assert r.status_code == 200, r.text
    ids: list[str] = r.json()["documentIds"]
    return ids


def query(client: httpx.Client, cid: str, status: int = 200, **body: Any) -> Any:
    r = client.post(f"{BASE}/{cid}/query", json=body)
    assert r.status_code == status, r.text
    return r.json()


def delete_docs(client: httpx.Client, cid: str, body: Any, status: int = 200) -> Any:
    r = client.request("DELETE", f"{BASE}/{cid}/documents", json=body)
    assert r.status_code == status, r.text
    return r.json()


# ----------------------------------------------------------------------------- collections


def test_collection_lifecycle(client: httpx.Client) -> None:
    name = _name()
    r = client.post(
        BASE,
        json={"name": name, "embeddingModel": "amazon.titan-embed-text-v2:0", "dimensions": 256},
    )
    assert r.status_code == 201
    made = r.json()["collection"]
    assert made["dimensions"] == 256
    cid = made["collectionId"]
    assert uuid.UUID(cid)
    listed = client.get(BASE).json()
    assert any(c["collectionId"] == cid and c["documentCount"] == 0 for c in listed["collections"])
    assert listed["count"] == len(listed["collections"])
    detail = client.get(f"{BASE}/{cid}").json()["collection"]
    assert (detail["name"], detail["dimensions"]) == (name, 256)
    assert client.post(BASE, json={"name": name, "embeddingModel": "x"}).status_code == 400
    dup = client.post(BASE, json={"name": name, "embeddingModel": "amazon.titan-embed-text-v2:0"})
    assert dup.status_code == 409
    assert client.delete(f"{BASE}/{cid}").json()["success"] is True
    assert client.get(f"{BASE}/{cid}").status_code == 404
    assert client.delete(f"{BASE}/{cid}").status_code == 404
    assert "getVectorCollection" in VALIDATED
    assert "createVectorCollection" in VALIDATED


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"name": "x", "embeddingModel": "amazon.titan-embed-text-v2:0", "dimensions": 300},
            "dimensions",
        ),
        ({"name": "x", "embeddingModel": "amazon.nova-lite-v1:0"}, "embeddingModel"),
        ({"name": " ", "embeddingModel": "amazon.titan-embed-text-v2:0"}, "name"),
        ({"embeddingModel": "amazon.titan-embed-text-v2:0"}, "name"),
        ({"name": "x", "embeddingModel": "amazon.titan-embed-text-v2:0", "extra": 1}, "extra"),
    ],
)
def test_create_collection_400s(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    r = client.post(BASE, json=body)
    assert r.status_code == 400
    assert field in r.json()["errors"]


def test_unknown_collection_ids_are_404(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    assert client.get(f"{BASE}/{missing}").status_code == 404
    assert client.post(f"{BASE}/{missing}/query", json={"query": "cats"}).status_code == 404
    r = client.post(f"{BASE}/{missing}/documents", json={"documents": [{"content": "x"}]})
    assert r.status_code == 404
    assert client.get(f"{BASE}/{missing}/documents").status_code == 404


def test_collections_are_per_organisation(emulator: QuantEmulator, coll: str) -> None:
    auth = {"Authorization": "Bearer t"}
    other = emulator.base_url + "/api/v3/organisations/other-org"
    with httpx.Client(base_url=other, headers=auth) as c:
        assert c.get(f"{BASE}/{coll}").status_code == 404
        assert all(x["collectionId"] != coll for x in c.get(BASE).json()["collections"])


# ----------------------------------------------------------------------------- documents


def test_upload_then_search_at_once_ranked(client: httpx.Client, coll: str) -> None:
    ids = upload(
        client,
        coll,
        [
            {"content": "the quick brown fox", "key": "fox", "metadata": {"n": 1}},
            {"content": "a lazy dog sleeps", "key": "dog"},
            {"content": "quick brown foxes jump", "key": "foxes"},
        ],
    )
    assert len(ids) == 3
    out = query(client, coll, query="quick brown fox", threshold=0)
    assert [r["content"] for r in out["results"]][:2] == [
        "the quick brown fox",
        "quick brown foxes jump",
    ]
    sims = [r["similarity"] for r in out["results"]]
    assert sims == sorted(sims, reverse=True)
    assert all(0 <= s <= 1 for s in sims)
    assert out["searchMode"] == "text"
    assert out["count"] == 3
    assert out["results"][0]["metadata"] == {"n": 1}


def test_default_threshold_is_the_specs(client: httpx.Client, coll: str) -> None:
    upload(client, coll, [{"content": "alpha beta"}, {"content": "gamma delta"}])
    assert [r["content"] for r in query(client, coll, query="alpha beta")["results"]] == [
        "alpha beta"
    ]
    assert len(query(client, coll, query="alpha beta", threshold=0)["results"]) == 2


def test_ties_keep_insertion_order(client: httpx.Client, coll: str) -> None:
    upload(client, coll, [{"content": f"zz{i} unrelated"} for i in range(4)])
    out = query(client, coll, query="nothing shared", threshold=0, limit=4)
    assert [r["content"] for r in out["results"]] == [f"zz{i} unrelated" for i in range(4)]


def test_upsert_by_key_replaces(client: httpx.Client, coll: str) -> None:
    upload(client, coll, [{"content": "old text", "key": "k", "metadata": {"v": 1}}])
    upload(client, coll, [{"content": "new text", "key": "k", "metadata": {"v": 2}}])
    listed = client.get(f"{BASE}/{coll}/documents").json()
    assert [(d["key"], d["content"], d["metadata"]) for d in listed["documents"]] == [
        ("k", "new text", {"v": 2})
    ]
    assert client.get(f"{BASE}/{coll}").json()["collection"]["documentCount"] == 1


def test_list_documents_pages_and_key(client: httpx.Client, coll: str) -> None:
    upload(client, coll, [{"content": f"doc {i}", "key": f"k{i}"} for i in range(5)])
    page = client.get(f"{BASE}/{coll}/documents", params={"limit": 2, "offset": 2}).json()
    assert [d["key"] for d in page["documents"]] == ["k2", "k3"]
    assert page["hasMore"] is True
    assert page["total"] == 5
    one = client.get(f"{BASE}/{coll}/documents", params={"key": "k4"}).json()
    assert [d["content"] for d in one["documents"]] == ["doc 4"]
    assert client.get(f"{BASE}/{coll}/documents", params={"limit": 101}).status_code == 400


def test_delete_modes(client: httpx.Client, coll: str) -> None:
    ids = upload(
        client,
        coll,
        [
            {"content": "one", "key": "a", "metadata": {"group": "g1", "n": 1}},
            {"content": "two", "key": "b", "metadata": {"group": "g2", "n": 2}},
            {"content": "three", "key": "c", "metadata": {"group": "g2", "n": 3}},
            {"content": "four", "key": "d", "metadata": {"n": 4}},
        ],
    )
    assert delete_docs(client, coll, {"keys": ["a", "zz"]})["deletedCount"] == 1
    assert delete_docs(client, coll, {"documentIds": [ids[3]]})["deletedCount"] == 1
    out = delete_docs(client, coll, {"metadata": {"field": "n", "values": ["2"]}})
    assert out["deletedCount"] == 1
    assert out["collectionId"] == coll
    delete_docs(client, coll, {"keys": ["a"], "purgeAll": True}, status=400)
    delete_docs(client, coll, {}, status=400)
    delete_docs(client, coll, {"documentIds": ["nope"]}, status=400)
    assert delete_docs(client, coll, {"purgeAll": True})["deletedCount"] == 1
    assert client.get(f"{BASE}/{coll}/documents").json()["documents"] == []


# ----------------------------------------------------------------------------- query


def test_filters_exact_and_contains(client: httpx.Client, coll: str) -> None:
    upload(
        client,
        coll,
        [
            {"content": "red apple", "metadata": {"kind": "fruit", "n": 1, "tags": ["red"]}},
            {"content": "green apple", "metadata": {"kind": "fruit", "n": 2, "tags": ["green"]}},
            {"content": "red car", "metadata": {"kind": "car", "n": 1, "tags": ["red", "fast"]}},
        ],
    )

    def contents(flt: dict[str, Any]) -> list[str]:
        out = query(client, coll, query="apple car", threshold=0, filter=flt)
        return sorted(r["content"] for r in out["results"])

    assert contents({"exact": {"kind": "fruit"}}) == ["green apple", "red apple"]
    assert contents({"exact": {"kind": "fruit", "n": 1}}) == ["red apple"]
    assert contents({"exact": {"n": "1"}}) == []  # compared by type
    assert contents({"exact": {"n": True}}) == []
    assert contents({"contains": {"tags": ["fast", "green"]}}) == ["green apple", "red car"]
    assert contents({"exact": {"kind": "car"}, "contains": {"tags": ["green"]}}) == []


def test_vector_query_and_embeddings(client: httpx.Client, coll: str) -> None:
    upload(client, coll, [{"content": "hello world"}])
    hit = query(client, coll, query="hello world", includeEmbeddings=True)["results"][0]
    vector = hit["embedding"]
    assert len(vector) == 1024
    again = query(client, coll, vector=vector)
    assert again["searchMode"] == "vector"
    assert again["results"][0]["similarity"] == pytest.approx(1.0)
    assert "embedding" not in again["results"][0]
    r = client.post(f"{BASE}/{coll}/query", json={"vector": [0.1, 0.2]})
    assert r.status_code == 400
    assert "vector" in r.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "query"),
        ({"query": "cats", "vector": [0.1]}, "query"),
        ({"query": "ab"}, "query"),
        ({"query": "cats", "limit": 21}, "limit"),
        ({"query": "cats", "threshold": 2}, "threshold"),
        ({"listByMetadata": True}, "filter"),
        ({"listByMetadata": True, "filter": {"exact": {"a": 1}}, "cursor": "zzz"}, "cursor"),
        ({"query": "cats", "filter": {"other": {}}}, "filter.other"),
    ],
)
def test_query_400s(client: httpx.Client, coll: str, body: dict[str, Any], field: str) -> None:
    r = client.post(f"{BASE}/{coll}/query", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["errors"]


def test_list_by_metadata_pages_with_cursor(client: httpx.Client, coll: str) -> None:
    upload(client, coll, [{"content": f"item {i}", "metadata": {"g": "x"}} for i in range(5)])
    upload(client, coll, [{"content": "other", "metadata": {"g": "y"}}])
    seen: list[str] = []
    body: dict[str, Any] = {"listByMetadata": True, "filter": {"exact": {"g": "x"}}, "limit": 2}
    body["sortOrder"] = "asc"
    while True:
        page = query(client, coll, **body)
        assert page["searchMode"] == "metadata"
        assert all(r["similarity"] == 1.0 for r in page["results"])
        seen += [r["content"] for r in page["results"]]
        if not page["hasMore"]:
            assert "nextCursor" not in page
            break
        body["cursor"] = page["nextCursor"]
    assert seen == [f"item {i}" for i in range(5)]
    desc = query(client, coll, listByMetadata=True, filter={"exact": {"g": "x"}}, limit=1)
    assert desc["results"][0]["content"] == "item 4"


# ----------------------------------------------------------------------------- faults and state


@pytest.mark.parametrize("status", [429, 503])
def test_faults_on_vector_routes(client: httpx.Client, coll: str, status: int) -> None:
    headers = {"X-Emulator-Fault": f"status={status};count=1;retry_after=2;key={coll}{status}"}
    r = client.post(f"{BASE}/{coll}/query", json={"query": "cats"}, headers=headers)
    assert r.status_code == status
    assert r.headers["retry-after"] == "2"
    r = client.post(f"{BASE}/{coll}/query", json={"query": "cats"}, headers=headers)
    assert r.status_code == 200


def test_state_is_importable_for_other_features(emulator: QuantEmulator, coll: str) -> None:
    state = vector_state(emulator.state)
    assert isinstance(state, VectorDBState)
    found = state.find(emulator.organization, coll)
    assert found is not None
    assert found.collection_id == coll


# ----------------------------------------------------------------------------- through the client


@pytest.fixture
def qc(emulator: QuantEmulator) -> Iterator[QuantClient]:
    client = QuantClient(api_key="qc_test", organization="acme", base_url=emulator.base_url)
    client.transport.sleep = lambda s: None
    yield client
    client.close()


def _faulty(emulator: QuantEmulator, fault: str) -> QuantClient:
    client = QuantClient(
        api_key="qc_test",
        organization="acme",
        base_url=emulator.base_url,
        default_headers={"X-Emulator-Fault": fault},
    )
    client.transport.sleep = lambda s: None

    async def asleep(s: float) -> None:
        return None

    client.transport.asleep = asleep
    return client


def test_client_round_trip(qc: QuantClient) -> None:
    name = _name()
    vdb = qc.vector_db
    made = vdb.create_collection(name, dimensions=512)
    meta = {"n": 1, "f": 2.5, "ok": True, "tags": ["a", "b"], "nested": {"x": [1, None]}}
    vdb.upload_documents(name, [VectorDocument(content="cats purr", id="c1", metadata=meta)])
    hit = vdb.query(name, "cats purr", limit=1).results[0]
    assert (hit.id, hit.content, hit.metadata) == ("c1", "cats purr", meta)
    assert vdb.get_documents(name, ["c1"])[0].metadata == meta
    assert vdb.collection_info(name).dimensions == 512
    assert len(vdb.embed_query(name, "hi")) == 512
    assert vdb.search(name, "ca").results[0].id == "c1"
    assert vdb.delete_matching(name, {"tags": {"$contains": "b"}}).deleted_count == 1
    vdb.delete_collection(name)
    with pytest.raises(QuantNotFoundError):
        vdb.get_collection(made.collection_id)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_client_retries_uploads_and_queries(
    emulator: QuantEmulator, qc: QuantClient, status: int, mode: str
) -> None:
    """Each request fails once with ``Retry-After: 1``; the client waits 1 s and retries."""
    import asyncio

    cid = qc.vector_db.create_collection(_name()).collection_id
    flaky = _faulty(emulator, f"status={status};count=1;retry_after=1")
    sleeps: list[float] = []
    flaky.transport.sleep = sleeps.append

    async def asleep(seconds: float) -> None:
        sleeps.append(seconds)

    flaky.transport.asleep = asleep
    vdb = flaky.vector_db
    if mode == "sync":
        vdb.upload_documents(cid, [VectorDocument(content="retry me", id="r1")])
        hits = vdb.query(cid, "retry me").results
    else:

        async def run() -> Any:
            await vdb.aupload_documents(cid, [VectorDocument(content="retry me", id="r1")])
            out = (await vdb.aquery(cid, "retry me")).results
            await flaky.aclose()
            return out

        hits = asyncio.run(run())
    assert [h.id for h in hits] == ["r1"]
    assert sleeps == [1.0, 1.0]
    assert len(qc.vector_db.list_documents(cid)) == 1  # the retried upload did not duplicate
    flaky.close()
    qc.vector_db.delete_collection(cid)


@pytest.mark.parametrize("call", ["upload", "query"])
def test_client_retries_a_dropped_connection(
    emulator: QuantEmulator, qc: QuantClient, call: str
) -> None:
    """``drop_after`` sends half the answer then closes: the client retries (the upload has
    keys, so replaying it is an upsert) and reports a connection error when every try drops."""
    made = qc.vector_db.create_collection(_name())
    cid = made.collection_id
    qc.vector_db.upload_documents(cid, [VectorDocument(content="dropped text", id="d")])
    flaky = _faulty(emulator, "drop_after=1")
    flaky.transport.retry.max_retries = 1
    before = emulator.requests
    try:
        with pytest.raises(QuantConnectionError):
            if call == "upload":
                flaky.vector_db.upload_documents(cid, [VectorDocument(content="again", id="d")])
            else:
                flaky.vector_db.query(cid, "dropped text")
    finally:
        flaky.close()
    assert emulator.requests - before == 2
    stored = qc.vector_db.list_documents(cid)
    assert [(d.id, d.content) for d in stored] == (
        [("d", "again")] if call == "upload" else [("d", "dropped text")]
    )
    qc.vector_db.delete_collection(cid)


def test_an_upload_without_ids_is_not_replayed_after_a_drop(
    emulator: QuantEmulator, qc: QuantClient
) -> None:
    """Documents without ids have no key to upsert by: an upload of them that may have landed
    is not sent again (it would store them twice)."""
    cid = qc.vector_db.create_collection(_name()).collection_id
    flaky = _faulty(emulator, "drop_after=1")
    flaky.transport.retry.max_retries = 2
    before = emulator.requests
    try:
        with pytest.raises(QuantConnectionError):
            flaky.vector_db.upload_documents(cid, ["no id given"])
    finally:
        flaky.close()
    assert emulator.requests - before == 1
    assert [d.content for d in qc.vector_db.list_documents(cid)] == ["no id given"]
    qc.vector_db.delete_collection(cid)


def test_raw_delete_body_is_validated(client: httpx.Client, coll: str) -> None:
    r = client.request(
        "DELETE", f"{BASE}/{coll}/documents", content=json.dumps({"keys": [1]}).encode()
    )
    assert r.status_code == 400
    assert "keys.0" in r.json()["errors"]
