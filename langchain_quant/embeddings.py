"""``QuantEmbeddings``: LangChain embeddings over the Quant AI embeddings API."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field, field_validator, model_validator

from langchain_quant._client import QuantConnection
from langchain_quant.errors import langchain_errors
from quant_ai.embeddings import (
    DEFAULT_MAX_CONCURRENCY,
    MAX_BATCH_SIZE,
    check_batching,
    check_dimensions,
)
from quant_ai.types import DEFAULT_EMBEDDINGS_MODEL

__all__ = ["MAX_BATCH_SIZE", "QuantEmbeddings"]


class QuantEmbeddings(QuantConnection, Embeddings):
    """Quant AI text embeddings (Amazon Titan).

    Setup:
        Install the LangChain extra; the key and organisation come from the environment
        (or ``api_key`` / ``organization``):

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
        connect_timeout (float | None): Connect timeout, separate from ``timeout``.
        default_headers (dict[str, str] | None): Extra headers on every request.
        http_client / async_http_client / client: Your own httpx or ``QuantClient``.

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

    The batching is the core's ``QuantClient.embed_many`` (and ``aembed_many``): empty (or
    whitespace-only) texts are not sent, they get a zero vector of the right size (the size of
    the other vectors, else ``dimensions``, else the model's default size); batches are sent
    ``max_concurrency`` at a time, on a small thread pool over the shared sync client, or as
    asyncio tasks under a semaphore over the async client. An unknown argument is refused.
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
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """Requests in flight at once."""

    @field_validator("batch_size")
    @classmethod
    def _check_batch_size(cls, value: int) -> int:
        check_batching(value, 1)
        return value

    @field_validator("max_concurrency")
    @classmethod
    def _check_concurrency(cls, value: int) -> int:
        check_batching(1, value)
        return value

    @model_validator(mode="after")
    def _check_dimensions(self) -> QuantEmbeddings:
        check_dimensions(self.model, self.dimensions)
        return self

    def _options(self) -> dict[str, Any]:
        fields = {"dimensions", "normalize", "batch_size", "max_concurrency"}
        return {"model": self.model, **self.model_dump(include=fields)}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts, one vector per text in input order.

        Args:
            texts: The texts (any number; sent in batches of ``batch_size``).

        Returns:
            The vectors.
        """
        with langchain_errors():
            return self.quant_client.embed_many(texts, **self._options())

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
        with langchain_errors():
            return await self.quant_client.aembed_many(texts, **self._options())

    async def aembed_query(self, text: str) -> list[float]:
        """Async twin of :meth:`embed_query`."""
        return (await self.aembed_documents([text]))[0]
