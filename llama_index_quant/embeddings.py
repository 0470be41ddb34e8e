"""``QuantEmbedding``: Quant AI embeddings (Amazon Titan) as a LlamaIndex embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, model_validator

from quant_ai.embeddings import DEFAULT_MAX_CONCURRENCY, MAX_BATCH_SIZE, check_dimensions
from quant_ai.types import DEFAULT_EMBEDDINGS_MODEL

from ._client import QuantClientMixin

__all__ = ["MAX_BATCH_SIZE", "QuantEmbedding"]


class QuantEmbedding(QuantClientMixin, BaseEmbedding):
    """Quant AI text embeddings (Amazon Titan Text Embeddings v2 by default) for LlamaIndex.

    Batches go to the API as one request each (``embed_batch_size`` up to the API's limit of
    100 texts), through the core's ``QuantClient.embed_many``. Retries and timeouts are the
    core client's. Blank texts are not sent (the API refuses them): they get a zero vector of
    the call's vector size (the other vectors', else ``dimensions``, else the model's default;
    a model of unknown size needs ``dimensions``). An unknown argument is refused.

    The object is picklable before and after use and carries a usable key in the pickle, so
    ``IngestionPipeline(num_workers=2)`` works; ``to_dict``/``to_json`` never include the key.

    Example:
        >>> from llama_index_quant import QuantEmbedding
        >>> embed = QuantEmbedding(dimensions=512)
        >>> len(embed.get_text_embedding("The platypus lays eggs."))  # doctest: +SKIP
        512

        In an index::

            from llama_index.core import Settings, VectorStoreIndex
            Settings.embed_model = QuantEmbedding()
            index = VectorStoreIndex.from_documents(documents)
    """

    model_name: str = Field(default=DEFAULT_EMBEDDINGS_MODEL, description="Embeddings model id.")
    dimensions: int | None = Field(
        default=None, description="Vector size: 256, 512 or 1024 for Titan v2 (default 1024)."
    )
    normalize: bool | None = Field(
        default=True, description="Return unit-length vectors (recommended for cosine search)."
    )
    embed_batch_size: int = Field(
        default=MAX_BATCH_SIZE,
        gt=0,
        le=MAX_BATCH_SIZE,
        description="Texts per request (the API takes at most 100).",
    )

    max_concurrency: int = Field(
        default=DEFAULT_MAX_CONCURRENCY,
        ge=1,
        description="Requests in flight at once when one call holds several batches.",
    )

    def __init__(self, model_name: str = DEFAULT_EMBEDDINGS_MODEL, **kwargs: Any) -> None:
        """Create the embedding model (no I/O).

        Args:
            model_name: The embeddings model id.
            **kwargs: The other fields (``dimensions``, ``normalize``, ``api_key``...) and the
                connection arguments (``client``, ``http_client``, ``async_http_client``,
                ``default_headers``...; see ``QuantClientMixin``).
        """
        super().__init__(model_name=model_name, **kwargs)

    @model_validator(mode="after")
    def _check_dimensions(self) -> QuantEmbedding:
        check_dimensions(self.model_name, self.dimensions)
        return self

    @classmethod
    def class_name(cls) -> str:
        """The name used in serialization and instrumentation."""
        return "QuantEmbedding"

    # ------------------------------------------------------------------ helpers

    def _options(self) -> dict[str, Any]:
        same = {
            name: getattr(self, name) for name in ("dimensions", "normalize", "max_concurrency")
        }
        return {"model": self.model_name, "batch_size": self.embed_batch_size, **same}

    def _embed(self, texts: Sequence[str]) -> list[Embedding]:
        return self.client.embed_many(texts, **self._options())

    async def _aembed(self, texts: Sequence[str]) -> list[Embedding]:
        return await self.client.aembed_many(texts, **self._options())

    # ------------------------------------------------------------------ BaseEmbedding

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([query]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed(texts)
