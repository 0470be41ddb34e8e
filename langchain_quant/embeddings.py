"""``QuantEmbeddings``: LangChain embeddings over the Quant AI embeddings API."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field, field_validator

from langchain_quant._client import QuantConnection
from langchain_quant.errors import to_langchain_error
from quant_ai import EmbeddingsResponse, QuantError
from quant_ai.types import DEFAULT_EMBEDDINGS_MODEL

__all__ = ["MAX_BATCH_SIZE", "QuantEmbeddings", "plan_batches"]

MAX_BATCH_SIZE = 100
"""The API's limit of texts per request."""

_DEFAULT_DIMENSIONS = {
    "amazon.titan-embed-text-v2:0": 1024,
    "amazon.titan-embed-text-v1:0": 1536,
    "amazon.titan-embed-text-v1": 1536,
}


def plan_batches(texts: Sequence[str], batch_size: int) -> tuple[list[list[int]], list[int]]:
    """Split texts into request batches, setting empty ones aside.

    Args:
        texts: The input texts.
        batch_size: Texts per request (1 to 100).

    Returns:
        ``(batches of input positions of non-empty texts, positions of empty texts)``.
        Whitespace-only texts count as empty (the API refuses them).
    """
    filled = [i for i, text in enumerate(texts) if text.strip()]
    empty = [i for i, text in enumerate(texts) if not text.strip()]
    batches = [filled[k : k + batch_size] for k in range(0, len(filled), batch_size)]
    return batches, empty


class QuantEmbeddings(QuantConnection, Embeddings):
    """Quant AI text embeddings (Amazon Titan).

    Setup:
        ```bash
        pip install "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args — embedding params:
        model (str): Model id (alias ``model_id``), default ``amazon.titan-embed-text-v2:0``.
        dimensions (int | None): Vector size (Titan v2: 256, 512 or 1024).
        normalize (bool | None): Unit-length vectors (the service's default is True).

    Key init args — client params:
        api_key (SecretStr | None): Key; default ``QUANT_API_KEY``.
        organization (str | None): Organisation; default ``QUANT_ORGANIZATION``.
        base_url (str | None): Service root; default ``QUANT_BASE_URL``.
        timeout (float | httpx.Timeout | None): Request timeout.
        max_retries (int): Retries of retryable failures (0 disables).
        batch_size (int): Texts per request, at most 100 (the API limit).
        max_concurrency (int): Requests in flight at once for large inputs.
        http_client / http_async_client / client: Your own httpx or ``QuantClient``.

    Instantiate:
        ```python
        from langchain_quant import QuantEmbeddings

        embeddings = QuantEmbeddings(dimensions=512)
        ```

    Embed single text:
        ```python
        vector = embeddings.embed_query("The meaning of life")
        len(vector)  # 512
        ```

    Embed multiple texts:
        ```python
        vectors = embeddings.embed_documents(["first", "second", ""])
        # one vector per text, in input order; the empty text gets a zero vector
        ```

    Async:
        ```python
        await embeddings.aembed_query("The meaning of life")
        await embeddings.aembed_documents(["first", "second"])
        ```

    Empty (or whitespace-only) texts are not sent: they get a zero vector of the right size
    (the size of the other vectors, else ``dimensions``, else the model's default size).
    Batches are sent ``max_concurrency`` at a time: a thread pool over the shared sync client,
    or ``asyncio.gather`` with a semaphore over the async client.
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=()
    )

    model: str = Field(default=DEFAULT_EMBEDDINGS_MODEL, alias="model_id")
    """Embedding model id."""
    dimensions: int | None = None
    """Vector size (None: the model's default)."""
    normalize: bool | None = None
    """Normalise vectors to unit length (None: the service's default, True)."""
    batch_size: int = MAX_BATCH_SIZE
    """Texts per request (1 to 100)."""
    max_concurrency: int = 4
    """Requests in flight at once."""

    @field_validator("batch_size")
    @classmethod
    def _check_batch_size(cls, value: int) -> int:
        if not 1 <= value <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH_SIZE} (the API limit)")
        return value

    @field_validator("max_concurrency")
    @classmethod
    def _check_concurrency(cls, value: int) -> int:
        if value < 1:
            raise ValueError("max_concurrency must be at least 1")
        return value

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"model_id": self.model}
        if self.dimensions is not None:
            options["dimensions"] = self.dimensions
        if self.normalize is not None:
            options["normalize"] = self.normalize
        return options

    def _size(self, vectors: list[list[float]]) -> int:
        if vectors:
            return len(vectors[0])
        if self.dimensions is not None:
            return self.dimensions
        if self.model in _DEFAULT_DIMENSIONS:
            return _DEFAULT_DIMENSIONS[self.model]
        raise ValueError(
            f"cannot tell the vector size of {self.model} for empty texts: set dimensions"
        )

    def _assemble(
        self,
        count: int,
        batches: list[list[int]],
        empty: list[int],
        responses: Sequence[EmbeddingsResponse],
    ) -> list[list[float]]:
        result: list[list[float] | None] = [None] * count
        filled: list[list[float]] = []
        for positions, response in zip(batches, responses, strict=True):
            if len(response.embeddings) != len(positions):
                raise ValueError(
                    f"the service returned {len(response.embeddings)} vectors for "
                    f"{len(positions)} texts"
                )
            for position, vector in zip(positions, response.embeddings, strict=True):
                result[position] = vector  # already floats (validated list[list[float]])
                filled.append(vector)
        if empty:
            size = self._size(filled)
            for position in empty:
                result[position] = [0.0] * size
        return [vector for vector in result if vector is not None]

    def _embed_batch(self, texts: list[str]) -> EmbeddingsResponse:
        try:
            return self.quant_client.embed(texts, **self._options())
        except QuantError as exc:
            mapped = to_langchain_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    async def _aembed_batch(self, texts: list[str]) -> EmbeddingsResponse:
        try:
            return await self.quant_client.aembed(texts, **self._options())
        except QuantError as exc:
            mapped = to_langchain_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts, one vector per text in input order.

        Args:
            texts: The texts (any number; sent in batches of ``batch_size``).

        Returns:
            The vectors.
        """
        batches, empty = plan_batches(texts, self.batch_size)
        groups = [[texts[i] for i in batch] for batch in batches]
        if len(groups) <= 1 or self.max_concurrency == 1:
            responses = [self._embed_batch(group) for group in groups]
        else:
            with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(groups))) as pool:
                responses = list(pool.map(self._embed_batch, groups))
        return self._assemble(len(texts), batches, empty, responses)

    def embed_query(self, text: str) -> list[float]:
        """Embed one text.

        Args:
            text: The text (an empty text gets a zero vector without a request).

        Returns:
            The vector.
        """
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async twin of :meth:`embed_documents` (batches gathered under a semaphore)."""
        batches, empty = plan_batches(texts, self.batch_size)
        groups = [[texts[i] for i in batch] for batch in batches]
        semaphore = asyncio.Semaphore(self.max_concurrency)

        async def run(group: list[str]) -> EmbeddingsResponse:
            async with semaphore:
                return await self._aembed_batch(group)

        responses = await asyncio.gather(*(run(group) for group in groups))
        return self._assemble(len(texts), batches, empty, responses)

    async def aembed_query(self, text: str) -> list[float]:
        """Async twin of :meth:`embed_query`."""
        return (await self.aembed_documents([text]))[0]
