"""The vector database of the emulator (``/ai/vector-db/...``, all eight operations).

In-memory collections per organisation, embedded with the emulator's deterministic
embeddings (:mod:`quant_ai.emulator.embeddings`) at each collection's size. Behaviour:

* ``POST collections``: 201; 409 when the name exists in the organisation; 400 for an
  unknown embedding model or a size the model cannot make. Titan v2 makes 256/512/1024
  (default 1024), Titan v1 1536, the Cohere v3 models 1024.
* ``GET``/``DELETE collections/{id}``: 404 for an unknown id (or one of another organisation).
* ``POST .../documents``: upsert by ``key`` (a document with a known key replaces it, under a
  new document id, at the end of the insertion order); no chunking (one chunk per document);
  searchable at once.
* ``GET .../documents``: ``key``, ``limit`` (1 to 100, default 50), ``offset``; answers
  ``{documents: [{documentId, key, content, metadata, createdAt}], count, total, limit,
  offset, hasMore}`` (the spec gives no schema).
* ``DELETE .../documents``: exactly one of ``purgeAll``, ``documentIds``, ``keys``,
  ``metadata{field, values}`` (400 otherwise: their combination is undocumented); metadata
  values match the field's value as text.
* ``POST .../query``: ``query`` (text) xor ``vector`` (the collection's size), or
  ``listByMetadata`` with a ``filter`` (400 otherwise). Similarity is the cosine, clamped to
  0..1, ranked highest first with ties in insertion order; ``threshold`` (default 0.7, as
  the spec) keeps results at or above it. ``filter.exact`` needs every field equal (by JSON
  value and type: ``1`` is not ``"1"`` nor ``true``), ``filter.contains`` needs a list field
  holding any of the values; both together must both hold. Metadata listing returns
  similarity 1.0, sorted by ``sortBy``/``sortOrder`` (default ``created_at`` ``desc``), with an
  opaque ``nextCursor`` (400 for a cursor that is not one of ours).

Served through :data:`ROUTES` (an ``OperationTable`` listed in the server's
``NATIVE_TABLES``, behind ``routing.guarded``: auth, faults, JSON and spec validation);
:data:`HANDLERS` maps each operation id to its handler, a function of one :class:`Call`.

The state is :class:`VectorDBState`, one per server, reached with :func:`vector_state`
(``vector_state(emulator.state)``): other emulator features (agents' ``allowedCollections``)
read it with :meth:`VectorDBState.find` and :meth:`VectorDBState.search`.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import json
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from quant_ai.emulator import embeddings as emb
from quant_ai.emulator.catalog import MODELS
from quant_ai.emulator.engine import RequestError
from quant_ai.emulator.routing import Ctx, OperationTable

__all__ = [
    "HANDLERS",
    "ROUTES",
    "VECTOR_OPERATIONS",
    "Call",
    "StoredCollection",
    "StoredDocument",
    "VectorDBState",
    "vector_state",
]

VECTOR_OPERATIONS = frozenset(
    {
        "listVectorCollections",
        "createVectorCollection",
        "getVectorCollection",
        "deleteVectorCollection",
        "uploadVectorDocuments",
        "listVectorDocuments",
        "deleteVectorDocuments",
        "queryVectorCollection",
    }
)
_MODEL_SIZES: dict[str, tuple[tuple[int, ...], int]] = {
    "amazon.titan-embed-text-v2:0": ((256, 512, 1024), 1024),
    "amazon.titan-embed-text-v1:0": ((1536,), 1536),
    "amazon.titan-embed-text-v1": ((1536,), 1536),
    "cohere.embed-english-v3": ((1024,), 1024),
    "cohere.embed-multilingual-v3": ((1024,), 1024),
}
DEFAULT_THRESHOLD = 0.7


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class StoredDocument:
    """One stored document (one chunk: the emulator does not split documents)."""

    document_id: str
    content: str
    key: str | None
    metadata: dict[str, Any]
    vector: dict[int, float]
    seq: int
    created_at: str

    def listed(self) -> dict[str, Any]:
        """The ``GET .../documents`` item."""
        return {
            "documentId": self.document_id,
            "key": self.key,
            "content": self.content,
            "metadata": self.metadata,
            "createdAt": self.created_at,
        }


@dataclass
class StoredCollection:
    """One collection and its documents (insertion order)."""

    collection_id: str
    name: str
    embedding_model: str
    dimensions: int
    description: str
    created_at: str
    updated_at: str
    documents: list[StoredDocument] = field(default_factory=list)
    version: int = 0
    """Bumped on every change of ``documents`` (the search index is rebuilt after one)."""
    _index: _SearchIndex | None = field(default=None, repr=False)

    def search_index(self) -> _SearchIndex:
        """Postings of the current documents (built on the first search after a change)."""
        if self._index is None or self._index.version != self.version:
            self._index = _SearchIndex(self.version, self.documents)
        return self._index

    def summary(self) -> dict[str, Any]:
        """The list item of ``GET collections``."""
        return {
            "collectionId": self.collection_id,
            "name": self.name,
            "description": self.description,
            "documentCount": len(self.documents),
            "embeddingModel": self.embedding_model,
            "createdAt": self.created_at,
        }

    def detail(self) -> dict[str, Any]:
        """The ``collection`` of ``GET collections/{id}``."""
        return {
            **self.summary(),
            "dimensions": self.dimensions,
            "updatedAt": self.updated_at,
        }


class VectorDBState:
    """All collections of one emulator, per organisation (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._orgs: dict[str, dict[str, StoredCollection]] = {}
        self._seq = itertools.count()

    def clear(self) -> None:
        """Forget every collection."""
        with self._lock:
            self._orgs.clear()

    def collections(self, org: str) -> list[StoredCollection]:
        """The organisation's collections, oldest first."""
        with self._lock:
            return list(self._orgs.get(org, {}).values())

    def find(self, org: str, collection: str) -> StoredCollection | None:
        """A collection by id or by name, or None."""
        with self._lock:
            found = self._orgs.get(org, {})
            if collection in found:
                return found[collection]
            return next((c for c in found.values() if c.name == collection), None)

    def create(
        self, org: str, name: str, model: str, dimensions: int, description: str
    ) -> StoredCollection | None:
        """Create a collection; None when the name exists."""
        with self._lock:
            found = self._orgs.setdefault(org, {})
            if any(c.name == name for c in found.values()):
                return None
            now = _now()
            made = StoredCollection(
                str(uuid.uuid4()), name, model, dimensions, description, now, now
            )
            found[made.collection_id] = made
            return made

    def delete(self, org: str, collection_id: str) -> bool:
        """Delete a collection; False when unknown."""
        with self._lock:
            return self._orgs.get(org, {}).pop(collection_id, None) is not None

    def upsert(self, coll: StoredCollection, docs: list[dict[str, Any]]) -> list[str]:
        """Store documents (replacing those of the same key); return their new ids.

        A document whose key is stored already, or comes again later in the same batch,
        replaces the older one; the survivors keep their order, the new ones go last. One
        pass over the stored documents per batch (not one per document).
        """
        with self._lock:
            made = [
                StoredDocument(
                    document_id=str(uuid.uuid4()),
                    content=doc["content"],
                    key=doc.get("key"),
                    metadata=dict(doc.get("metadata") or {}),
                    vector=emb.embed_text(doc["content"], coll.dimensions),
                    seq=next(self._seq),
                    created_at=_now(),
                )
                for doc in docs
            ]
            last = {d.key: i for i, d in enumerate(made) if d.key is not None}
            if last:
                coll.documents = [d for d in coll.documents if d.key not in last]
            coll.documents.extend(
                d for i, d in enumerate(made) if d.key is None or last[d.key] == i
            )
            coll.version += 1
            coll.updated_at = _now()
        return [d.document_id for d in made]

    def remove(self, coll: StoredCollection, keep: Any) -> int:
        """Remove the documents for which ``keep(doc)`` is false; return how many."""
        with self._lock:
            before = len(coll.documents)
            coll.documents = [d for d in coll.documents if keep(d)]
            coll.version += 1
            coll.updated_at = _now()
            return before - len(coll.documents)

    def search(
        self,
        coll: StoredCollection,
        query: dict[int, float],
        *,
        limit: int,
        threshold: float = 0.0,
        exact: Mapping[str, Any] | None = None,
        contains: Mapping[str, list[str]] | None = None,
    ) -> list[tuple[StoredDocument, float]]:
        """Rank documents by cosine similarity (0..1), ties in insertion order.

        Only documents sharing a vector entry with the query can score above 0, so they are
        found through the collection's postings; documents scoring 0 follow in insertion
        order when the threshold lets them in.
        """
        with self._lock:
            index = coll.search_index()
        return index.search(query, limit, threshold, exact, contains)


def vector_state(state: Any) -> VectorDBState:
    """The vector database of an emulator's state (``QuantEmulator().state``), made on first use."""
    found = getattr(state, "vector_db", None)
    if not isinstance(found, VectorDBState):
        found = VectorDBState()
        state.vector_db = found
    return found


class _SearchIndex:
    """Postings (vector entry -> documents holding it) of one version of a collection."""

    def __init__(self, version: int, documents: list[StoredDocument]) -> None:
        self.version = version
        self.documents = list(documents)
        self.norms = [math.sqrt(sum(x * x for x in d.vector.values())) for d in self.documents]
        self.postings: dict[int, list[tuple[int, float]]] = {}
        for pos, doc in enumerate(self.documents):
            for idx, value in doc.vector.items():
                self.postings.setdefault(idx, []).append((pos, value))

    def search(
        self,
        query: dict[int, float],
        limit: int,
        threshold: float,
        exact: Mapping[str, Any] | None,
        contains: Mapping[str, list[str]] | None,
    ) -> list[tuple[StoredDocument, float]]:
        dots: dict[int, float] = {}
        get = dots.get
        for idx, weight in query.items():
            for pos, value in self.postings.get(idx, ()):
                dots[pos] = get(pos, 0.0) + weight * value
        qnorm = math.sqrt(sum(x * x for x in query.values()))
        docs, norms = self.documents, self.norms
        filtered = bool(exact or contains)
        candidates = (
            (min(1.0, dot / (qnorm * norms[pos])), pos)
            for pos, dot in dots.items()
            if dot > 0
            and norms[pos] > 0
            and (not filtered or _matches(docs[pos].metadata, exact, contains))
        )
        # the best ``limit``: highest similarity first, ties in insertion order
        best = heapq.nsmallest(limit, ((-sim, pos) for sim, pos in candidates)) if qnorm else []
        scored = [(pos, -neg) for neg, pos in best]
        out = [(docs[pos], sim) for pos, sim in scored if sim >= threshold][:limit]
        if len(out) < limit and threshold <= 0.0:  # then the zeros, in insertion order
            positive = {pos for pos, _ in scored}  # here: every positive one
            for pos, doc in enumerate(docs):
                if pos not in positive and _matches(doc.metadata, exact, contains):
                    out.append((doc, 0.0))
                    if len(out) == limit:
                        break
        return out


def _same(a: Any, b: Any) -> bool:
    """Equality of two JSON values, type included (``1`` is neither ``"1"`` nor ``true``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _matches(
    metadata: Mapping[str, Any],
    exact: Mapping[str, Any] | None,
    contains: Mapping[str, list[str]] | None,
) -> bool:
    for name, want in (exact or {}).items():
        if name not in metadata or not _same(metadata[name], want):
            return False
    for name, wanted in (contains or {}).items():
        have = metadata.get(name)
        if not isinstance(have, list) or not any(w in have for w in wanted):
            return False
    return True


def _dense(vec: dict[int, float], dim: int) -> list[float]:
    out = [0.0] * dim
    for idx, value in vec.items():
        out[idx] = round(value, 8)
    return out


def _cursor(collection_id: str, offset: int) -> str:
    raw = json.dumps({"c": collection_id, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(collection_id: str, cursor: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise RequestError("cursor", "is not a cursor of this listing") from None
    if not isinstance(data, dict) or data.get("c") != collection_id:
        raise RequestError("cursor", "is not a cursor of this listing")
    offset = data.get("o")
    if not isinstance(offset, int) or offset < 0:
        raise RequestError("cursor", "is not a cursor of this listing")
    return offset


def _json(status: int, body: Any) -> Response:
    """A JSON answer; ``None`` members are left out (the spec's ``nullable`` is OpenAPI-only)."""
    if isinstance(body, dict):
        body = {k: val for k, val in body.items() if val is not None}
    return JSONResponse(body, status_code=status)


def _not_found() -> Response:
    return _json(404, {"message": "Collection not found", "code": "NOT_FOUND"})


def _int_param(request: Request, name: str, default: int, lo: int, hi: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(name, "must be an integer") from None
    if value < lo or (hi is not None and value > hi):
        upper = f" and at most {hi}" if hi is not None else ""
        raise RequestError(name, f"must be at least {lo}{upper}")
    return value


ROUTES = OperationTable()
"""The vector-db operations this module serves (in the server's ``NATIVE_TABLES``)."""

HANDLERS: dict[str, Callable[[Call], Awaitable[Response]]] = {}


def _route(op: str, handler: Callable[[Call], Awaitable[Response]]) -> None:
    async def serve(ctx: Ctx) -> Response:
        call = Call(
            vector_state(ctx.state),
            ctx.org,
            ctx.params.get("collectionId"),
            ctx.request,
            ctx.body,
        )
        return await handler(call)

    HANDLERS[op] = handler
    ROUTES.operation(op, route="vector_db")(serve)


@dataclass
class Call:
    """One vector-db request as its handler sees it."""

    db: VectorDBState
    org: str
    collection_id: str | None
    request: Request
    body: Any

    def collection(self) -> StoredCollection | None:
        """The addressed collection of this organisation (by id), or None."""
        if self.collection_id is None:
            return None
        found = self.db.find(self.org, self.collection_id)
        return found if found is not None and found.collection_id == self.collection_id else None


async def _list_collections(call: Call) -> Response:
    items = [c.summary() for c in call.db.collections(call.org)]
    return _json(200, {"collections": items, "count": len(items)})


async def _create_collection(call: Call) -> Response:
    body = call.body
    name = body["name"].strip()
    if not name:
        raise RequestError("name", "must not be empty")
    model = body["embeddingModel"]
    sizes = _MODEL_SIZES.get(model)
    if sizes is None:
        known = MODELS.get(model)
        if known is None or known.kind != "embeddings":
            raise RequestError("embeddingModel", f"{model!r} is not an embedding model")
        sizes = (known.embed_dimensions, known.embed_dimensions[0])
    allowed, default = sizes
    dims = body.get("dimensions", default)
    if dims not in allowed:
        raise RequestError(
            "dimensions", f"{model} makes vectors of {', '.join(map(str, allowed))} values"
        )
    made = call.db.create(call.org, name, model, dims, body.get("description", ""))
    if made is None:
        return _json(409, {"message": f"Collection with name '{name}' already exists"})
    info = {
        "collectionId": made.collection_id,
        "name": made.name,
        "description": made.description,
        "embeddingModel": made.embedding_model,
        "dimensions": made.dimensions,
    }
    return _json(201, {"success": True, "collection": info, "message": "Collection created"})


async def _get_collection(call: Call) -> Response:
    coll = call.collection()
    if coll is None:
        return _not_found()
    return _json(200, {"collection": coll.detail()})


async def _delete_collection(call: Call) -> Response:
    if (
        call.collection_id is None
        or call.collection() is None
        or not call.db.delete(call.org, call.collection_id)
    ):
        return _not_found()
    return _json(200, {"success": True, "message": "Collection deleted"})


async def _upload(call: Call) -> Response:
    coll = call.collection()
    if coll is None:
        return _not_found()
    docs = call.body["documents"]
    if not docs:
        raise RequestError("documents", "give at least one document")
    for i, doc in enumerate(docs):
        if not doc["content"].strip():
            raise RequestError(f"documents.{i}.content", "must not be empty")
    ids = call.db.upsert(coll, docs)
    return _json(
        200,
        {
            "success": True,
            "documentIds": ids,
            "chunksCreated": len(ids),
            "message": f"{len(ids)} document(s) uploaded",
        },
    )


async def _list_documents(call: Call) -> Response:
    coll = call.collection()
    if coll is None:
        return _not_found()
    limit = _int_param(call.request, "limit", 50, 1, 100)
    offset = _int_param(call.request, "offset", 0, 0, None)
    key = call.request.query_params.get("key")
    docs = [d for d in coll.documents if key is None or d.key == key]
    page = docs[offset : offset + limit]
    return _json(
        200,
        {
            "documents": [d.listed() for d in page],
            "count": len(page),
            "total": len(docs),
            "limit": limit,
            "offset": offset,
            "hasMore": offset + len(page) < len(docs),
        },
    )


async def _delete_documents(call: Call) -> Response:
    coll = call.collection()
    if coll is None:
        return _not_found()
    body = call.body if isinstance(call.body, dict) else {}
    modes = [m for m in ("purgeAll", "documentIds", "keys", "metadata") if body.get(m) is not None]
    if body.get("purgeAll") is False:
        modes.remove("purgeAll")
    if len(modes) != 1:
        raise RequestError("body", "must specify one of purgeAll, documentIds, keys or metadata")
    mode = modes[0]
    if mode == "purgeAll":
        count = call.db.remove(coll, lambda d: False)
    elif mode == "documentIds":
        gone = set(body["documentIds"])
        count = call.db.remove(coll, lambda d: d.document_id not in gone)
    elif mode == "keys":
        keys = set(body["keys"])
        count = call.db.remove(coll, lambda d: d.key not in keys)
    else:
        meta = body["metadata"]
        if "field" not in meta or not meta.get("values"):
            raise RequestError("metadata", "needs field and values")
        name, values = meta["field"], set(meta["values"])
        count = call.db.remove(
            coll, lambda d: not (name in d.metadata and _text(d.metadata[name]) in values)
        )
    return _json(
        200,
        {
            "message": f"Deleted {count} document(s)",
            "collectionId": coll.collection_id,
            "deletedCount": count,
        },
    )


async def _query(call: Call) -> Response:
    coll = call.collection()
    if coll is None:
        return _not_found()
    started = time.perf_counter()
    body = call.body
    flt = body.get("filter") or {}
    exact, contains = flt.get("exact") or {}, flt.get("contains") or {}
    limit = body.get("limit", 5)
    include = bool(body.get("includeEmbeddings"))
    if body.get("listByMetadata"):
        if not exact and not contains:
            raise RequestError("filter", "listByMetadata needs a filter")
        return _listing(coll, body, exact, contains, limit, include, started)
    text, vector = body.get("query"), body.get("vector")
    if (text is None) == (vector is None):
        raise RequestError("query", "give either query or vector (or listByMetadata)")
    if vector is not None:
        if len(vector) != coll.dimensions:
            raise RequestError(
                "vector",
                f"has {len(vector)} values; this collection's vectors have {coll.dimensions}",
            )
        qvec = {i: float(x) for i, x in enumerate(vector) if x}
        mode = "vector"
    else:
        qvec = emb.embed_text(text, coll.dimensions)
        mode = "text"
    hits = call.db.search(
        coll,
        qvec,
        limit=limit,
        threshold=body.get("threshold", DEFAULT_THRESHOLD),
        exact=exact,
        contains=contains,
    )
    results = [_result(d, s, include, coll.dimensions) for d, s in hits]
    return _json(
        200,
        {
            "collectionId": coll.collection_id,
            "query": text,
            "results": results,
            "count": len(results),
            "searchMode": mode,
            "filter": flt or None,
            "hasMore": False,
            "nextCursor": None,
            "executionTimeMs": int((time.perf_counter() - started) * 1000),
        },
    )


for _op, _handler in {
    "listVectorCollections": _list_collections,
    "createVectorCollection": _create_collection,
    "getVectorCollection": _get_collection,
    "deleteVectorCollection": _delete_collection,
    "uploadVectorDocuments": _upload,
    "listVectorDocuments": _list_documents,
    "deleteVectorDocuments": _delete_documents,
    "queryVectorCollection": _query,
}.items():
    _route(_op, _handler)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _result(doc: StoredDocument, similarity: float, include: bool, dim: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "documentId": doc.document_id,
        "content": doc.content,
        "similarity": round(similarity, 6),
        "metadata": doc.metadata,
    }
    if include:
        item["embedding"] = _dense(doc.vector, dim)
    return item


def _listing(
    coll: StoredCollection,
    body: Mapping[str, Any],
    exact: Mapping[str, Any],
    contains: Mapping[str, list[str]],
    limit: int,
    include: bool,
    started: float,
) -> Response:
    sort_by = body.get("sortBy", "created_at")
    order = body.get("sortOrder", "desc")
    docs = [d for d in coll.documents if _matches(d.metadata, exact, contains)]
    docs.sort(
        key=(lambda d: d.seq) if sort_by == "created_at" else (lambda d: d.document_id),
        reverse=order == "desc",
    )
    offset = _offset(coll.collection_id, body["cursor"]) if body.get("cursor") else 0
    page = docs[offset : offset + limit]
    more = offset + len(page) < len(docs)
    results = [_result(d, 1.0, include, coll.dimensions) for d in page]
    return _json(
        200,
        {
            "collectionId": coll.collection_id,
            "query": None,
            "results": results,
            "count": len(results),
            "searchMode": "metadata",
            "filter": dict(body.get("filter") or {}),
            "hasMore": more,
            "nextCursor": _cursor(coll.collection_id, offset + len(page)) if more else None,
            "pagination": {"limit": limit, "sortBy": sort_by, "sortOrder": order},
            "executionTimeMs": int((time.perf_counter() - started) * 1000),
        },
    )
