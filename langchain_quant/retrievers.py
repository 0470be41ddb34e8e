"""``QuantRetriever``: search a Quant vector-database collection as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from langchain_quant._client import QuantConnection
from langchain_quant.errors import langchain_errors
from langchain_quant.vectorstores import result_to_document

__all__ = ["QuantRetriever"]


class QuantRetriever(QuantConnection, BaseRetriever):
    """The closest documents of a Quant vector-database collection (server-side embedding).

    Setup:
        Install ``quant-ai[langchain]`` and set ``QUANT_API_KEY`` and ``QUANT_ORGANIZATION``.

        ```bash
        pip install -U "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args:
        collection: str
            Collection name or id (it must exist; fill it with ``QuantVectorStore``).
        k: int
            Documents returned, 1 to 20 (also accepted per call: ``invoke(q, k=3)``).
        filter: dict | None
            Metadata filter (the language of ``QuantVectorStore``; unsupported operators
            raise before any request).
        score_threshold: float | None
            Lowest cosine similarity returned (0 to 1).
        api_key, organization, base_url, timeout, connect_timeout, max_retries,
        default_headers, allow_insecure_http, http_client, async_http_client, client:
            Connection, as for ``ChatQuant``.

    Instantiate:
        ```python
        from langchain_quant import QuantRetriever

        retriever = QuantRetriever(collection="handbook", k=3)
        ```

    Usage:
        ```python
        retriever.invoke("How much leave do I get?")
        retriever.invoke("How much leave do I get?", k=1, filter={"topic": "hr"})
        ```

    Use within a chain:
        ```python
        from langchain_core.prompts import ChatPromptTemplate
        from langchain_core.runnables import RunnablePassthrough
        from langchain_quant import ChatQuant

        prompt = ChatPromptTemplate.from_template(
            "Answer from the context: {context}. Question: {question}"
        )
        chain = (
            {"context": retriever, "question": RunnablePassthrough()}
            | prompt
            | ChatQuant()
        )
        chain.invoke("How much leave do I get?")
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    collection: str
    """Collection name or id."""
    k: int = 4
    """Documents returned (1 to 20)."""
    filter: dict[str, Any] | None = None
    """Metadata filter."""
    score_threshold: float | None = None
    """Lowest similarity returned (0 to 1)."""

    def _options(
        self, k: int | None, filter: dict[str, Any] | None, score_threshold: float | None
    ) -> dict[str, Any]:
        threshold = self.score_threshold if score_threshold is None else score_threshold
        return {
            "limit": self.k if k is None else k,
            "filter": self.filter if filter is None else filter,
            "threshold": threshold or 0.0,
        }

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: dict[str, Any] | None = None,
        score_threshold: float | None = None,
    ) -> list[Document]:
        with langchain_errors():
            response = self.quant_client.vector_db.search(
                self.collection, query, **self._options(k, filter, score_threshold)
            )
        return [result_to_document(r) for r in response.results]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: dict[str, Any] | None = None,
        score_threshold: float | None = None,
    ) -> list[Document]:
        with langchain_errors():
            response = await self.quant_client.vector_db.asearch(
                self.collection, query, **self._options(k, filter, score_threshold)
            )
        return [result_to_document(r) for r in response.results]
