"""Connection settings shared by ``ChatQuant``, ``QuantEmbeddings`` and ``NovaCanvasTool``."""

from __future__ import annotations

from typing import Any

import httpx
from langchain_core.utils.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from quant_ai import QuantClient

__all__ = ["QuantConnection"]


class QuantConnection(BaseModel):
    """The key, organisation, service root, timeouts, retries and HTTP clients of a class.

    The ``quant_ai.QuantClient`` is built from them on first use and cached (construction
    does no I/O and needs no key), unless a shared ``client`` is given. Pickling drops the
    cached client (it holds sockets); it is rebuilt on first use.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("QUANT_API_KEY", default=None)
    )
    """API key; default ``QUANT_API_KEY``. Not needed to construct."""
    organization: str | None = Field(
        default_factory=from_env(("QUANT_ORGANIZATION", "QUANT_ORGANISATION"), default=None)
    )
    """Organisation machine name; default ``QUANT_ORGANIZATION``."""
    base_url: str | None = Field(default_factory=from_env("QUANT_BASE_URL", default=None))
    """Service root; default ``QUANT_BASE_URL`` or ``https://dashboard.quantcdn.io``."""
    timeout: float | httpx.Timeout | None = None
    """Request timeout in seconds or an ``httpx.Timeout`` (None: the core's default)."""
    max_retries: int = 2
    """Retries of retryable failures (0 disables)."""
    default_headers: dict[str, str] | None = None
    """Extra headers sent with every request."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """Your own sync ``httpx.Client`` (you close it)."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """Your own ``httpx.AsyncClient`` (you close it)."""
    client: QuantClient | None = Field(default=None, exclude=True)
    """A shared ``quant_ai.QuantClient``; when given, the settings above are unused."""

    _quant_client: QuantClient | None = PrivateAttr(default=None)

    @property
    def quant_client(self) -> QuantClient:
        """The ``quant_ai.QuantClient`` in use (built on first use and cached)."""
        if self.client is not None:
            return self.client
        if self._quant_client is None:
            self._quant_client = QuantClient(
                api_key=self.api_key,
                organization=self.organization,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
                http_client=self.http_client,
                async_http_client=self.http_async_client,
                default_headers=self.default_headers,
            )
        return self._quant_client

    def _unpicklable(self) -> dict[str, Any]:
        """Private attributes to reset when pickling (subclasses add theirs)."""
        return {"_quant_client": None}

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = state.get("__pydantic_private__")
        if private:
            state["__pydantic_private__"] = {**private, **self._unpicklable()}
        return state
