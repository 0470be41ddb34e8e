"""``QuantVectorStore``: a Quant AI vector database collection as a LlamaIndex vector store.

The service embeds what it stores and what it is asked (``is_embedding_query=False``): the
store sends node text and receives node text (``stores_text=True``). Ids, metadata and filters
follow the core's rules (:mod:`quant_ai` vector-db client and ``compile_filter``); this module
only turns LlamaIndex nodes, queries and ``MetadataFilters`` into them and back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from quant_ai import (
    Condition,
    QuantValidationError,
    UnsupportedFilterError,
    VectorDocument,
    VectorFilter,
    VectorQueryResponse,
    VectorSearchResult,
    compile_filter,
)
from quant_ai.vector_db import (
    DEFAULT_EMBEDDING_MODEL,
    check_collection_matches,
    check_query_options,
    is_uuid,
)

from ._client import QuantClientMixin

__all__ = [
    "QuantVectorStore",
    "compile_metadata_filters",
    "filters_to_conditions",
    "node_to_document",
    "result_to_node",
]

REF_DOC_FIELD = "ref_doc_id"
"""The metadata field that ``delete(ref_doc_id)`` matches (LlamaIndex's own convention)."""


# ----------------------------------------------------------------------------- pure functions

# LlamaIndex operators with a neutral equivalent in the core (``Condition.op``); the others go
# through as their own value, so that the core's compiler decides (and refuses them).
_NEUTRAL_OPS = {
    FilterOperator.EQ: "eq",
    FilterOperator.CONTAINS: "contains",
    FilterOperator.ANY: "contains",
}
_SUPPORTED = "supported: EQ, CONTAINS (one string), ANY (a list of strings), joined by AND"


def filters_to_conditions(filters: MetadataFilters | None) -> list[Condition]:
    """LlamaIndex ``MetadataFilters`` as the core's neutral conditions (all must hold).

    ``EQ`` is an equality, ``CONTAINS`` (one string) and ``ANY`` (a list of strings) "the
    list field holds any of these"; nested filters joined by ``AND`` flatten into the list.
    Other operators go through as they are, for :func:`quant_ai.compile_filter` to refuse.

    Raises:
        UnsupportedFilterError: For ``OR`` or ``NOT``, which the neutral form cannot hold.
    """
    if filters is None:
        return []
    condition = filters.condition or FilterCondition.AND
    if condition != FilterCondition.AND:
        raise UnsupportedFilterError(
            f"filters: condition {condition.name} ({condition.value!r}) is not supported by the "
            f"Quant vector database; {_SUPPORTED}",
            field="filters.condition",
            operator=condition.value,
        )
    out: list[Condition] = []
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            out.extend(filters_to_conditions(item))
        else:
            op = _NEUTRAL_OPS.get(item.operator, item.operator.value)
            out.append(Condition(item.key, op, item.value))
    return out


def compile_metadata_filters(filters: MetadataFilters | None) -> VectorFilter | None:
    """The service filter for LlamaIndex ``MetadataFilters`` (compiled by the core), or None.

    Raises:
        UnsupportedFilterError: For an operator or condition the service cannot evaluate,
            naming it as LlamaIndex does (``FilterOperator.GT ('>') on 'year'``); nothing is
            dropped or evaluated locally.
    """
    conditions = filters_to_conditions(filters)
    try:
        return compile_filter(conditions)
    except UnsupportedFilterError as exc:
        op = _LLAMA_OPS.get(exc.operator or "")
        if op is None:
            raise
        field = (exc.field or "filter").removeprefix("filter.")
        raise UnsupportedFilterError(
            f"filters: FilterOperator.{op.name} ({op.value!r}) on {field!r} is not supported by "
            f"the Quant vector database; {_SUPPORTED}",
            field=f"filters.{field}",
            operator=op.value,
        ) from None


_LLAMA_OPS = {op.value: op for op in FilterOperator if op not in _NEUTRAL_OPS}


def node_to_document(node: BaseNode) -> VectorDocument:
    """A LlamaIndex node as the core's document: its text, its id and its metadata.

    The metadata carries the node (without text and embedding) the way every LlamaIndex
    store keeps it (``node_to_metadata_dict``), so ids, ``ref_doc_id``, relationships and
    metadata types come back unchanged from a search.
    """
    return VectorDocument(
        id=node.node_id,
        content=node.get_content(metadata_mode=MetadataMode.NONE),
        metadata=node_to_metadata_dict(node, remove_text=True, flat_metadata=False),
    )


def result_to_node(content: str, metadata: dict[str, Any], node_id: str | None) -> BaseNode:
    """A search result (or listed document) as the node it was stored from.

    A document another client stored (no node in its metadata) becomes a ``TextNode`` with
    its metadata as is and the caller id the core gave back as its id.
    """
    if "_node_content" in metadata:
        return metadata_dict_to_node(metadata, text=content)
    kwargs: dict[str, Any] = {"text": content, "metadata": dict(metadata)}
    if node_id:
        kwargs["id_"] = node_id
    return TextNode(**kwargs)


def _check_query(query: VectorStoreQuery) -> None:
    if query.mode != VectorStoreQueryMode.DEFAULT:
        raise QuantValidationError(
            f"query mode {query.mode.value!r} is not supported by the Quant vector database "
            "(only 'default' similarity search)",
            field="mode",
        )
    for name in ("doc_ids", "node_ids", "output_fields", "embedding_field", "alpha"):
        # VectorIndexRetriever sends node_ids=[] (its index struct is empty when the store
        # keeps text): only a non-empty restriction is refused.
        if getattr(query, name) not in (None, []):
            raise QuantValidationError(
                f"{name} is not supported by QuantVectorStore.query; use filters",
                field=name,
            )
    if query.query_str is None and query.query_embedding is None:
        raise QuantValidationError("a query needs query_str or query_embedding", field="query")


# ----------------------------------------------------------------------------- the store


class QuantVectorStore(QuantClientMixin, BasePydanticVectorStore):
    """A Quant AI vector database collection as a LlamaIndex vector store.

    The service embeds both the stored text and the query, so this store sends and receives
    text (``stores_text=True``, ``is_embedding_query=False``: a retriever passes the question
    itself, not a local vector). ``VectorStoreIndex`` still embeds nodes locally before it
    calls :meth:`add` (that is how it works for every store); the vectors are not sent. When
    you do not need LlamaIndex's local pipeline, :class:`~llama_index_quant.QuantIndex` (a
    managed index) uploads text only and skips local embedding altogether.

    Node ids are sent as the document ``key`` (re-adding an id replaces it) and, with
    ``ref_doc_id``, relationships and metadata, come back unchanged on every result. The
    service may split a long text into chunks: each chunk comes back as a node with the
    node's id and metadata and the chunk's text. Unknown constructor arguments are refused.
    ``MetadataFilters`` with ``EQ``, ``CONTAINS`` and ``ANY`` joined by ``AND`` run on the
    service; any other operator or condition raises ``quant_ai.UnsupportedFilterError`` (a
    ``ValueError``) naming it, before anything is sent. Questions of any length work (outside
    the service's 3 to 1,000 characters the core embeds them with the collection's model);
    ``similarity_top_k`` is 1 to 20. Every method has a native async twin.

    Args:
        collection: The collection's name or id (uuid). A name is resolved once, by listing.
        create_collection: Create the collection (by name) on first use when it does not
            exist (default; as ``langchain_quant.QuantVectorStore``).
        embedding_model: The collection's embedding model when it is created.
        dimensions: The collection's vector size when it is created (default: the service's).
        threshold: Smallest similarity returned (default 0: a plain top-k).
        client: A shared :class:`~quant_ai.QuantClient` (else one is made from the
            connection arguments of ``QuantClientMixin``: ``api_key``, ``organization``,
            ``base_url``, ``default_headers``, ``http_client``...).

    Example:
        >>> from llama_index.core import StorageContext, VectorStoreIndex
        >>> from llama_index_quant import QuantVectorStore
        >>> store = QuantVectorStore(collection="handbook")  # no I/O here
        >>> ctx = StorageContext.from_defaults(vector_store=store)
        >>> index = VectorStoreIndex.from_documents(docs, storage_context=ctx)  # doctest: +SKIP
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    stores_text: bool = True
    is_embedding_query: bool = False

    collection: str = Field(description="The collection's name or id (uuid).")
    create_collection: bool = Field(
        default=True, description="Create the (named) collection on first use when missing."
    )
    embedding_model: str = Field(
        default=DEFAULT_EMBEDDING_MODEL, description="Embedding model of a created collection."
    )
    dimensions: int | None = Field(
        default=None, gt=0, description="Vector size of a created collection."
    )
    threshold: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Smallest similarity returned (0: top-k)."
    )

    _collection_id: str | None = PrivateAttr(default=None)

    def __init__(self, collection: str, **kwargs: Any) -> None:
        """Describe the store (no I/O: the collection is looked up on first use).

        Args:
            collection: The collection's name or id (uuid).
            **kwargs: The other fields (``create_collection``, ``threshold``...) and the
                connection arguments (``api_key``, ``client``, ``http_client``,
                ``async_http_client``, ``default_headers``...; see ``QuantClientMixin``).
        """
        super().__init__(collection=collection, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        """The name used in serialization and instrumentation."""
        return "QuantVectorStore"

    # ------------------------------------------------------------------ collection

    def _create(self) -> dict[str, Any]:
        return {
            "embedding_model": self.embedding_model,
            "dimensions": self.dimensions,
            "exist_ok": True,
        }

    def _asked(self) -> dict[str, Any]:
        """What the caller set of the collection's model and size (checked on an existing one)."""
        fields = ("embedding_model", "dimensions")
        return {k: getattr(self, k) for k in fields if k in self.model_fields_set}

    @property
    def collection_id(self) -> str:
        """The collection's id (looked up, or created, on first use)."""
        if self._collection_id is None:
            vdb = self.client.vector_db
            if self.create_collection and not is_uuid(self.collection):
                made = vdb.create_collection(self.collection, **self._create())
                self._collection_id = check_collection_matches(made, **self._asked()).collection_id
            else:
                self._collection_id = vdb.resolve_collection_id(self.collection)
        return self._collection_id

    async def acollection_id(self) -> str:
        """The collection's id, looked up (or created) without blocking the event loop."""
        if self._collection_id is None:
            vdb = self.client.vector_db
            if self.create_collection and not is_uuid(self.collection):
                made = await vdb.acreate_collection(self.collection, **self._create())
                self._collection_id = check_collection_matches(made, **self._asked()).collection_id
            else:
                self._collection_id = await vdb.aresolve_collection_id(self.collection)
        return self._collection_id

    # ------------------------------------------------------------------ add

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Upload the nodes' text and metadata (embeddings are not sent: the service embeds).

        Returns:
            The node ids, in order.
        """
        _no_kwargs("add", add_kwargs)
        docs = [node_to_document(node) for node in nodes]
        if docs:
            self.client.vector_db.upload_documents(self.collection_id, docs)
        return [node.node_id for node in nodes]

    async def async_add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        """Async :meth:`add`."""
        _no_kwargs("async_add", add_kwargs)
        docs = [node_to_document(node) for node in nodes]
        if docs:
            await self.client.vector_db.aupload_documents(await self.acollection_id(), docs)
        return [node.node_id for node in nodes]

    # ------------------------------------------------------------------ query

    def _query_kwargs(self, query: VectorStoreQuery) -> dict[str, Any]:
        _check_query(query)
        compiled = compile_metadata_filters(query.filters)
        # refused before anything is sent, the collection's look-up or creation included
        check_query_options(query.similarity_top_k, self.threshold, compiled)
        return {"limit": query.similarity_top_k, "threshold": self.threshold, "filter": compiled}

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Search the collection with the query text (or vector), top-k and filters.

        Text of any length works: 3 to 1,000 characters go to the service as text, shorter or
        longer text is embedded with the collection's own model and sent as a vector (the
        core's ``search``).

        Raises:
            UnsupportedFilterError: For a filter the service cannot evaluate (nothing sent).
            QuantValidationError: For a query mode or option the service lacks, or a top-k
                outside 1 to 20.
        """
        _no_kwargs("query", kwargs)
        options = self._query_kwargs(query)
        vdb = self.client.vector_db
        if query.query_str is not None:
            answer = vdb.search(self.collection_id, query.query_str, **options)
        else:
            answer = vdb.query(self.collection_id, vector=query.query_embedding, **options)
        return _to_result(answer)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Async :meth:`query`."""
        _no_kwargs("aquery", kwargs)
        options = self._query_kwargs(query)
        vdb = self.client.vector_db
        cid = await self.acollection_id()
        if query.query_str is not None:
            answer = await vdb.asearch(cid, query.query_str, **options)
        else:
            answer = await vdb.aquery(cid, vector=query.query_embedding, **options)
        return _to_result(answer)

    # ------------------------------------------------------------------ delete

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node of the source document ``ref_doc_id``."""
        _no_kwargs("delete", delete_kwargs)
        self.client.vector_db.delete_documents(
            self.collection_id, metadata_field=REF_DOC_FIELD, metadata_values=[ref_doc_id]
        )

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Async :meth:`delete`."""
        _no_kwargs("adelete", delete_kwargs)
        await self.client.vector_db.adelete_documents(
            await self.acollection_id(), metadata_field=REF_DOC_FIELD, metadata_values=[ref_doc_id]
        )

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete nodes by id, by filters, or the nodes of ``node_ids`` the filters match.

        Deleting ids that are not stored is not an error. With neither argument nothing is
        deleted (use :meth:`clear` to empty the collection).
        """
        _no_kwargs("delete_nodes", delete_kwargs)
        compiled = compile_metadata_filters(filters)
        vdb = self.client.vector_db
        cid = self.collection_id
        if compiled is None:
            if node_ids:
                vdb.delete_documents(cid, keys=list(node_ids))
            return
        if node_ids is None:
            vdb.delete_matching(cid, compiled)
            return
        chunks = _chunk_ids(vdb.list_matching(cid, compiled), node_ids)
        if chunks:
            vdb.delete_documents(cid, document_ids=chunks)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Async :meth:`delete_nodes`."""
        _no_kwargs("adelete_nodes", delete_kwargs)
        compiled = compile_metadata_filters(filters)
        vdb = self.client.vector_db
        cid = await self.acollection_id()
        if compiled is None:
            if node_ids:
                await vdb.adelete_documents(cid, keys=list(node_ids))
            return
        if node_ids is None:
            await vdb.adelete_matching(cid, compiled)
            return
        chunks = _chunk_ids(await vdb.alist_matching(cid, compiled), node_ids)
        if chunks:
            await vdb.adelete_documents(cid, document_ids=chunks)

    def clear(self) -> None:
        """Delete every document of the collection (the collection itself stays)."""
        self.client.vector_db.delete_documents(self.collection_id, purge_all=True)

    async def aclear(self) -> None:
        """Async :meth:`clear`."""
        await self.client.vector_db.adelete_documents(await self.acollection_id(), purge_all=True)

    # ------------------------------------------------------------------ get

    def get_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """The stored nodes with these ids, matching these filters, or both.

        With neither, every node of the collection (listed page by page).
        """
        compiled = compile_metadata_filters(filters)
        vdb = self.client.vector_db
        cid = self.collection_id
        if compiled is not None:
            found: Sequence[VectorSearchResult] = vdb.list_matching(cid, compiled)
        elif node_ids is not None:
            found = vdb.get_documents(cid, node_ids)
        else:
            found = _all_documents(
                lambda offset: vdb.list_documents(cid, limit=_PAGE, offset=offset)
            )
        return _nodes(found, node_ids if compiled is not None else None)

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """Async :meth:`get_nodes`."""
        compiled = compile_metadata_filters(filters)
        vdb = self.client.vector_db
        cid = await self.acollection_id()
        if compiled is not None:
            found: Sequence[VectorSearchResult] = await vdb.alist_matching(cid, compiled)
        elif node_ids is not None:
            found = await vdb.aget_documents(cid, node_ids)
        else:
            found = []
            while True:
                page = await vdb.alist_documents(cid, limit=_PAGE, offset=len(found))
                found.extend(page)
                if len(page) < _PAGE:
                    break
        return _nodes(found, node_ids if compiled is not None else None)


_PAGE = 100  # the most GET .../documents returns per page


def _all_documents(read: Callable[[int], Sequence[VectorSearchResult]]) -> list[VectorSearchResult]:
    found: list[VectorSearchResult] = []
    while True:
        page = read(len(found))
        found.extend(page)
        if len(page) < _PAGE:
            return found


def _nodes(found: Sequence[VectorSearchResult], only: Sequence[str] | None) -> list[BaseNode]:
    wanted = None if only is None else set(only)
    return [
        result_to_node(r.content, r.metadata, r.id)
        for r in found
        if wanted is None or r.id in wanted
    ]


def _chunk_ids(found: Sequence[VectorSearchResult], node_ids: Sequence[str]) -> list[str]:
    """The service's ids of the chunks of ``node_ids`` among ``found``."""
    wanted = set(node_ids)
    return sorted({r.document_id for r in found if r.id in wanted and r.document_id})


def _to_result(answer: VectorQueryResponse) -> VectorStoreQueryResult:
    nodes = [result_to_node(r.content, r.metadata, r.id) for r in answer.results]
    return VectorStoreQueryResult(
        nodes=nodes,
        similarities=[r.similarity for r in answer.results],
        ids=[node.node_id for node in nodes],
    )


def _no_kwargs(method: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise QuantValidationError(
            f"QuantVectorStore.{method} does not take {names}", field=sorted(kwargs)[0]
        )
