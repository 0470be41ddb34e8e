"""``QuantEmbedding``: Quant AI embeddings (Amazon Titan) as a LlamaIndex embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, model_validator

from quant_ai import EmbeddingsResponse, QuantClient
from quant_ai.types import DEFAULT_EMBEDDINGS_MODEL

from ._client import QuantClientMixin

__all__ = ["MAX_BATCH_SIZE", "QuantEmbedding", "split_batches"]

MAX_BATCH_SIZE = 100
"""The API embeds at most 100 texts per request."""

_TITAN_V2_DIMENSIONS = (256, 512, 1024)
_DEFAULT_SIZES = {"amazon.titan-embed-text-v1": 1536, "amazon.titan-embed-text-v2": 1024}


def split_batches(texts: Sequence[str], size: int) -> list[list[int]]:
    """Indices of the non-blank ``texts``, in batches of at most ``size``.

    Blank texts are left out: the API refuses them, and they get a zero vector instead.
    """
    indices = [i for i, text in enumerate(texts) if text and text.strip()]
    return [indices[k : k + size] for k in range(0, len(indices), size)]


class QuantEmbedding(QuantClientMixin, BaseEmbedding):
    """Quant AI text embeddings (Amazon Titan Text Embeddings v2 by default) for LlamaIndex.

    Batches go to the API as one request each (``embed_batch_size`` up to the API's limit of
    100 texts). Retries and timeouts are the core client's. Blank texts are not sent (the API
    refuses them): they get a zero vector of the model's size, since they carry no meaning.

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

    def __init__(
        self,
        model_name: str = DEFAULT_EMBEDDINGS_MODEL,
        *,
        client: QuantClient | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the embedding model (no I/O).

        Args:
            model_name: The embeddings model id.
            client: A shared :class:`~quant_ai.QuantClient`.
            http_client: An ``httpx.Client`` for the private core client.
            async_http_client: An ``httpx.AsyncClient`` for the private core client.
            **kwargs: The other fields (``dimensions``, ``normalize``, ``api_key``...).
        """
        super().__init__(model_name=model_name, **kwargs)
        self._init_client(client, http_client, async_http_client)

    @model_validator(mode="after")
    def _check_dimensions(self) -> QuantEmbedding:
        dims = self.dimensions
        if dims is None:
            return self
        if "titan-embed-text-v1" in self.model_name:
            raise ValueError(f"{self.model_name} has a fixed size of 1536; leave dimensions unset")
        if "titan-embed-text-v2" in self.model_name and dims not in _TITAN_V2_DIMENSIONS:
            raise ValueError(
                f"dimensions={dims} is not offered by {self.model_name}; use 256, 512 or 1024"
            )
        return self

    @classmethod
    def class_name(cls) -> str:
        """The name used in serialization and instrumentation."""
        return "QuantEmbedding"

    # ------------------------------------------------------------------ helpers

    def _size(self, vectors: Sequence[Embedding]) -> int:
        if self.dimensions:
            return self.dimensions
        if vectors:
            return len(vectors[0])
        for prefix, size in _DEFAULT_SIZES.items():
            if prefix in self.model_name:
                return size
        return 1024

    def _options(self) -> dict[str, Any]:
        return {
            "model_id": self.model_name,
            "dimensions": self.dimensions,
            "normalize": self.normalize,
        }

    def _assemble(
        self, texts: Sequence[str], batches: list[list[int]], answers: list[EmbeddingsResponse]
    ) -> list[Embedding]:
        out: list[Embedding | None] = [None] * len(texts)
        for batch, answer in zip(batches, answers, strict=True):
            if len(answer.embeddings) != len(batch):
                raise ValueError(
                    f"the service returned {len(answer.embeddings)} vectors for {len(batch)} texts"
                )
            for index, vector in zip(batch, answer.embeddings, strict=True):
                out[index] = vector
        done = [v for v in out if v is not None]
        zero = [0.0] * self._size(done)
        return [v if v is not None else list(zero) for v in out]

    def _embed(self, texts: Sequence[str]) -> list[Embedding]:
        batches = split_batches(texts, self.embed_batch_size)
        options = self._options()
        answers = [self.client.embed([texts[i] for i in batch], **options) for batch in batches]
        return self._assemble(texts, batches, answers)

    async def _aembed(self, texts: Sequence[str]) -> list[Embedding]:
        batches = split_batches(texts, self.embed_batch_size)
        options = self._options()
        answers = [
            await self.client.aembed([texts[i] for i in batch], **options) for batch in batches
        ]
        return self._assemble(texts, batches, answers)

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
