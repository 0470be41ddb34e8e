"""Connection settings shared by ``ChatQuant``, ``QuantEmbeddings`` and ``NovaCanvasTool``.

Same names as the LlamaIndex mixin's; the rules are :mod:`quant_ai.arguments`'.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import httpx
from langchain_core.utils.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from quant_ai import QuantClient
from quant_ai.arguments import check_constructor, client_from_settings, key_free_init

__all__ = ["QuantConnection"]


class QuantConnection(BaseModel):
    """The key, organisation, service root, timeouts, retries and HTTP clients of a class.

    The ``quant_ai.QuantClient`` is built from them on first use and cached (construction
    does no I/O and needs no key), unless a shared ``client`` is given. Pickling drops the
    cached client (it holds sockets); it is rebuilt on first use.

    Construction refuses an unknown argument, naming the nearest valid one (a chat class
    passes a wire field of the chat request on, in ``_wire_extras_into``), and its errors never
    hold the key.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    _wire_extras_into: ClassVar[str | None] = None
    """The argument that collects extra chat wire fields (None: they are refused)."""

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
    """Request timeout in seconds or an ``httpx.Timeout`` (None: the core's default,
    connect 10 s / read 120 s); with ``connect_timeout``, the read timeout."""
    connect_timeout: float | None = Field(default=None, gt=0)
    """Connect timeout in seconds, separate from the read timeout (default 10 s)."""
    max_retries: int = Field(default=2, ge=0)
    """Retries of retryable failures (0 disables)."""
    default_headers: dict[str, str] | None = None
    """Extra headers sent with every request."""
    allow_insecure_http: bool = False
    """Allow a plain ``http://`` service root on a non-loopback host."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """Your own sync ``httpx.Client`` (you close it)."""
    async_http_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """Your own ``httpx.AsyncClient`` (you close it). Old name: ``http_async_client``."""
    client: QuantClient | None = Field(default=None, exclude=True)
    """A shared ``quant_ai.QuantClient``; when given, the settings above are unused."""

    _quant_client: QuantClient | None = PrivateAttr(default=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        key_free_init(partial(super().__init__, *args, **kwargs), kwargs)

    @model_validator(mode="before")
    @classmethod
    def _check_arguments(cls, values: Any) -> Any:
        """Rename old argument names; refuse unknown ones (or pass chat wire fields on)."""
        return check_constructor(cls, values, pass_on_into=cls._wire_extras_into)

    @property
    def http_async_client(self) -> httpx.AsyncClient | None:
        """Deprecated name of ``async_http_client``."""
        return self.async_http_client

    @property
    def quant_client(self) -> QuantClient:
        """The ``quant_ai.QuantClient`` in use (built on first use and cached)."""
        if self.client is not None:
            return self.client
        if self._quant_client is None:
            self._quant_client = client_from_settings(
                self, http_client=self.http_client, async_http_client=self.async_http_client
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
