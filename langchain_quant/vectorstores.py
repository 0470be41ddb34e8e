"""``QuantVectorStore``: Quant's managed vector database as a LangChain ``VectorStore``."""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance
from pydantic import ConfigDict, PrivateAttr

from langchain_quant._client import QuantConnection
from langchain_quant.errors import langchain_errors
from quant_ai import VectorDB, VectorDocument, VectorQueryResponse, VectorSearchResult
from quant_ai.vector_db import (
    DEFAULT_EMBEDDING_MODEL,
    MAX_QUERY_LIMIT,
    check_collection_matches,
    check_query_options,
    compile_filter,
    is_uuid,
)

__all__ = ["QuantVectorStore", "result_to_document"]


def result_to_document(result: VectorSearchResult) -> Document:
    """A search hit or stored document as a LangChain ``Document`` with its ``id`` set.

    The metadata is as stored (the core has already removed the reserved names).
    """
    return Document(
        page_content=result.content,
        metadata=dict(result.metadata),
        id=result.id or result.document_id,
    )


def _new_id() -> str:
    """A new document id (a uuid4)."""
    return str(uuid.uuid4())


def _pairs(response: VectorQueryResponse) -> list[tuple[Document, float]]:
    return [(result_to_document(r), r.similarity) for r in response.results]


F = TypeVar("F", bound=Callable[..., Any])


def _mapped(method: F) -> F:
    """Run a method (sync or async) inside ``langchain_errors()``.

    Core errors are re-raised as their LangChain duals, as every class of the package does.
    """
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def amapped(*args: Any, **kwargs: Any) -> Any:
            with langchain_errors():
                return await method(*args, **kwargs)

        return amapped  # type: ignore[return-value]

    @functools.wraps(method)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        with langchain_errors():
            return method(*args, **kwargs)

    return mapped  # type: ignore[return-value]


def _refuse_kwargs(method: str, kwargs: dict[str, Any]) -> None:
    if kwargs:
        names = ", ".join(sorted(kwargs))
        raise TypeError(f"QuantVectorStore.{method}() got unsupported arguments: {names}")


class QuantVectorStore(QuantConnection, VectorStore):
    """Quant's managed vector database (a collection) as a LangChain vector store.

    The service embeds documents and text queries itself with the collection's
    ``embedding_model``, so no ``Embeddings`` object is used: :attr:`embeddings` is ``None``
    (as for Vectara) and ``from_texts`` takes ``embedding=None``. Service errors are raised as
    ``langchain_quant.errors`` classes (both the core error and LangChain's, as for
    ``ChatQuant``); refusals before sending are the core's ``ValueError`` subclasses. Queries
    shorter than 3 or longer than 1,000 characters (the service's text limits) are embedded
    with the collection's own model through ``/ai/embeddings`` and sent as vectors.

    Setup:
        Install ``quant-ai[langchain]`` and set ``QUANT_API_KEY`` and ``QUANT_ORGANIZATION``.

        ```bash
        pip install -U "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args — indexing params:
        collection: str
            Collection name or id. A name is resolved by listing the collections once.
        create_collection: bool
            Create the collection (by name) on first use when it does not exist (default).
        embedding_model: str
            Embedding model of a collection this store creates.
        dimensions: int | None
            Vector size of a collection this store creates (service default 1024).

    Key init args — client params:
        api_key, organization, base_url, timeout, connect_timeout, max_retries,
        default_headers, allow_insecure_http, http_client, async_http_client, client:
            as for ``ChatQuant``.

    Instantiate:
        ```python
        from langchain_quant import QuantVectorStore

        store = QuantVectorStore(collection="handbook")
        ```

    Add Documents:
        ```python
        from langchain_core.documents import Document

        store.add_documents(
            [Document(page_content="Leave is 25 days a year.", metadata={"topic": "hr"})],
            ids=["leave"],
        )
        ```

    Delete Documents:
        ```python
        store.delete(ids=["leave"])          # by id (missing ids are fine)
        store.delete(filter={"topic": "hr"}) # every document a filter matches
        store.delete(delete_all=True)        # everything; a bare delete() refuses
        ```

    Search:
        ```python
        store.similarity_search("How much leave?", k=2, filter={"topic": "hr"})
        ```

    Search with score:
        ```python
        store.similarity_search_with_score("How much leave?", k=2)
        # [(Document(id='leave', ...), 0.81)]  cosine similarity, 0 to 1, higher is closer
        ```

    Async:
        ```python
        await store.aadd_documents(docs)
        await store.asimilarity_search("How much leave?", k=2)
        ```

    Use as Retriever:
        ```python
        retriever = store.as_retriever(search_kwargs={"k": 3})
        retriever.invoke("How much leave?")
        ```

    Filters (``filter=``): equality (``{"f": v}``, ``{"f": {"$eq": v}}``), ``$and`` of
    equalities, and ``{"tags": {"$contains": "x" or ["x", "y"]}}`` (a list field holding any
    of the values). Other operators (``$ne``, ``$gt``, ``$in`` of several values, ``$or``...)
    raise ``quant_ai.UnsupportedFilterError`` (a ``ValueError``) before any request: a filter
    is never dropped. ``k`` is at most 20 (the service's limit; larger is an error).

    Ids: ``ids=`` win, else ``Document.id``, else new uuids. Adding an id again replaces the
    document. The id travels as the service's ``key`` and in the metadata under
    ``_quant_id``, which is removed on the way back, so metadata round-trips exactly; metadata
    names starting with ``_quant_`` are refused. The service may split long documents into
    chunks: each chunk comes back as its own ``Document`` with the same id.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    collection: str
    """Collection name or id."""
    create_collection: bool = True
    """Create the (named) collection on first use when it does not exist."""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    """Embedding model of a collection created by this store."""
    dimensions: int | None = None
    """Vector size of a collection created by this store (None: the service's 1024)."""
    batch_size: int = 100
    """Documents per upload request (requests also stay under the 25 MB body limit)."""

    _collection_id: str | None = PrivateAttr(default=None)

    def __init__(self, collection: str | None = None, **kwargs: Any) -> None:
        if collection is not None:
            kwargs["collection"] = collection
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ plumbing

    @property
    def embeddings(self) -> Embeddings | None:
        """None: the service embeds server-side with the collection's ``embedding_model``."""
        return None

    @property
    def vector_db(self) -> VectorDB:
        """The core's vector-database calls (``quant_ai.VectorDB``)."""
        return self.quant_client.vector_db

    def _asked(self) -> dict[str, Any]:
        """What the caller set of the collection's model and size (checked on an existing one)."""
        return {
            k: getattr(self, k)
            for k in ("embedding_model", "dimensions")
            if k in self.model_fields_set
        }

    def _cid(self) -> str:
        if self._collection_id is None:
            if self.create_collection and not is_uuid(self.collection):
                made = self.vector_db.create_collection(
                    self.collection,
                    embedding_model=self.embedding_model,
                    dimensions=self.dimensions,
                    exist_ok=True,
                )
                check_collection_matches(made, **self._asked())
                self._collection_id = made.collection_id
            else:
                self._collection_id = self.vector_db.resolve_collection_id(self.collection)
        return self._collection_id

    async def _acid(self) -> str:
        if self._collection_id is None:
            if self.create_collection and not is_uuid(self.collection):
                made = await self.vector_db.acreate_collection(
                    self.collection,
                    embedding_model=self.embedding_model,
                    dimensions=self.dimensions,
                    exist_ok=True,
                )
                check_collection_matches(made, **self._asked())
                self._collection_id = made.collection_id
            else:
                self._collection_id = await self.vector_db.aresolve_collection_id(self.collection)
        return self._collection_id

    @staticmethod
    def _documents(
        texts: Iterable[str],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
    ) -> list[VectorDocument]:
        items = list(texts)
        if metadatas is not None and len(metadatas) != len(items):
            raise ValueError(f"{len(metadatas)} metadatas for {len(items)} texts")
        if ids is not None and len(ids) != len(items):
            raise ValueError(f"{len(ids)} ids for {len(items)} texts")
        return [
            VectorDocument(
                content=text,
                id=(ids[i] if ids is not None else None) or _new_id(),
                metadata=dict(metadatas[i]) if metadatas is not None else {},
            )
            for i, text in enumerate(items)
        ]

    def _batch_size(self, kwargs: dict[str, Any]) -> int:
        value = kwargs.pop("batch_size", None)
        return self.batch_size if value is None else int(value)

    # ------------------------------------------------------------------ writing

    @_mapped
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Upload texts (upsert by id); return their ids.

        Args:
            texts: The texts.
            metadatas: One metadata dict per text.
            ids: One id per text (None entries get new uuids).
            **kwargs: ``batch_size`` (documents per request).
        """
        batch_size = self._batch_size(kwargs)
        _refuse_kwargs("add_texts", kwargs)
        docs = self._documents(texts, metadatas, ids)
        if docs:
            self.vector_db.upload_documents(self._cid(), docs, batch_size=batch_size)
        return [str(d.id) for d in docs]

    @_mapped
    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Async twin of :meth:`add_texts`."""
        batch_size = self._batch_size(kwargs)
        _refuse_kwargs("aadd_texts", kwargs)
        docs = self._documents(texts, metadatas, ids)
        if docs:
            await self.vector_db.aupload_documents(await self._acid(), docs, batch_size=batch_size)
        return [str(d.id) for d in docs]

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Upload documents (ids from ``ids=``, else ``Document.id``, else new uuids)."""
        ids = kwargs.pop("ids", None)
        return self.add_texts(
            [d.page_content for d in documents],
            [d.metadata for d in documents],
            ids=ids if ids is not None else [d.id or "" for d in documents],
            **kwargs,
        )

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Async twin of :meth:`add_documents`."""
        ids = kwargs.pop("ids", None)
        return await self.aadd_texts(
            [d.page_content for d in documents],
            [d.metadata for d in documents],
            ids=ids if ids is not None else [d.id or "" for d in documents],
            **kwargs,
        )

    @_mapped
    def delete(
        self,
        ids: list[str] | None = None,
        *,
        filter: dict[str, Any] | None = None,
        delete_all: bool = False,
        **kwargs: Any,
    ) -> bool:
        """Delete by ids, by filter, or everything (``delete_all=True``); exactly one.

        Missing ids are not an error. A bare ``delete()`` refuses (it would be ambiguous).

        Returns:
            True.
        """
        _refuse_kwargs("delete", kwargs)
        mode = self._delete_mode(ids, filter, delete_all)
        cid = self._cid()
        if mode == "ids":
            self.vector_db.delete_documents(cid, keys=list(ids or []))
        elif mode == "filter":
            self.vector_db.delete_matching(cid, filter or {})
        else:
            self.vector_db.delete_documents(cid, purge_all=True)
        return True

    @_mapped
    async def adelete(
        self,
        ids: list[str] | None = None,
        *,
        filter: dict[str, Any] | None = None,
        delete_all: bool = False,
        **kwargs: Any,
    ) -> bool:
        """Async twin of :meth:`delete`."""
        _refuse_kwargs("adelete", kwargs)
        mode = self._delete_mode(ids, filter, delete_all)
        cid = await self._acid()
        if mode == "ids":
            await self.vector_db.adelete_documents(cid, keys=list(ids or []))
        elif mode == "filter":
            await self.vector_db.adelete_matching(cid, filter or {})
        else:
            await self.vector_db.adelete_documents(cid, purge_all=True)
        return True

    @staticmethod
    def _delete_mode(ids: list[str] | None, filter: Any, delete_all: bool) -> str:
        modes = [
            name for name, on in (("ids", ids is not None), ("filter", filter is not None)) if on
        ] + (["delete_all"] if delete_all else [])
        if filter is not None:
            compile_filter(filter)  # refused before anything is sent
        if not modes:
            raise ValueError(
                "delete() needs ids=, filter= or delete_all=True (a bare delete() would be "
                "ambiguous)"
            )
        if len(modes) > 1:
            raise ValueError(f"delete() takes one of ids, filter, delete_all; got {modes}")
        return modes[0]

    # ------------------------------------------------------------------ reading

    @_mapped
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """The documents stored under these ids (missing ids are skipped)."""
        found = self.vector_db.get_documents(self._cid(), list(ids))
        return [result_to_document(d) for d in found]

    @_mapped
    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Async twin of :meth:`get_by_ids`."""
        found = await self.vector_db.aget_documents(await self._acid(), list(ids))
        return [result_to_document(d) for d in found]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` (at most 20) documents closest to ``query``."""
        return [d for d, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search`."""
        pairs = await self.asimilarity_search_with_score(query, k, filter, **kwargs)
        return [d for d, _ in pairs]

    @_mapped
    def similarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: dict[str, Any] | None = None,
        *,
        score_threshold: float | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """Documents with their cosine similarity (0 to 1, higher is closer).

        Args:
            query: Any text (outside 3 to 1,000 characters it is embedded and sent as a vector).
            k: Results, 1 to 20.
            filter: See the class docstring.
            score_threshold: Lowest similarity returned (the service filters).
            **kwargs: None accepted (an unknown argument is a ``TypeError``).
        """
        _refuse_kwargs("similarity_search_with_score", kwargs)
        flt = check_query_options(k, score_threshold or 0.0, filter)
        response = self.vector_db.search(
            self._cid(), query, limit=k, threshold=score_threshold or 0.0, filter=flt
        )
        return _pairs(response)

    @_mapped
    async def asimilarity_search_with_score(
        self,
        query: str,
        k: int = 4,
        filter: dict[str, Any] | None = None,
        *,
        score_threshold: float | None = None,
        **kwargs: Any,
    ) -> list[tuple[Document, float]]:
        """Async twin of :meth:`similarity_search_with_score`."""
        _refuse_kwargs("asimilarity_search_with_score", kwargs)
        flt = check_query_options(k, score_threshold or 0.0, filter)
        response = await self.vector_db.asearch(
            await self._acid(), query, limit=k, threshold=score_threshold or 0.0, filter=flt
        )
        return _pairs(response)

    def _select_relevance_score_fn(self) -> Any:
        """Scores are already relevance scores (cosine similarity, 0 to 1)."""
        return lambda score: score

    @_mapped
    def similarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """The ``k`` documents closest to a vector of the collection's size."""
        _refuse_kwargs("similarity_search_by_vector", kwargs)
        filter = check_query_options(k, 0.0, filter)  # type: ignore[assignment]
        response = self.vector_db.query(self._cid(), vector=embedding, limit=k, filter=filter)
        return [d for d, _ in _pairs(response)]

    @_mapped
    async def asimilarity_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`similarity_search_by_vector`."""
        _refuse_kwargs("asimilarity_search_by_vector", kwargs)
        filter = check_query_options(k, 0.0, filter)  # type: ignore[assignment]
        response = await self.vector_db.aquery(
            await self._acid(), vector=embedding, limit=k, filter=filter
        )
        return [d for d, _ in _pairs(response)]

    @staticmethod
    def _mmr(
        query_vector: list[float], response: VectorQueryResponse, k: int, lambda_mult: float
    ) -> list[Document]:
        import numpy as np

        hits = [r for r in response.results if r.embedding]
        if not hits:
            return []
        chosen = maximal_marginal_relevance(
            np.array(query_vector, dtype=np.float32),
            [list(r.embedding or []) for r in hits],
            lambda_mult=lambda_mult,
            k=k,
        )
        return [result_to_document(hits[i]) for i in chosen]

    @_mapped
    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = MAX_QUERY_LIMIT,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Diverse results: ``fetch_k`` (at most 20) candidates, ``k`` chosen by MMR.

        The choice is LangChain's ``maximal_marginal_relevance``, which needs ``numpy``
        (``pip install numpy``; langchain-core does not install it).
        """
        _refuse_kwargs("max_marginal_relevance_search_by_vector", kwargs)
        filter = check_query_options(fetch_k, 0.0, filter)  # type: ignore[assignment]
        response = self.vector_db.query(
            self._cid(), vector=embedding, limit=fetch_k, filter=filter, include_embeddings=True
        )
        return self._mmr(embedding, response, k, lambda_mult)

    @_mapped
    async def amax_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = MAX_QUERY_LIMIT,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`max_marginal_relevance_search_by_vector`."""
        _refuse_kwargs("amax_marginal_relevance_search_by_vector", kwargs)
        filter = check_query_options(fetch_k, 0.0, filter)  # type: ignore[assignment]
        response = await self.vector_db.aquery(
            await self._acid(),
            vector=embedding,
            limit=fetch_k,
            filter=filter,
            include_embeddings=True,
        )
        return self._mmr(embedding, response, k, lambda_mult)

    @_mapped
    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = MAX_QUERY_LIMIT,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """MMR search for a text (embedded with the collection's model)."""
        check_query_options(fetch_k, 0.0, filter)
        vector = self.vector_db.embed_query(self._cid(), query)
        return self.max_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, filter, **kwargs
        )

    @_mapped
    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = MAX_QUERY_LIMIT,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Async twin of :meth:`max_marginal_relevance_search`."""
        check_query_options(fetch_k, 0.0, filter)
        vector = await self.vector_db.aembed_query(await self._acid(), query)
        return await self.amax_marginal_relevance_search_by_vector(
            vector, k, fetch_k, lambda_mult, filter, **kwargs
        )

    # ------------------------------------------------------------------ construction

    @staticmethod
    def _no_embedding(embedding: Embeddings | None) -> None:
        if embedding is not None:
            raise ValueError(
                "QuantVectorStore embeds server-side with the collection's model: pass "
                "embedding=None and choose the model with embedding_model="
            )

    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> QuantVectorStore:
        """Make a store (``collection=`` and connection arguments in ``kwargs``), add texts."""
        cls._no_embedding(embedding)
        batch_size = kwargs.pop("batch_size", None)
        store = cls(**kwargs)
        store.add_texts(texts, metadatas, ids=ids, batch_size=batch_size)
        return store

    @classmethod
    async def afrom_texts(
        cls,
        texts: list[str],
        embedding: Embeddings | None = None,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> QuantVectorStore:
        """Async twin of :meth:`from_texts`."""
        cls._no_embedding(embedding)
        batch_size = kwargs.pop("batch_size", None)
        store = cls(**kwargs)
        await store.aadd_texts(texts, metadatas, ids=ids, batch_size=batch_size)
        return store

    @classmethod
    def from_documents(
        cls, documents: list[Document], embedding: Embeddings | None = None, **kwargs: Any
    ) -> QuantVectorStore:
        """Make a store and add documents (ids from ``ids=``, else ``Document.id``)."""
        cls._no_embedding(embedding)
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        return cls.from_texts(
            [d.page_content for d in documents],
            None,
            [d.metadata for d in documents],
            ids=ids,
            **kwargs,
        )

    @classmethod
    async def afrom_documents(
        cls, documents: list[Document], embedding: Embeddings | None = None, **kwargs: Any
    ) -> QuantVectorStore:
        """Async twin of :meth:`from_documents`."""
        cls._no_embedding(embedding)
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        return await cls.afrom_texts(
            [d.page_content for d in documents],
            None,
            [d.metadata for d in documents],
            ids=ids,
            **kwargs,
        )

    def _unpicklable(self) -> dict[str, Any]:
        return {**super()._unpicklable(), "_collection_id": self._collection_id}
