"""The lazily created :class:`quant_ai.QuantClient` shared by the LlamaIndex classes.

``langchain_quant`` takes the same arguments; both follow :mod:`quant_ai.arguments`.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field, PrivateAttr, SecretStr, model_validator

from quant_ai import QuantClient
from quant_ai.arguments import (
    check_constructor,
    client_from_settings,
    key_free_init,
    rename_deprecated,
    resolve_timeout,
)

__all__ = ["QuantClientMixin"]

_INIT_ONLY = frozenset({"client", "http_client", "async_http_client"})
"""Arguments kept out of the fields (process-local objects that never serialise)."""


class QuantClientMixin(BaseModel):
    """Connection fields and the lazily created client (mixed into pydantic models).

    Arguments: ``api_key``, ``organization``, ``base_url``, ``timeout``, ``connect_timeout``,
    ``max_retries``, ``default_headers``, ``allow_insecure_http``, and the init-only
    ``client`` (a shared ``QuantClient``), ``http_client`` and ``async_http_client``. An
    unknown argument is refused, naming the nearest valid one (a chat class passes a wire field
    of the chat request on, in ``_wire_extras_into``); construction errors never hold the key.

    The API key is a ``SecretStr`` excluded from ``model_dump``/``to_dict``/``to_json`` and
    from instrumentation payloads. Pickling *does* carry it, on purpose: worker processes (for
    example ``IngestionPipeline(num_workers=2)``) must be able to call the service. Pickle is
    an in-process/IPC format, not a storage format; do not write pickles where the key must not
    go. A private HTTP client is never pickled: the copy makes its own on first use. Injected
    ``httpx`` clients are process-local and are dropped too (the copy uses a default client
    with the same timeout and retries); a shared ``QuantClient`` travels as the core pickles it.
    """

    _wire_extras_into: ClassVar[str | None] = None
    """The field that collects extra chat wire fields (None: they are refused)."""

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
    default_headers: dict[str, str] | None = Field(
        default=None, description="Extra headers sent with every request."
    )
    allow_insecure_http: bool = Field(
        default=False, description="Allow a plain http:// service root on a non-loopback host."
    )

    _client: QuantClient | None = PrivateAttr(default=None)
    _owns_client: bool = PrivateAttr(default=True)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def __init__(
        self,
        *args: Any,
        client: QuantClient | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        """Validate the arguments (no I/O); errors name the argument and never hold the key."""
        if "http_async_client" in kwargs:
            renamed = rename_deprecated(type(self).__name__, kwargs)
            async_http_client = async_http_client or renamed.pop("async_http_client")
            kwargs = renamed
        key_free_init(partial(super().__init__, *args, **kwargs), kwargs)
        self._init_client(client, http_client, async_http_client)

    @model_validator(mode="before")
    @classmethod
    def _check_arguments(cls, values: Any) -> Any:
        """Refuse unknown arguments (or pass chat wire fields on)."""
        return check_constructor(
            cls,
            values,
            extra_names=_INIT_ONLY,
            pass_on_into=cls._wire_extras_into,
            wire_names=False,
        )

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
            self._client = client_from_settings(
                self, http_client=self._http_client, async_http_client=self._async_http_client
            )
        return self._client

    def _timeout(self) -> float | httpx.Timeout | None:
        """``timeout`` alone, or an ``httpx.Timeout`` when the connect timeout is separate."""
        return resolve_timeout(self.timeout, self.connect_timeout)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        if private.get("_owns_client", True):
            private["_client"] = None
        private["_http_client"] = None
        private["_async_http_client"] = None
        state["__pydantic_private__"] = private
        return state
