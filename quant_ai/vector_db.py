"""Quant's managed vector database (``/ai/vector-db/...``): models, rules and client calls.

Everything here is framework-independent; ``langchain_quant`` and ``llama_index_quant`` call
it and only translate their own objects.

Public API (reached as ``client.vector_db`` on a :class:`~quant_ai.QuantClient`; every call has
an ``a``-prefixed async twin, e.g. ``aquery``):

* Collections: ``list_collections()``, ``create_collection(name, *, embedding_model=...,
  dimensions=None, description=None, exist_ok=False)``, ``get_collection(collection)``,
  ``delete_collection(collection)``, ``resolve_collection_id(collection)``,
  ``collection_info(collection)`` (cached :class:`VectorCollection`).
* Documents: ``upload_documents(collection, documents, *, batch_size=100)``,
  ``list_documents(collection, *, key=None, limit=50, offset=0)``,
  ``get_documents(collection, ids)`` (by caller id), ``delete_documents(collection, *,
  document_ids=None, keys=None, metadata_field=None, metadata_values=None, purge_all=False)``,
  ``delete_matching(collection, filter)`` (every document a filter matches).
* Search: ``query(collection, query=None, *, vector=None, limit=5, threshold=0.0, filter=None,
  include_embeddings=False, list_by_metadata=False, cursor=None, sort_by=None,
  sort_order=None)``, ``list_matching(collection, filter)`` (all pages of a metadata listing),
  ``embed_query(collection, text)`` (the collection's own model and size).

A ``collection`` argument is a collection id (uuid, used as is) or a name (resolved once by
listing the collections, then cached; an unknown name raises
:class:`~quant_ai.QuantNotFoundError`).

Rules kept here, once:

* **Ids.** A document's caller id (:attr:`VectorDocument.id`) is sent as ``key`` (the service
  upserts by key) and also inside ``metadata`` under :data:`ID_FIELD`, because search results
  carry no key. On the way back every name starting with :data:`RESERVED_PREFIX` is stripped
  and the id is returned as :attr:`VectorSearchResult.id`. User metadata using the prefix is
  refused. Metadata otherwise round-trips as JSON (ints stay ints, no keys added).
* **Filters.** :func:`compile_filter` turns a Mongo-style dict (LangChain's language) or a list
  of neutral :class:`Condition` (what LlamaIndex ``MetadataFilters`` compile to) into the wire
  ``filter`` (:class:`VectorFilter`): equalities and ``$and`` of equalities go to
  ``filter.exact``; "list field contains any of these strings" (``$contains``) goes to
  ``filter.contains``. Anything else raises :class:`UnsupportedFilterError` before any request:
  a filter is never dropped or loosened.
* **Limits** (spec v4.19.0) are checked before sending and never clamped: ``query`` 3 to 1000
  characters, ``limit`` 1 to 20, ``threshold`` 0 to 1, ``query`` xor ``vector``,
  ``listByMetadata`` needs a filter, ``key`` at most 512 characters, document ids are uuids,
  list ``limit`` 1 to 100. ``threshold`` defaults to 0 (the service's default, 0.7, would hide
  results of a plain top-k).
* **Uploads** are split in batches under the API's 25 MB body limit (and ``batch_size``
  documents).
* **Create** lists first; a 409 means "exists" (``exist_ok=True`` returns the existing one).
  Creating requests (a collection, documents without ids) are sent ``replayable=False``: the
  transport does not retry them once they may have reached the service.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx
import pydantic
from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from . import _validation as v
from ._config import encode_path_segment
from .embeddings import check_dimensions
from .errors import QuantAPIError, QuantConflictError, QuantNotFoundError, QuantValidationError

if TYPE_CHECKING:
    from .client import QuantClient

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "ID_FIELD",
    "MAX_QUERY_LIMIT",
    "RESERVED_PREFIX",
    "Condition",
    "DeleteResult",
    "StoredDocument",
    "UnsupportedFilterError",
    "UploadResult",
    "VectorCollection",
    "VectorDB",
    "VectorDocument",
    "VectorFilter",
    "VectorQueryResponse",
    "VectorSearchResult",
    "check_collection_matches",
    "check_query_options",
    "compile_filter",
    "conditions_from_dict",
    "decode_metadata",
    "encode_document",
    "is_uuid",
]

DEFAULT_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
RESERVED_PREFIX = "_quant_"
"""Metadata names starting with this are the package's own (refused in user metadata)."""
ID_FIELD = "_quant_id"
"""The metadata name that carries a document's caller id (results carry no ``key``)."""
MAX_QUERY_LIMIT = 20
MIN_QUERY_CHARS = 1 + 2
MAX_QUERY_CHARS = 1000
MAX_KEY_CHARS = 512
MAX_LIST_LIMIT = 100
MAX_UPLOAD_BYTES = v.MAX_MEDIA_BYTES
"""The API's 25 MB request body limit, applied to each upload batch."""
SORT_FIELDS = ("created_at", "document_id")
SORT_ORDERS = ("asc", "desc")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_STRING_METADATA = ("title", "source_url", "section")


def _fail(field: str, message: str) -> QuantValidationError:
    return QuantValidationError(f"{field}: {message}", field=field)


def is_uuid(value: str) -> bool:
    """Whether ``value`` is a uuid in its canonical text form (a collection or document id)."""
    return bool(_UUID.match(value))


# --------------------------------------------------------------------------- models


class _Tolerant(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True
    )


class VectorCollection(_Tolerant):
    """A collection (knowledge base) as the service describes it.

    Attributes:
        collection_id: Its uuid.
        name: Its unique name.
        embedding_model: The model that embeds its documents and text queries.
        dimensions: The vector size (None when the service did not say; 1024 by default).
        description: Free text.
        document_count: Documents (chunks) stored, when listed.
    """

    collection_id: str = Field(validation_alias=AliasChoices("collectionId", "collection_id", "id"))
    name: str = ""
    description: str | None = None
    embedding_model: str | None = None
    dimensions: int | None = None
    document_count: int | None = None
    created_at: str | None = None
    updated_at: str | None = None


class VectorDocument(BaseModel):
    """A document to upload.

    Attributes:
        content: The text (embedded by the service with the collection's model).
        id: The caller's stable id (sent as ``key``, so uploading it again replaces it).
        metadata: JSON metadata (``title``, ``source_url``, ``section`` are strings and
            ``tags`` a list of strings when present; names starting with ``_quant_`` are
            reserved).
    """

    model_config = ConfigDict(frozen=True)

    content: str
    id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class UploadResult(BaseModel):
    """What an upload (all its batches) created.

    Attributes:
        document_ids: The service's ids of the stored chunks (not necessarily one per
            document: the service may chunk).
        chunks_created: Chunks stored.
        ids: The caller ids sent (``None`` for a document uploaded without one).
        batches: Requests sent.
    """

    document_ids: list[str] = Field(default_factory=list)
    chunks_created: int = 0
    ids: list[str | None] = Field(default_factory=list)
    batches: int = 0


class DeleteResult(_Tolerant):
    """The answer of a document deletion."""

    deleted_count: int = 0
    collection_id: str | None = None
    message: str | None = None


class VectorSearchResult(_Tolerant):
    """One search hit (or one listed document).

    Attributes:
        document_id: The service's chunk id.
        id: The caller id (from the reserved metadata name), when the document had one.
        content: The text.
        similarity: 0 to 1, higher is closer (1.0 in metadata-list mode). The service's own
            clients also read ``score``; both are accepted.
        metadata: The user metadata, reserved names removed.
        embedding: The stored vector (``include_embeddings=True`` only).
    """

    document_id: str | None = Field(
        default=None, validation_alias=AliasChoices("documentId", "document_id")
    )
    id: str | None = None
    content: str = Field(default="", validation_alias=AliasChoices("content", "text"))
    similarity: float = Field(
        default=0.0, validation_alias=AliasChoices("similarity", "score", "relevance")
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding: list[float] | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _split_id(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            if "documentId" not in data and "document_id" not in data and "id" in data:
                data["documentId"] = data.pop("id")
            caller_id, metadata = decode_metadata(data.get("metadata") or {})
            data["metadata"] = metadata
            if caller_id is None and isinstance(data.get("key"), str):
                caller_id = data["key"]
            data["id"] = caller_id
        return data


class StoredDocument(VectorSearchResult):
    """A document as listed by ``GET .../documents`` (the spec gives no schema: tolerant)."""

    key: str | None = None


class VectorQueryResponse(_Tolerant):
    """The answer of a query.

    Attributes:
        results: Hits, closest first (or in ``sort_by`` order when listing by metadata).
        search_mode: ``text``, ``vector`` or ``metadata``.
        has_more: More pages exist (metadata listing).
        next_cursor: Pass as ``cursor`` to read the next page.
        count: Results in this page.
    """

    results: list[VectorSearchResult] = Field(default_factory=list)
    search_mode: str | None = None
    has_more: bool = False
    next_cursor: str | None = None
    count: int | None = None
    execution_time_ms: int | None = None


# --------------------------------------------------------------------------- ids and metadata


def check_metadata(metadata: Mapping[str, Any], field: str = "metadata") -> dict[str, Any]:
    """Check user metadata; return a plain dict copy.

    Raises:
        QuantValidationError: For a reserved or non-text name, a value JSON cannot carry, or a
            listed name of the spec with the wrong type (``title``/``source_url``/``section``
            are strings, ``tags`` a list of strings).
    """
    if not isinstance(metadata, Mapping):
        raise _fail(field, f"must be a mapping, got {type(metadata).__name__}")
    out: dict[str, Any] = {}
    for name, value in metadata.items():
        if not isinstance(name, str):
            raise _fail(field, f"metadata names must be strings, got {name!r}")
        if name.startswith(RESERVED_PREFIX):
            raise _fail(
                f"{field}.{name}",
                f"names starting with {RESERVED_PREFIX!r} are reserved for the document id; "
                "rename the field",
            )
        if name in _STRING_METADATA and not isinstance(value, str):
            raise _fail(f"{field}.{name}", f"must be a string (spec), got {type(value).__name__}")
        if name == "tags" and not (
            isinstance(value, list) and all(isinstance(t, str) for t in value)
        ):
            raise _fail(f"{field}.tags", "must be a list of strings (spec)")
        out[name] = value
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _fail(
            field, f"values must be JSON (str, number, bool, None, list, dict): {exc}"
        ) from None
    return out


def check_document_id(value: Any, field: str) -> str:
    """Check a caller id (sent as ``key``: 1 to 512 characters)."""
    if not isinstance(value, str) or not value:
        raise _fail(field, f"ids are non-empty strings, got {value!r}")
    if len(value) > MAX_KEY_CHARS:
        raise _fail(field, f"is {len(value)} characters; keys are at most {MAX_KEY_CHARS}")
    return value


def encode_document(document: VectorDocument, index: int = 0) -> dict[str, Any]:
    """The wire form of one document: ``content``, ``key`` and ``metadata`` with the id."""
    field = f"documents[{index}]"
    if not isinstance(document.content, str) or not document.content.strip():
        raise _fail(f"{field}.content", "empty text cannot be embedded")
    metadata = check_metadata(document.metadata, f"{field}.metadata")
    wire: dict[str, Any] = {"content": document.content}
    if document.id is not None:
        wire["key"] = check_document_id(document.id, f"{field}.id")
        metadata[ID_FIELD] = document.id
    if metadata:
        wire["metadata"] = metadata
    return wire


def decode_metadata(metadata: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Split stored metadata into (caller id, user metadata without reserved names)."""
    caller = metadata.get(ID_FIELD)
    user = {k: val for k, val in metadata.items() if not str(k).startswith(RESERVED_PREFIX)}
    return (caller if isinstance(caller, str) else None), user


def _as_document(value: Any, index: int) -> VectorDocument:
    if isinstance(value, VectorDocument):
        return value
    if isinstance(value, str):
        return VectorDocument(content=value)
    if isinstance(value, Mapping):
        data = dict(value)
        if "key" in data and "id" not in data:
            data["id"] = data.pop("key")
        try:
            return VectorDocument.model_validate(data)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise _fail(f"documents[{index}].{loc}", first["msg"]) from None
    raise _fail(f"documents[{index}]", f"expected a VectorDocument, mapping or str: {value!r}")


# --------------------------------------------------------------------------- filters


class UnsupportedFilterError(QuantValidationError):
    """A filter uses an operator or shape the Quant vector database cannot express.

    Attributes:
        operator: The refused operator (e.g. ``$ne``), when one is at fault.
    """

    def __init__(self, message: str, *, field: str | None = None, operator: str | None = None):
        super().__init__(message, field=field)
        self.operator = operator


SUPPORTED_FILTERS = (
    "supported: equality ({'field': value} or {'field': {'$eq': value}}) with a str, int, "
    "float or bool value, '$and' of those, and {'field': {'$contains': value or [values]}} "
    "(a list field holding any of the strings)"
)


class Condition(NamedTuple):
    """One neutral filter condition: ``(field, op, value)``.

    ``op`` is ``"eq"`` (value: str, int, float or bool) or ``"contains"`` (value: a string
    or a list of strings; matches a list field holding any of them). Any other ``op`` (e.g. a
    LlamaIndex ``FilterOperator`` value such as ``"!="``) is refused by :func:`compile_filter`
    with an :class:`UnsupportedFilterError` naming it.
    """

    field: str
    op: str
    value: Any


class VectorFilter(BaseModel):
    """The wire ``filter``: ``exact`` (all must equal) and ``contains`` (list holds any)."""

    model_config = ConfigDict(frozen=True)

    exact: dict[str, Any] = Field(default_factory=dict)
    contains: dict[str, list[str]] = Field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent as ``filter`` (empty parts omitted)."""
        wire: dict[str, Any] = {}
        if self.exact:
            wire["exact"] = dict(self.exact)
        if self.contains:
            wire["contains"] = {k: list(vals) for k, vals in self.contains.items()}
        return wire

    def __bool__(self) -> bool:
        return bool(self.exact or self.contains)


def _refuse(op: str, field: str | None) -> UnsupportedFilterError:
    where = f" on {field!r}" if field else ""
    return UnsupportedFilterError(
        f"filter operator {op!r}{where} is not supported by the Quant vector database; "
        + SUPPORTED_FILTERS,
        field=f"filter.{field}" if field else "filter",
        operator=op,
    )


def conditions_from_dict(filter: Mapping[str, Any]) -> list[Condition]:
    """Read LangChain's Mongo-style dict filter into neutral conditions.

    Raises:
        UnsupportedFilterError: For any operator other than ``$eq``, ``$contains``, ``$and``
            (and ``$in`` with exactly one value, which is an equality).
    """
    out: list[Condition] = []
    _walk(filter, out)
    return out


def _walk(node: Any, out: list[Condition]) -> None:
    if not isinstance(node, Mapping):
        raise UnsupportedFilterError(
            f"a filter is a mapping, got {type(node).__name__}; " + SUPPORTED_FILTERS,
            field="filter",
        )
    for key, value in node.items():
        if not isinstance(key, str):
            raise UnsupportedFilterError(f"filter names are strings, got {key!r}", field="filter")
        if key == "$and":
            if not isinstance(value, (list, tuple)) or not value:
                raise UnsupportedFilterError(
                    "'$and' takes a non-empty list of filters", field="filter.$and"
                )
            for item in value:
                _walk(item, out)
        elif key.startswith("$"):
            raise _refuse(key, None)
        elif isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
            for op, operand in value.items():
                if op == "$eq":
                    out.append(Condition(key, "eq", operand))
                elif op == "$contains":
                    out.append(Condition(key, "contains", operand))
                elif op == "$in" and isinstance(operand, (list, tuple)) and len(operand) == 1:
                    out.append(Condition(key, "eq", operand[0]))
                else:
                    raise _refuse(str(op), key)
        else:
            out.append(Condition(key, "eq", value))


_EQ_OPS = ("eq", "==", "$eq")
_CONTAINS_OPS = ("contains", "$contains")


def compile_conditions(conditions: Iterable[Condition | tuple[str, str, Any]]) -> VectorFilter:
    """Compile neutral conditions (all must hold) into the wire filter.

    Raises:
        UnsupportedFilterError: For an operator other than equality and contains, a value the
            service cannot compare, two different equalities on one field, or two ``contains``
            on one field (the service matches any, so "all of" cannot be expressed).
    """
    exact: dict[str, Any] = {}
    contains: dict[str, list[str]] = {}
    for item in conditions:
        field, op, value = Condition(*item)
        if not isinstance(field, str) or not field:
            raise UnsupportedFilterError(f"filter field names are non-empty strings: {field!r}")
        where = f"filter.{field}"
        if field.startswith(RESERVED_PREFIX):
            raise UnsupportedFilterError(
                f"{where}: names starting with {RESERVED_PREFIX!r} are reserved", field=where
            )
        op_name = str(getattr(op, "value", op))
        if op_name in _EQ_OPS:
            if isinstance(value, float) and not math.isfinite(value):
                raise UnsupportedFilterError(f"{where}: {value!r} cannot be compared", field=where)
            if not isinstance(value, (str, int, float, bool)):
                raise UnsupportedFilterError(
                    f"{where}: equality ($eq) takes a str, int, float or bool, got "
                    f"{type(value).__name__}; " + SUPPORTED_FILTERS,
                    field=where,
                    operator="$eq",
                )
            if field in exact and (exact[field] != value or type(exact[field]) is not type(value)):
                raise UnsupportedFilterError(
                    f"{where}: two different equalities ($eq) on one field can never both hold",
                    field=where,
                    operator="$eq",
                )
            exact[field] = value
        elif op_name in _CONTAINS_OPS:
            values = [value] if isinstance(value, str) else value
            if (
                not isinstance(values, (list, tuple))
                or not values
                or not all(isinstance(x, str) for x in values)
            ):
                raise UnsupportedFilterError(
                    f"{where}: '$contains' takes a string or a non-empty list of strings",
                    field=where,
                    operator="$contains",
                )
            if field in contains:
                raise UnsupportedFilterError(
                    f"{where}: two '$contains' on one field would need all of them; the "
                    "service matches any: give one '$contains' with every value",
                    field=where,
                    operator="$contains",
                )
            contains[field] = list(values)
        else:
            raise _refuse(op_name, field)
    return VectorFilter(exact=exact, contains=contains)


FilterLike = VectorFilter | Mapping[str, Any] | Sequence[Condition | tuple[str, str, Any]]


def compile_filter(filter: FilterLike | None) -> VectorFilter | None:
    """Compile a filter into the wire filter, or refuse it (never drop or loosen it).

    Args:
        filter: ``None``; a :class:`VectorFilter` (sent as is); a LangChain-style dict
            (``{"f": v}``, ``{"f": {"$eq": v}}``, ``{"$and": [...]}``,
            ``{"tags": {"$contains": "x" or ["x", "y"]}}``); or a sequence of
            :class:`Condition` (what LlamaIndex ``MetadataFilters`` compile to).

    Returns:
        The wire filter, or ``None`` for ``None`` or an empty filter.

    Raises:
        UnsupportedFilterError: For anything the service cannot express (``$ne``, ``$gt``,
            ``$in`` of several values, ``$or``, ``$not``, ...), naming the operator.

    Example:
        >>> compile_filter({"genre": "scifi", "tags": {"$contains": ["a", "b"]}}).to_wire()
        {'exact': {'genre': 'scifi'}, 'contains': {'tags': ['a', 'b']}}
    """
    if filter is None:
        return None
    if isinstance(filter, VectorFilter):
        return filter or None
    if isinstance(filter, Mapping):
        compiled = compile_conditions(conditions_from_dict(filter))
    elif isinstance(filter, (list, tuple)):
        compiled = compile_conditions(filter)
    else:
        raise UnsupportedFilterError(
            f"a filter is a dict, a list of Condition or a VectorFilter, got "
            f"{type(filter).__name__}",
            field="filter",
        )
    return compiled or None


# --------------------------------------------------------------------------- request bodies


def _int_in(field: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, f"must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise _fail(field, f"must be between {lo} and {hi}, got {value}")
    return value


def build_query_body(
    query: str | None = None,
    *,
    vector: Sequence[float] | None = None,
    limit: int = 5,
    threshold: float = 0.0,
    filter: FilterLike | None = None,
    include_embeddings: bool = False,
    list_by_metadata: bool = False,
    cursor: str | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    dimensions: int | None = None,
) -> dict[str, Any]:
    """The body of ``POST .../query``, every spec limit checked (nothing clamped).

    Raises:
        QuantValidationError: Naming the field and what to change.
        UnsupportedFilterError: For a filter the service cannot express.
    """
    body: dict[str, Any] = {}
    compiled = compile_filter(filter)
    if list_by_metadata:
        if compiled is None:
            raise _fail("listByMetadata", "needs a filter (the metadata to list by)")
        if query is not None or vector is not None:
            raise _fail("listByMetadata", "lists by metadata only: leave query and vector unset")
        body["listByMetadata"] = True
    else:
        if (query is None) == (vector is None):
            raise _fail("query", "give either query (text) or vector, not both or neither")
        for name, value in (("cursor", cursor), ("sortBy", sort_by), ("sortOrder", sort_order)):
            if value is not None:
                raise _fail(name, "applies to list_by_metadata=True only")
    if query is not None:
        if not isinstance(query, str):
            raise _fail("query", f"must be text, got {type(query).__name__}")
        if not MIN_QUERY_CHARS <= len(query) <= MAX_QUERY_CHARS:
            raise _fail(
                "query",
                f"is {len(query)} characters; the service takes {MIN_QUERY_CHARS} to "
                f"{MAX_QUERY_CHARS} (embed it with embed_query() and query by vector instead)",
            )
        body["query"] = query
    if vector is not None:
        values = list(vector)
        if not values or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in values
        ):
            raise _fail("vector", "must be a non-empty list of finite numbers")
        if dimensions is not None and len(values) != dimensions:
            raise _fail(
                "vector", f"has {len(values)} values; the collection's vectors have {dimensions}"
            )
        body["vector"] = [float(x) for x in values]
    body["limit"] = _int_in("limit", limit, 1, MAX_QUERY_LIMIT)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise _fail("threshold", f"must be a number from 0 to 1, got {threshold!r}")
    if not 0.0 <= threshold <= 1.0:
        raise _fail("threshold", f"must be from 0 to 1, got {threshold}")
    if not list_by_metadata:
        body["threshold"] = float(threshold)
    if compiled is not None:
        body["filter"] = compiled.to_wire()
    if include_embeddings:
        body["includeEmbeddings"] = True
    if cursor is not None:
        if not isinstance(cursor, str) or not cursor:
            raise _fail("cursor", "must be the nextCursor text of the previous page")
        body["cursor"] = cursor
    if sort_by is not None:
        if sort_by not in SORT_FIELDS:
            raise _fail("sortBy", f"must be one of {', '.join(SORT_FIELDS)}, got {sort_by!r}")
        body["sortBy"] = sort_by
    if sort_order is not None:
        if sort_order not in SORT_ORDERS:
            raise _fail("sortOrder", f"must be asc or desc, got {sort_order!r}")
        body["sortOrder"] = sort_order
    return body


def check_collection_matches(
    collection: VectorCollection,
    *,
    embedding_model: str | None = None,
    dimensions: int | None = None,
) -> VectorCollection:
    """Refuse an existing collection that was asked for with another model or vector size.

    A store that creates its collection on first use finds an existing one of that name; when
    the caller named an ``embedding_model`` or ``dimensions`` (pass ``None`` for what the
    caller did not set) that the collection does not have, its documents would be embedded
    and searched with something else than asked, so this raises instead.

    Returns:
        The collection, when it matches.

    Raises:
        QuantValidationError: Naming ``embedding_model`` or ``dimensions``.
    """
    known = collection.embedding_model
    if embedding_model is not None and known is not None and known != embedding_model:
        raise _fail(
            "embedding_model",
            f"collection {collection.name!r} exists with embedding model {known}, not "
            f"{embedding_model}; drop embedding_model= or use another collection",
        )
    size = collection.dimensions
    if dimensions is not None and size is not None and size != dimensions:
        raise _fail(
            "dimensions",
            f"collection {collection.name!r} exists with {size} dimensions, not "
            f"{dimensions}; drop dimensions= or use another collection",
        )
    return collection


def check_query_options(
    limit: int = 5, threshold: float = 0.0, filter: FilterLike | None = None
) -> VectorFilter | None:
    """Check a search's ``limit``, ``threshold`` and ``filter``; return the compiled filter.

    Adapters call it first, before anything is sent (e.g. before creating their collection).

    Raises:
        QuantValidationError: For a limit outside 1 to 20 or a threshold outside 0 to 1.
        UnsupportedFilterError: For a filter the service cannot express.
    """
    build_query_body(vector=[0.0], limit=limit, threshold=threshold, filter=filter)
    return compile_filter(filter)


def build_delete_body(
    *,
    document_ids: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    metadata_field: str | None = None,
    metadata_values: Sequence[str] | None = None,
    purge_all: bool = False,
) -> dict[str, Any] | None:
    """The body of ``DELETE .../documents`` (one mode), or ``None`` when the list is empty.

    Raises:
        QuantValidationError: For no mode, several modes (their combination is undocumented),
            a document id that is not a uuid, a key over 512 characters, or a metadata delete
            without both field and string values.
    """
    metadata_mode = metadata_field is not None or metadata_values is not None
    modes = [
        name
        for name, on in (
            ("document_ids", document_ids is not None),
            ("keys", keys is not None),
            ("metadata_field", metadata_mode),
            ("purge_all", bool(purge_all)),
        )
        if on
    ]
    if not modes:
        raise _fail(
            "documents",
            "say what to delete: document_ids, keys, metadata_field with metadata_values, "
            "or purge_all=True",
        )
    if len(modes) > 1:
        raise _fail(modes[1], f"give one deletion mode per call, got {' and '.join(modes)}")
    if purge_all:
        if purge_all is not True:
            raise _fail("purgeAll", "must be True")
        return {"purgeAll": True}
    if document_ids is not None:
        ids = _str_list("documentIds", document_ids)
        for i, item in enumerate(ids):
            if not is_uuid(item):
                raise _fail(f"documentIds[{i}]", f"is not a uuid: {item!r}")
        return {"documentIds": ids} if ids else None
    if keys is not None:
        items = _str_list("keys", keys)
        for i, item in enumerate(items):
            check_document_id(item, f"keys[{i}]")
        return {"keys": items} if items else None
    if not isinstance(metadata_field, str) or not metadata_field:
        raise _fail("metadata.field", "name the metadata field to delete by")
    values = _str_list("metadata.values", metadata_values or [])
    if not values:
        raise _fail("metadata.values", "give at least one value (documents matching any go)")
    return {"metadata": {"field": metadata_field, "values": values}}


def _str_list(field: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _fail(field, f"must be a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise _fail(f"{field}[{i}]", f"must be a string, got {item!r}")
    return list(value)


def build_collection_body(
    name: str,
    *,
    embedding_model: str = DEFAULT_EMBEDDING_MODEL,
    dimensions: int | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The body of ``POST collections``."""
    if not isinstance(name, str) or not name.strip():
        raise _fail("name", "a collection needs a non-empty name")
    if is_uuid(name):
        raise _fail("name", "a uuid cannot be a collection name (it reads as a collection id)")
    if not isinstance(embedding_model, str) or not embedding_model:
        raise _fail("embeddingModel", "name the embedding model")
    body: dict[str, Any] = {"name": name, "embeddingModel": embedding_model}
    if dimensions is not None:
        dims = _int_in("dimensions", dimensions, 1, 1 << 16)
        check_dimensions(embedding_model, dims)  # the sizes the model makes (one rule)
        body["dimensions"] = dims
    if description is not None:
        if not isinstance(description, str):
            raise _fail("description", "must be text")
        body["description"] = description
    return body


def plan_batches(wire_documents: Sequence[Mapping[str, Any]], batch_size: int) -> list[bytes]:
    """Serialize upload bodies, each under the 25 MB body limit and ``batch_size`` documents.

    Raises:
        QuantValidationError: When one document alone is over the limit.
    """
    _int_in("batch_size", batch_size, 1, 10_000)
    envelope = len(b'{"documents":[]}')
    bodies: list[bytes] = []
    parts: list[bytes] = []
    size = envelope
    for i, doc in enumerate(wire_documents):
        part = _dumps(doc)
        if envelope + len(part) > MAX_UPLOAD_BYTES:
            raise _fail(
                f"documents[{i}].content",
                f"the document is {len(part) / 1e6:.1f} MB of JSON; a request body is at most "
                f"{MAX_UPLOAD_BYTES / 1e6:.1f} MB (split the text)",
            )
        if parts and (len(parts) >= batch_size or size + len(part) + 1 > MAX_UPLOAD_BYTES):
            bodies.append(b'{"documents":[' + b",".join(parts) + b"]}")
            parts, size = [], envelope
        parts.append(part)
        size += len(part) + 1
    if parts:
        bodies.append(b'{"documents":[' + b",".join(parts) + b"]}")
    for body in bodies:
        v.check_payload_size(body)
    return bodies


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse(model: type[Any], response: httpx.Response) -> Any:
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise QuantAPIError(
            f"unexpected {model.__name__} body: {exc.errors()[0]['msg']}",
            status_code=response.status_code,
            body=response.text[:2000],
        ) from None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise QuantAPIError(
            "the service answered with a body that is not JSON",
            status_code=response.status_code,
            body=response.text[:2000],
        ) from None


def _collection_of(data: Any, response: httpx.Response) -> VectorCollection:
    if isinstance(data, Mapping) and isinstance(data.get("collection"), Mapping):
        data = data["collection"]
    try:
        return VectorCollection.model_validate(data)
    except pydantic.ValidationError as exc:
        raise QuantAPIError(
            f"unexpected collection body: {exc.errors()[0]['msg']}",
            status_code=response.status_code,
            body=response.text[:2000],
        ) from None


def _collections_of(data: Any, response: httpx.Response) -> list[VectorCollection]:
    items = data.get("collections", []) if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise QuantAPIError(
            "unexpected collection list", status_code=response.status_code, body=data
        )
    return [_collection_of(item, response) for item in items]


def _documents_of(data: Any) -> list[StoredDocument]:
    """Documents of a ``GET .../documents`` answer (no schema in the spec: shapes tolerated)."""
    items: Any = data
    if isinstance(data, Mapping):
        for name in ("documents", "items", "results", "data"):
            if isinstance(data.get(name), list):
                items = data[name]
                break
        else:
            items = []
    return [StoredDocument.model_validate(item) for item in items if isinstance(item, Mapping)]


# --------------------------------------------------------------------------- client group


class VectorDB:
    """The vector-database calls of a :class:`~quant_ai.QuantClient` (``client.vector_db``).

    See the module docstring for the rules (ids, filters, limits, batching). Collection names
    resolve to ids once and are cached per client.
    """

    def __init__(self, client: QuantClient) -> None:
        self._client = client
        self._ids: dict[str, str] = {}
        self._info: dict[str, VectorCollection] = {}

    # ------------------------------------------------------------------ plumbing

    def _url(self, collection_id: str | None = None, tail: str = "") -> str:
        path = "/vector-db/collections"
        if collection_id is not None:
            path += "/" + encode_path_segment(collection_id, "collection id")
        return self._client.config.ai_url(path + tail)

    def _send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        *,
        replayable: bool = True,
    ) -> httpx.Response:
        return self._client.transport.request(
            method, url, body=body, params=params, replayable=replayable
        )

    async def _asend(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        *,
        replayable: bool = True,
    ) -> httpx.Response:
        return await self._client.transport.arequest(
            method, url, body=body, params=params, replayable=replayable
        )

    def _cached_id(self, collection: str) -> str | None:
        if not isinstance(collection, str) or not collection:
            raise _fail("collection", f"name or id of a collection, got {collection!r}")
        if is_uuid(collection):
            return collection
        return self._ids.get(collection)

    def _remember(self, collections: Iterable[VectorCollection]) -> None:
        for item in collections:
            if item.name:
                self._ids[item.name] = item.collection_id

    def _unknown(self, collection: str) -> QuantNotFoundError:
        return QuantNotFoundError(
            f"no vector collection named {collection!r} in this organisation (create it with "
            "create_collection() or pass its id)",
            status_code=404,
        )

    def _forget(self, collection_id: str) -> None:
        self._info.pop(collection_id, None)
        for name, cid in list(self._ids.items()):
            if cid == collection_id:
                del self._ids[name]

    # ------------------------------------------------------------------ collections

    def list_collections(self) -> list[VectorCollection]:
        """List the organisation's collections (``GET collections``); refreshes the name cache."""
        response = self._send("GET", self._url())
        items = _collections_of(_json(response), response)
        self._ids.clear()
        self._remember(items)
        return items

    async def alist_collections(self) -> list[VectorCollection]:
        """Async twin of :meth:`list_collections`."""
        response = await self._asend("GET", self._url())
        items = _collections_of(_json(response), response)
        self._ids.clear()
        self._remember(items)
        return items

    def resolve_collection_id(self, collection: str) -> str:
        """The id of a collection given by id (returned as is) or by name (listed once).

        Raises:
            QuantNotFoundError: No collection has that name.
        """
        cached = self._cached_id(collection)
        if cached is not None:
            return cached
        self.list_collections()
        if collection not in self._ids:
            raise self._unknown(collection)
        return self._ids[collection]

    async def aresolve_collection_id(self, collection: str) -> str:
        """Async twin of :meth:`resolve_collection_id`."""
        cached = self._cached_id(collection)
        if cached is not None:
            return cached
        await self.alist_collections()
        if collection not in self._ids:
            raise self._unknown(collection)
        return self._ids[collection]

    def _created(self, response: httpx.Response, body: Mapping[str, Any]) -> VectorCollection:
        made = _collection_of(_json(response), response)
        if made.embedding_model is None:
            made.embedding_model = body["embeddingModel"]
        if made.dimensions is None:
            made.dimensions = body.get("dimensions", 1024)
        if not made.name:
            made.name = body["name"]
        self._ids[made.name] = made.collection_id
        self._info[made.collection_id] = made
        return made

    def create_collection(
        self,
        name: str,
        *,
        embedding_model: str = DEFAULT_EMBEDDING_MODEL,
        dimensions: int | None = None,
        description: str | None = None,
        exist_ok: bool = False,
    ) -> VectorCollection:
        """Create a collection (``POST collections``; names are unique per organisation).

        Args:
            name: The collection's name.
            embedding_model: The model embedding its documents and text queries.
            dimensions: Vector size (the service's default is 1024).
            description: Free text.
            exist_ok: Return the existing collection of that name instead of raising.

        Raises:
            QuantConflictError: The name exists and ``exist_ok`` is False.
        """
        body = build_collection_body(
            name, embedding_model=embedding_model, dimensions=dimensions, description=description
        )
        existing = {c.name: c for c in self.list_collections()}.get(name)
        if existing is not None:
            return self.get_collection(self._exists(existing, exist_ok).collection_id)
        try:
            response = self._send("POST", self._url(), _dumps(body), replayable=False)
        except QuantConflictError:
            if not exist_ok:
                raise
            return self.get_collection(self.resolve_collection_id(name))
        return self._created(response, body)

    async def acreate_collection(
        self,
        name: str,
        *,
        embedding_model: str = DEFAULT_EMBEDDING_MODEL,
        dimensions: int | None = None,
        description: str | None = None,
        exist_ok: bool = False,
    ) -> VectorCollection:
        """Async twin of :meth:`create_collection`."""
        body = build_collection_body(
            name, embedding_model=embedding_model, dimensions=dimensions, description=description
        )
        existing = {c.name: c for c in await self.alist_collections()}.get(name)
        if existing is not None:
            return await self.aget_collection(self._exists(existing, exist_ok).collection_id)
        try:
            response = await self._asend("POST", self._url(), _dumps(body), replayable=False)
        except QuantConflictError:
            if not exist_ok:
                raise
            return await self.aget_collection(await self.aresolve_collection_id(name))
        return self._created(response, body)

    def _exists(self, existing: VectorCollection, exist_ok: bool) -> VectorCollection:
        if not exist_ok:
            raise QuantConflictError(
                f"a vector collection named {existing.name!r} exists "
                f"(id {existing.collection_id}); pass exist_ok=True to use it",
                status_code=409,
            )
        return existing

    def get_collection(self, collection: str) -> VectorCollection:
        """Describe a collection (``GET collections/{id}``); cached for :meth:`collection_info`."""
        cid = self.resolve_collection_id(collection)
        response = self._send("GET", self._url(cid))
        info = _collection_of(_json(response), response)
        self._info[cid] = info
        return info

    async def aget_collection(self, collection: str) -> VectorCollection:
        """Async twin of :meth:`get_collection`."""
        cid = await self.aresolve_collection_id(collection)
        response = await self._asend("GET", self._url(cid))
        info = _collection_of(_json(response), response)
        self._info[cid] = info
        return info

    def collection_info(self, collection: str) -> VectorCollection:
        """The collection's description, read once and cached (model and dimensions)."""
        cid = self.resolve_collection_id(collection)
        return self._info.get(cid) or self.get_collection(cid)

    async def acollection_info(self, collection: str) -> VectorCollection:
        """Async twin of :meth:`collection_info`."""
        cid = await self.aresolve_collection_id(collection)
        return self._info.get(cid) or await self.aget_collection(cid)

    def delete_collection(self, collection: str) -> None:
        """Delete a collection and all its documents (``DELETE collections/{id}``)."""
        cid = self.resolve_collection_id(collection)
        self._send("DELETE", self._url(cid))
        self._forget(cid)

    async def adelete_collection(self, collection: str) -> None:
        """Async twin of :meth:`delete_collection`."""
        cid = await self.aresolve_collection_id(collection)
        await self._asend("DELETE", self._url(cid))
        self._forget(cid)

    # ------------------------------------------------------------------ documents

    @staticmethod
    def _upload_plan(
        documents: Iterable[VectorDocument | Mapping[str, Any] | str], batch_size: int
    ) -> tuple[list[VectorDocument], list[bytes]]:
        if isinstance(documents, (str, bytes, Mapping)):
            raise _fail("documents", "give a list of documents")
        docs = [_as_document(d, i) for i, d in enumerate(documents)]
        wire = [encode_document(d, i) for i, d in enumerate(docs)]
        return docs, plan_batches(wire, batch_size)

    def upload_documents(
        self,
        collection: str,
        documents: Iterable[VectorDocument | Mapping[str, Any] | str],
        *,
        batch_size: int = 100,
    ) -> UploadResult:
        """Upload (upsert by id) documents (``POST .../documents``), in batches.

        Args:
            collection: Collection id or name.
            documents: :class:`VectorDocument`, mappings of its fields (``key`` is read as
                ``id``) or plain texts.
            batch_size: Most documents per request (bodies also stay under 25 MB).

        Returns:
            The service's chunk ids and counts over all batches.
        """
        docs, bodies = self._upload_plan(documents, batch_size)
        result = UploadResult(ids=[d.id for d in docs])
        if not bodies:
            return result
        cid = self.resolve_collection_id(collection)
        replayable = all(d.id is not None for d in docs)
        for body in bodies:
            response = self._send("POST", self._url(cid, "/documents"), body, replayable=replayable)
            self._add_upload(result, _json(response))
        return result

    async def aupload_documents(
        self,
        collection: str,
        documents: Iterable[VectorDocument | Mapping[str, Any] | str],
        *,
        batch_size: int = 100,
    ) -> UploadResult:
        """Async twin of :meth:`upload_documents`."""
        docs, bodies = self._upload_plan(documents, batch_size)
        result = UploadResult(ids=[d.id for d in docs])
        if not bodies:
            return result
        cid = await self.aresolve_collection_id(collection)
        replayable = all(d.id is not None for d in docs)
        for body in bodies:
            response = await self._asend(
                "POST", self._url(cid, "/documents"), body, replayable=replayable
            )
            self._add_upload(result, _json(response))
        return result

    @staticmethod
    def _add_upload(result: UploadResult, data: Any) -> None:
        result.batches += 1
        if isinstance(data, Mapping):
            ids = data.get("documentIds") or []
            result.document_ids.extend(str(i) for i in ids)
            chunks = data.get("chunksCreated")
            result.chunks_created += int(chunks) if isinstance(chunks, int) else len(ids)

    @staticmethod
    def _list_params(key: str | None, limit: int, offset: int) -> dict[str, str]:
        params = {
            "limit": str(_int_in("limit", limit, 1, MAX_LIST_LIMIT)),
            "offset": str(_int_in("offset", offset, 0, 1 << 31)),
        }
        if key is not None:
            params["key"] = check_document_id(key, "key")
        return params

    def list_documents(
        self, collection: str, *, key: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[StoredDocument]:
        """List stored documents (``GET .../documents``), optionally those of one key (id)."""
        params = self._list_params(key, limit, offset)
        cid = self.resolve_collection_id(collection)
        response = self._send("GET", self._url(cid, "/documents"), params=params)
        return _documents_of(_json(response))

    async def alist_documents(
        self, collection: str, *, key: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[StoredDocument]:
        """Async twin of :meth:`list_documents`."""
        params = self._list_params(key, limit, offset)
        cid = await self.aresolve_collection_id(collection)
        response = await self._asend("GET", self._url(cid, "/documents"), params=params)
        return _documents_of(_json(response))

    def get_documents(self, collection: str, ids: Sequence[str]) -> list[StoredDocument]:
        """The documents stored under these caller ids, in the order asked (missing skipped).

        A chunked document gives one entry per chunk.
        """
        out: list[StoredDocument] = []
        for i, item in enumerate(ids):
            check_document_id(item, f"ids[{i}]")
        for item in ids:
            found = self.list_documents(collection, key=item, limit=MAX_LIST_LIMIT)
            out.extend(d for d in found if d.id == item)
        return out

    async def aget_documents(self, collection: str, ids: Sequence[str]) -> list[StoredDocument]:
        """Async twin of :meth:`get_documents` (the look-ups run concurrently)."""
        for i, item in enumerate(ids):
            check_document_id(item, f"ids[{i}]")
        if not ids:
            return []
        await self.aresolve_collection_id(collection)
        pages = await asyncio.gather(
            *(self.alist_documents(collection, key=item, limit=MAX_LIST_LIMIT) for item in ids)
        )
        return [d for item, found in zip(ids, pages, strict=True) for d in found if d.id == item]

    def delete_documents(
        self,
        collection: str,
        *,
        document_ids: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        metadata_field: str | None = None,
        metadata_values: Sequence[str] | None = None,
        purge_all: bool = False,
    ) -> DeleteResult:
        """Delete documents (``DELETE .../documents``) in exactly one mode.

        Args:
            collection: Collection id or name.
            document_ids: The service's chunk ids (uuids).
            keys: Caller ids (sent as keys).
            metadata_field: With ``metadata_values``: delete where the field equals any value.
            metadata_values: The string values of ``metadata_field``.
            purge_all: Delete every document of the collection.

        Returns:
            The count deleted (an empty id list sends nothing and deletes nothing).
        """
        body = build_delete_body(
            document_ids=document_ids,
            keys=keys,
            metadata_field=metadata_field,
            metadata_values=metadata_values,
            purge_all=purge_all,
        )
        if body is None:
            return DeleteResult(deleted_count=0)
        cid = self.resolve_collection_id(collection)
        response = self._send("DELETE", self._url(cid, "/documents"), _dumps(body))
        return _parse(DeleteResult, response)  # type: ignore[no-any-return]

    async def adelete_documents(
        self,
        collection: str,
        *,
        document_ids: Sequence[str] | None = None,
        keys: Sequence[str] | None = None,
        metadata_field: str | None = None,
        metadata_values: Sequence[str] | None = None,
        purge_all: bool = False,
    ) -> DeleteResult:
        """Async twin of :meth:`delete_documents`."""
        body = build_delete_body(
            document_ids=document_ids,
            keys=keys,
            metadata_field=metadata_field,
            metadata_values=metadata_values,
            purge_all=purge_all,
        )
        if body is None:
            return DeleteResult(deleted_count=0)
        cid = await self.aresolve_collection_id(collection)
        response = await self._asend("DELETE", self._url(cid, "/documents"), _dumps(body))
        return _parse(DeleteResult, response)  # type: ignore[no-any-return]

    def delete_matching(self, collection: str, filter: FilterLike) -> DeleteResult:
        """Delete every document a filter matches (listed by metadata, then deleted by id).

        Raises:
            UnsupportedFilterError: For a filter the service cannot express (nothing sent).
        """
        if compile_filter(filter) is None:
            raise _fail("filter", "an empty filter would match everything: use purge_all=True")
        found = self.list_matching(collection, filter)
        ids = sorted({r.document_id for r in found if r.document_id})
        return self.delete_documents(collection, document_ids=ids)

    async def adelete_matching(self, collection: str, filter: FilterLike) -> DeleteResult:
        """Async twin of :meth:`delete_matching`."""
        if compile_filter(filter) is None:
            raise _fail("filter", "an empty filter would match everything: use purge_all=True")
        found = await self.alist_matching(collection, filter)
        ids = sorted({r.document_id for r in found if r.document_id})
        return await self.adelete_documents(collection, document_ids=ids)

    # ------------------------------------------------------------------ search

    def query(
        self,
        collection: str,
        query: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        limit: int = 5,
        threshold: float = 0.0,
        filter: FilterLike | None = None,
        include_embeddings: bool = False,
        list_by_metadata: bool = False,
        cursor: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> VectorQueryResponse:
        """Search a collection (``POST .../query``) by text or vector, or list by metadata.

        Args:
            collection: Collection id or name.
            query: Text of 3 to 1000 characters (embedded by the service).
            vector: A query vector of the collection's size (instead of ``query``).
            limit: Results, 1 to 20 (refused, not clamped, outside).
            threshold: Lowest similarity returned, 0 to 1 (default 0: a plain top-k).
            filter: See :func:`compile_filter`.
            include_embeddings: Return the stored vectors.
            list_by_metadata: List the documents matching ``filter`` (no search).
            cursor: ``next_cursor`` of the previous page (list mode).
            sort_by: ``created_at`` or ``document_id`` (list mode).
            sort_order: ``asc`` or ``desc`` (list mode).

        Returns:
            The results, closest first; reserved metadata stripped and the caller id set.
        """
        body = build_query_body(
            query,
            vector=vector,
            limit=limit,
            threshold=threshold,
            filter=filter,
            include_embeddings=include_embeddings,
            list_by_metadata=list_by_metadata,
            cursor=cursor,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        cid = self.resolve_collection_id(collection)
        response = self._send("POST", self._url(cid, "/query"), _dumps(body))
        return _parse(VectorQueryResponse, response)  # type: ignore[no-any-return]

    async def aquery(
        self,
        collection: str,
        query: str | None = None,
        *,
        vector: Sequence[float] | None = None,
        limit: int = 5,
        threshold: float = 0.0,
        filter: FilterLike | None = None,
        include_embeddings: bool = False,
        list_by_metadata: bool = False,
        cursor: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> VectorQueryResponse:
        """Async twin of :meth:`query`."""
        body = build_query_body(
            query,
            vector=vector,
            limit=limit,
            threshold=threshold,
            filter=filter,
            include_embeddings=include_embeddings,
            list_by_metadata=list_by_metadata,
            cursor=cursor,
            sort_by=sort_by,
            sort_order=sort_order,
        )
        cid = await self.aresolve_collection_id(collection)
        response = await self._asend("POST", self._url(cid, "/query"), _dumps(body))
        return _parse(VectorQueryResponse, response)  # type: ignore[no-any-return]

    def list_matching(
        self, collection: str, filter: FilterLike, *, max_pages: int = 10_000
    ) -> list[VectorSearchResult]:
        """Every document a filter matches: all pages of a metadata listing (20 a page)."""
        out: list[VectorSearchResult] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = self.query(
                collection,
                filter=filter,
                list_by_metadata=True,
                limit=MAX_QUERY_LIMIT,
                cursor=cursor,
            )
            out.extend(page.results)
            if not page.has_more or not page.next_cursor:
                return out
            cursor = page.next_cursor
        raise QuantValidationError(f"more than {max_pages} pages of results; narrow the filter")

    async def alist_matching(
        self, collection: str, filter: FilterLike, *, max_pages: int = 10_000
    ) -> list[VectorSearchResult]:
        """Async twin of :meth:`list_matching`."""
        out: list[VectorSearchResult] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self.aquery(
                collection,
                filter=filter,
                list_by_metadata=True,
                limit=MAX_QUERY_LIMIT,
                cursor=cursor,
            )
            out.extend(page.results)
            if not page.has_more or not page.next_cursor:
                return out
            cursor = page.next_cursor
        raise QuantValidationError(f"more than {max_pages} pages of results; narrow the filter")

    def embed_query(self, collection: str, text: str) -> list[float]:
        """Embed a text with the collection's own model and size (for vector queries)."""
        info = self.collection_info(collection)
        result = self._client.embed(
            text, model_id=info.embedding_model or DEFAULT_EMBEDDING_MODEL, **_dims(info)
        )
        return list(result.embeddings[0])

    async def aembed_query(self, collection: str, text: str) -> list[float]:
        """Async twin of :meth:`embed_query`."""
        info = await self.acollection_info(collection)
        result = await self._client.aembed(
            text, model_id=info.embedding_model or DEFAULT_EMBEDDING_MODEL, **_dims(info)
        )
        return list(result.embeddings[0])

    def search(
        self,
        collection: str,
        text: str,
        *,
        limit: int = 5,
        threshold: float = 0.0,
        filter: FilterLike | None = None,
        include_embeddings: bool = False,
    ) -> VectorQueryResponse:
        """Text search of any length.

        3 to 1000 characters go as text; shorter or longer texts are embedded with the
        collection's model (:meth:`embed_query`) and sent as a vector.
        """
        if MIN_QUERY_CHARS <= len(text) <= MAX_QUERY_CHARS:
            return self.query(
                collection,
                text,
                limit=limit,
                threshold=threshold,
                filter=filter,
                include_embeddings=include_embeddings,
            )
        check_query_options(limit, threshold, filter)
        return self.query(
            collection,
            vector=self.embed_query(collection, text),
            limit=limit,
            threshold=threshold,
            filter=filter,
            include_embeddings=include_embeddings,
        )

    async def asearch(
        self,
        collection: str,
        text: str,
        *,
        limit: int = 5,
        threshold: float = 0.0,
        filter: FilterLike | None = None,
        include_embeddings: bool = False,
    ) -> VectorQueryResponse:
        """Async twin of :meth:`search`."""
        if MIN_QUERY_CHARS <= len(text) <= MAX_QUERY_CHARS:
            return await self.aquery(
                collection,
                text,
                limit=limit,
                threshold=threshold,
                filter=filter,
                include_embeddings=include_embeddings,
            )
        check_query_options(limit, threshold, filter)
        return await self.aquery(
            collection,
            vector=await self.aembed_query(collection, text),
            limit=limit,
            threshold=threshold,
            filter=filter,
            include_embeddings=include_embeddings,
        )


def _dims(info: VectorCollection) -> dict[str, int]:
    if info.dimensions is None or "titan-embed-text-v1" in (info.embedding_model or ""):
        return {}
    return {"dimensions": info.dimensions}
