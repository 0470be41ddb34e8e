"""The lazily created :class:`quant_ai.QuantClient` shared by the LlamaIndex classes."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from quant_ai import DEFAULT_TIMEOUT, QuantClient

__all__ = ["QuantClientMixin"]


class QuantClientMixin(BaseModel):
    """Connection fields and the lazily created client (mixed into pydantic models).

    The API key is a ``SecretStr`` excluded from ``model_dump``/``to_dict``/``to_json`` and
    from instrumentation payloads. Pickling *does* carry it, on purpose: worker processes (for
    example ``IngestionPipeline(num_workers=2)``) must be able to call the service. Pickle is
    an in-process/IPC format, not a storage format; do not write pickles where the key must not
    go. A private HTTP client is never pickled: the copy makes its own on first use. Injected
    ``httpx`` clients are process-local and are dropped too (the copy uses a default client
    with the same timeout and retries); a shared ``QuantClient`` travels as the core pickles it.
    """

    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="Quant API token (default: QUANT_API_KEY). Never serialized.",
    )
    organization: str | None = Field(
        default=None,
        description="Organisation machine name (default: QUANT_ORGANIZATION).",
    )
    base_url: str | None = Field(
        default=None,
        description="Service root (default: QUANT_BASE_URL or the public cloud).",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="Request timeout in seconds (default: the core's connect 10 s / read 120 s); "
        "with connect_timeout set, the read, write and pool timeout.",
    )
    connect_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Connect timeout in seconds, separate from the read timeout (default 10 s).",
    )
    max_retries: int = Field(
        default=2, ge=0, description="Retries of 408/409/429/5xx and connection errors."
    )

    _client: QuantClient | None = PrivateAttr(default=None)
    _owns_client: bool = PrivateAttr(default=True)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def _init_client(
        self,
        client: QuantClient | None,
        http_client: httpx.Client | None,
        async_http_client: httpx.AsyncClient | None,
    ) -> None:
        self._client = client
        self._owns_client = client is None
        self._http_client = http_client
        self._async_http_client = async_http_client

    @property
    def client(self) -> QuantClient:
        """The :class:`~quant_ai.QuantClient` (created on first use, then reused)."""
        if self._client is None:
            self._client = QuantClient(
                api_key=self.api_key,
                organization=self.organization,
                base_url=self.base_url,
                timeout=self._timeout(),
                max_retries=self.max_retries,
                http_client=self._http_client,
                async_http_client=self._async_http_client,
            )
        return self._client

    def _timeout(self) -> float | httpx.Timeout | None:
        """``timeout`` alone, or an ``httpx.Timeout`` when the connect timeout is separate."""
        if self.connect_timeout is None:
            return self.timeout
        read = self.timeout if self.timeout is not None else DEFAULT_TIMEOUT.read
        return httpx.Timeout(read, connect=self.connect_timeout)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        if private.get("_owns_client", True):
            private["_client"] = None
        private["_http_client"] = None
        private["_async_http_client"] = None
        state["__pydantic_private__"] = private
        return state
