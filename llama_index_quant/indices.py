"""``QuantIndex``: a Quant AI vector database collection as a LlamaIndex managed index.

A managed index leaves chunking and embedding to the service: documents go up as text, and a
question goes to the service as text. No local embedding model is called, on ingest or on
query (``Settings.embed_model`` is never touched).

When to use which:

- :class:`QuantIndex` when the collection is the index: the least work on your side (no local
  embedding calls, no local docstore), the service chunks and embeds.
- ``VectorStoreIndex`` over :class:`~llama_index_quant.QuantVectorStore` when you want
  LlamaIndex's own pipeline (node parsers, transformations, ``IngestionPipeline``, the
  ``VectorStoreIndex`` API other code expects). ``VectorStoreIndex`` embeds every node locally
  before storing it, which the service does not need: you pay those embedding calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.constants import DEFAULT_SIMILARITY_TOP_K
from llama_index.core.data_structs.data_structs import IndexDict
from llama_index.core.indices.managed.base import BaseManagedIndex
from llama_index.core.ingestion import arun_transformations, run_transformations
from llama_index.core.schema import (
    BaseNode,
    Document,
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    TextNode,
    TransformComponent,
)
from llama_index.core.storage.storage_context import StorageContext
from llama_index.core.vector_stores.types import (
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from quant_ai import QuantValidationError

from .vector_stores import QuantVectorStore

__all__ = ["QuantIndex", "QuantIndexRetriever", "document_to_node"]


def document_to_node(document: Document) -> TextNode:
    """One document as one node (the service chunks it): same id, text and metadata.

    The node's source is the document, so its ``ref_doc_id`` is the document's id and
    ``delete_ref_doc(document.doc_id)`` finds it.
    """
    return TextNode(
        id_=document.doc_id,
        text=document.text,
        metadata=dict(document.metadata),
        excluded_embed_metadata_keys=list(document.excluded_embed_metadata_keys),
        excluded_llm_metadata_keys=list(document.excluded_llm_metadata_keys),
        relationships={NodeRelationship.SOURCE: document.as_related_node_info()},
    )


class QuantIndexRetriever(BaseRetriever):
    """Retrieves from a :class:`QuantIndex` (or any ``QuantVectorStore``) by question text.

    Args:
        vector_store: The store to search.
        similarity_top_k: How many results (1 to 20, the service's limit).
        filters: ``MetadataFilters`` evaluated by the service (EQ, CONTAINS, ANY with AND).
        callback_manager: LlamaIndex callbacks.
    """

    def __init__(
        self,
        vector_store: QuantVectorStore,
        similarity_top_k: int = DEFAULT_SIMILARITY_TOP_K,
        filters: MetadataFilters | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        """Bind the retriever to a store (no I/O)."""
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self._store = vector_store
        self.similarity_top_k = similarity_top_k
        self.filters = filters

    def _query(self, query_bundle: QueryBundle) -> VectorStoreQuery:
        return VectorStoreQuery(
            query_str=query_bundle.query_str,
            similarity_top_k=self.similarity_top_k,
            filters=self.filters,
        )

    @staticmethod
    def _scored(result: Any) -> list[NodeWithScore]:
        nodes = result.nodes or []
        scores = result.similarities or [None] * len(nodes)
        return [NodeWithScore(node=n, score=s) for n, s in zip(nodes, scores, strict=True)]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._scored(self._store.query(self._query(query_bundle)))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return self._scored(await self._store.aquery(self._query(query_bundle)))


class QuantIndex(BaseManagedIndex):
    """A Quant AI vector database collection as a LlamaIndex managed index.

    The service chunks and embeds: :meth:`from_documents` and :meth:`insert` upload each
    document's text and metadata (no local node parsing unless you pass ``transformations``,
    and never a local embedding call), and the retriever sends the question as text. Use it
    when the collection is your index; use ``VectorStoreIndex`` with
    :class:`~llama_index_quant.QuantVectorStore` when you need LlamaIndex's local pipeline
    (it embeds every node locally as well).

    Document ids (``doc_id``), metadata and ``ref_doc_id`` come back on every retrieved node;
    :meth:`delete_ref_doc` removes a document's nodes from later answers.

    Args:
        collection: The collection's name or id (uuid).
        vector_store: A ready :class:`~llama_index_quant.QuantVectorStore` (instead of
            ``collection`` and the connection arguments).
        transformations: Local transformations run on inserted documents (for example a
            ``SentenceSplitter``); none by default, the service chunks.
        **kwargs: Connection fields of the store (``api_key``, ``organization``,
            ``base_url``, ``client``...) and its options (``create_collection``,
            ``embedding_model``, ``dimensions``, ``threshold``).

    Example:
        >>> from llama_index_quant import QuantIndex, QuantLLM
        >>> index = QuantIndex.from_documents(docs, collection="handbook")  # doctest: +SKIP
        >>> engine = index.as_query_engine(llm=QuantLLM(), similarity_top_k=3)  # doctest: +SKIP
        >>> print(engine.query("Who designed Canberra?"))  # doctest: +SKIP
    """

    def __init__(
        self,
        collection: str | None = None,
        *,
        vector_store: QuantVectorStore | None = None,
        nodes: Sequence[BaseNode] | None = None,
        transformations: list[TransformComponent] | None = None,
        callback_manager: CallbackManager | None = None,
        show_progress: bool = False,
        **store_kwargs: Any,
    ) -> None:
        """Bind the index to a collection (no I/O unless ``nodes`` are given)."""
        if vector_store is None:
            if collection is None:
                raise QuantValidationError(
                    "QuantIndex needs collection= (a name or id) or vector_store=",
                    field="collection",
                )
            vector_store = QuantVectorStore(collection, **store_kwargs)
        elif collection is not None or store_kwargs:
            raise QuantValidationError(
                "pass either vector_store= or collection= with connection arguments, not both",
                field="vector_store",
            )
        self._store = vector_store
        super().__init__(
            nodes=None,
            index_struct=IndexDict(index_id=vector_store.collection, summary="Quant collection"),
            storage_context=StorageContext.from_defaults(vector_store=vector_store),
            callback_manager=callback_manager,
            show_progress=show_progress,
        )
        self._transformations = list(transformations or [])
        if nodes:
            self._insert(nodes)

    @property
    def vector_store(self) -> QuantVectorStore:
        """The store the index reads and writes."""
        return self._store

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_documents(
        cls,
        documents: Sequence[Document],
        storage_context: StorageContext | None = None,
        show_progress: bool = False,
        callback_manager: CallbackManager | None = None,
        transformations: list[TransformComponent] | None = None,
        *,
        collection: str | None = None,
        **kwargs: Any,
    ) -> QuantIndex:
        """Upload ``documents`` (text and metadata; the service embeds) and return the index.

        Args:
            documents: The documents.
            storage_context: Only to pass a ``QuantVectorStore`` as its vector store.
            show_progress: Show progress of local transformations.
            callback_manager: LlamaIndex callbacks.
            transformations: Local transformations (none by default: the service chunks).
            collection: The collection's name or id; a named collection is created when
                missing unless ``create_collection=False``.
            **kwargs: Connection arguments and store options (see the class).
        """
        store = kwargs.pop("vector_store", None)
        if storage_context is not None:
            if not isinstance(storage_context.vector_store, QuantVectorStore):
                raise QuantValidationError(
                    "QuantIndex needs a QuantVectorStore in storage_context.vector_store",
                    field="storage_context",
                )
            store = storage_context.vector_store
        index = cls(
            collection,
            vector_store=store,
            transformations=transformations,
            callback_manager=callback_manager,
            show_progress=show_progress,
            **kwargs,
        )
        index.insert_nodes(index._to_nodes(documents))
        return index

    @classmethod
    async def afrom_documents(
        cls,
        documents: Sequence[Document],
        *,
        collection: str | None = None,
        transformations: list[TransformComponent] | None = None,
        **kwargs: Any,
    ) -> QuantIndex:
        """Async :meth:`from_documents`."""
        store = kwargs.pop("vector_store", None)
        index = cls(collection, vector_store=store, transformations=transformations, **kwargs)
        await index.ainsert_nodes(await index._ato_nodes(documents))
        return index

    def _to_nodes(self, documents: Sequence[Document]) -> list[BaseNode]:
        if not self._transformations:
            return [document_to_node(doc) for doc in documents]
        return list(
            run_transformations(
                list(documents), self._transformations, show_progress=self._show_progress
            )
        )

    async def _ato_nodes(self, documents: Sequence[Document]) -> list[BaseNode]:
        if not self._transformations:
            return [document_to_node(doc) for doc in documents]
        return list(
            await arun_transformations(
                list(documents), self._transformations, show_progress=self._show_progress
            )
        )

    # ------------------------------------------------------------------ writing

    def _insert(self, nodes: Sequence[BaseNode], **insert_kwargs: Any) -> None:
        self._store.add(nodes, **insert_kwargs)

    def insert_nodes(self, nodes: Sequence[BaseNode], **insert_kwargs: Any) -> None:
        """Upload nodes as they are (no local docstore: the collection is the store)."""
        with self._callback_manager.as_trace("insert_nodes"):
            self._insert(nodes, **insert_kwargs)

    async def ainsert_nodes(self, nodes: Sequence[BaseNode], **insert_kwargs: Any) -> None:
        """Async :meth:`insert_nodes`."""
        with self._callback_manager.as_trace("ainsert_nodes"):
            await self._store.async_add(nodes, **insert_kwargs)

    def insert(self, document: Document, **insert_kwargs: Any) -> None:
        """Upload one document (after the local transformations, if any)."""
        self.insert_nodes(self._to_nodes([document]), **insert_kwargs)

    async def ainsert(self, document: Document, **insert_kwargs: Any) -> None:
        """Async :meth:`insert`."""
        await self.ainsert_nodes(await self._ato_nodes([document]), **insert_kwargs)

    def delete_ref_doc(
        self, ref_doc_id: str, delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        """Delete the document ``ref_doc_id`` and every node made from it."""
        self._store.delete(ref_doc_id, **delete_kwargs)

    async def adelete_ref_doc(
        self, ref_doc_id: str, delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        """Async :meth:`delete_ref_doc`."""
        await self._store.adelete(ref_doc_id, **delete_kwargs)

    def update_ref_doc(self, document: Document, **update_kwargs: Any) -> None:
        """Replace a document: delete its nodes, then upload it again."""
        self.delete_ref_doc(document.doc_id)
        self.insert(document, **update_kwargs)

    async def aupdate_ref_doc(self, document: Document, **update_kwargs: Any) -> None:
        """Async :meth:`update_ref_doc`."""
        await self.adelete_ref_doc(document.doc_id)
        await self.ainsert(document, **update_kwargs)

    def _delete_node(self, node_id: str, **delete_kwargs: Any) -> None:
        self._store.delete_nodes([node_id], **delete_kwargs)

    def delete_nodes(
        self, node_ids: list[str], delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        """Delete nodes by id (one request)."""
        self._store.delete_nodes(node_ids, **delete_kwargs)

    async def adelete_nodes(
        self, node_ids: list[str], delete_from_docstore: bool = False, **delete_kwargs: Any
    ) -> None:
        """Async :meth:`delete_nodes`."""
        await self._store.adelete_nodes(node_ids, **delete_kwargs)

    # ------------------------------------------------------------------ reading

    def as_retriever(
        self,
        similarity_top_k: int = DEFAULT_SIMILARITY_TOP_K,
        filters: MetadataFilters | None = None,
        **kwargs: Any,
    ) -> BaseRetriever:
        """A retriever that sends the question to the service as text.

        ``as_query_engine`` and ``as_chat_engine`` pass their own options here too (that is how
        LlamaIndex shares them), so options of the engines are left to the engines; options of
        ``VectorIndexRetriever`` this service cannot honour (query modes, ``doc_ids``,
        ``node_ids``, hybrid search, a local ``embed_model``...) are refused.

        Args:
            similarity_top_k: How many results (1 to 20, the service's limit).
            filters: ``MetadataFilters`` (EQ, CONTAINS, ANY joined by AND).
            **kwargs: ``callback_manager``, ``verbose`` and the engines' options.
        """
        refused = sorted(set(kwargs) & _UNSUPPORTED_RETRIEVER_OPTIONS)
        mode = kwargs.get("vector_store_query_mode")
        if mode is not None and VectorStoreQueryMode(mode) == VectorStoreQueryMode.DEFAULT:
            refused.remove("vector_store_query_mode")
        if refused:
            raise QuantValidationError(
                f"QuantIndex.as_retriever does not support {', '.join(refused)}",
                field=refused[0],
            )
        return QuantIndexRetriever(
            self._store,
            similarity_top_k=similarity_top_k,
            filters=filters,
            callback_manager=kwargs.get("callback_manager") or self._callback_manager,
            verbose=bool(kwargs.get("verbose", False)),
        )


_UNSUPPORTED_RETRIEVER_OPTIONS = frozenset(
    {
        "vector_store_query_mode",
        "alpha",
        "node_ids",
        "doc_ids",
        "sparse_top_k",
        "hybrid_top_k",
        "embed_model",
        "vector_store_kwargs",
        "object_map",
    }
)
