"""The emulator's vector search through postings and its one-pass upsert keep the rules:
highest similarity first, ties and zero-similarity documents in insertion order, the
threshold, filters, and the last of several documents with one key winning."""

from __future__ import annotations

from quant_ai.emulator import embeddings as emb
from quant_ai.emulator.vector_db import StoredCollection, VectorDBState

DIM = 256


def collection(db: VectorDBState) -> StoredCollection:
    made = db.create("org", "c", "amazon.titan-embed-text-v2:0", DIM, "")
    assert made is not None
    return made


def keys(found: list[tuple[object, float]]) -> list[str | None]:
    return [doc.key for doc, _ in found]  # type: ignore[attr-defined]


def test_a_batch_replaces_known_keys_and_the_last_of_a_key_wins() -> None:
    db = VectorDBState()
    coll = collection(db)
    db.upsert(coll, [{"content": "one", "key": "a"}, {"content": "two", "key": "b"}])
    ids = db.upsert(
        coll,
        [
            {"content": "three", "key": "a"},
            {"content": "no key"},
            {"content": "four", "key": "a"},
        ],
    )
    assert len(ids) == 3  # every document sent gets an id, as before
    assert [(d.key, d.content) for d in coll.documents] == [
        ("b", "two"),
        (None, "no key"),
        ("a", "four"),
    ]


def test_ranking_ties_zeros_threshold_and_filters() -> None:
    db = VectorDBState()
    coll = collection(db)
    db.upsert(
        coll,
        [
            {"content": "red apple", "key": "k1", "metadata": {"kind": "fruit"}},
            {"content": "zebra stripes", "key": "k2", "metadata": {"kind": "animal"}},
            {"content": "red apple", "key": "k3", "metadata": {"kind": "fruit"}},
            {"content": "apple", "key": "k4", "metadata": {"kind": "fruit"}},
            {"content": "quiet harbour", "key": "k5", "metadata": {"kind": "place"}},
        ],
    )
    query = emb.embed_text("red apple", DIM)
    found = db.search(coll, query, limit=5)
    assert keys(found)[:3] == ["k1", "k3", "k4"]  # the tie of k1 and k3 in insertion order
    assert found[0][1] == found[1][1] > found[2][1] > 0
    assert keys(found)[3:] == ["k2", "k5"]  # similarity 0, in insertion order
    assert [score for _, score in found[3:]] == [0.0, 0.0]
    assert keys(db.search(coll, query, limit=5, threshold=0.01)) == ["k1", "k3", "k4"]
    assert keys(db.search(coll, query, limit=2, exact={"kind": "fruit"})) == ["k1", "k3"]
    assert keys(db.search(coll, query, limit=5, exact={"kind": "place"})) == ["k5"]


def test_search_sees_every_change() -> None:
    db = VectorDBState()
    coll = collection(db)
    db.upsert(coll, [{"content": "red apple", "key": "k1"}])
    query = emb.embed_text("red apple", DIM)
    assert keys(db.search(coll, query, limit=3)) == ["k1"]
    db.upsert(coll, [{"content": "red apple pie", "key": "k2"}])
    assert keys(db.search(coll, query, limit=3)) == ["k1", "k2"]
    db.remove(coll, lambda d: d.key != "k1")
    assert keys(db.search(coll, query, limit=3)) == ["k2"]
    db.upsert(coll, [{"content": "zebra", "key": "k2"}])  # replaced by a text sharing nothing
    assert db.search(coll, query, limit=3)[0][1] == 0.0
