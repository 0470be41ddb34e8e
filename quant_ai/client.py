"""``QuantClient``: every Quant AI operation, sync and async, over one transport."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pydantic
from pydantic import SecretStr

from . import _validation as v
from ._body import JsonBody, dump_json
from ._config import ClientConfig, encode_path_segment
from ._ratelimit import RateLimiter, TokenBucket
from ._transport import IMAGE_TIMEOUT, Transport
from ._wire import coerce_request as _coerce
from ._wire import parse_response as _parse
from .embeddings import (
    DEFAULT_MAX_CONCURRENCY,
    MAX_BATCH_SIZE,
    BatchPlan,
    asend_batches,
    assemble_vectors,
    check_batching,
    check_dimensions,
    plan_batches,
    send_batches,
)
from .errors import (
    QuantAPIError,
    QuantConfigurationError,
    QuantError,
    QuantValidationError,
)
from .images import image_request
from .types import (
    DEFAULT_EMBEDDINGS_MODEL,
    CallbackRequest,
    CallbackResponse,
    ChatAccepted,
    ChatRequest,
    ChatResponse,
    EmbeddingsRequest,
    EmbeddingsResponse,
    ExecutionStatus,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ModelInfo,
    ModelList,
    PendingTool,
    ToolResultItem,
)
from .usage import ClientUsage, check_budgets, record_usage

if TYPE_CHECKING:  # the stream events load on first stream (import time of QuantClient)
    from ._sse import StreamEvent
    from .agents import Agents
    from .sessions import Sessions
    from .vector_db import VectorDB

__all__ = ["QuantClient", "ToolHandler"]

logger = logging.getLogger("quant_ai")

M = TypeVar("M", bound=pydantic.BaseModel)

ToolResults = Mapping[str, Any] | Sequence[ToolResultItem | Mapping[str, Any]]
ToolHandler = Callable[[list[PendingTool]], ToolResults | Awaitable[ToolResults]]
"""Runs pending client tools; returns ``{toolUseId: result}`` or a list of results."""
StatusCallback = Callable[[ExecutionStatus], Any]


def _dump(model: pydantic.BaseModel) -> bytes | JsonBody:
    """Serialize a request to its JSON body (camelCase, unset fields omitted).

    Small requests are bytes written by pydantic in one pass. Large media stays in the model
    as base64 text and is spliced into the body as it is sent, never copied (:mod:`._body`).
    """
    body = dump_json(model)
    v.check_payload_size(body)
    return body


def _results(results: ToolResults) -> list[ToolResultItem]:
    """Normalise tool results; non-object results are wrapped as ``{"result": value}``.

    Raises:
        QuantValidationError: For anything that is not such a mapping or list of items, an
            item without ``toolUseId`` or ``result``, or an item with other keys.
    """
    items: list[ToolResultItem] = []
    pairs: list[tuple[str, Any]] = []
    if isinstance(results, Mapping):
        pairs = [(str(k), val) for k, val in results.items()]
    elif isinstance(results, (list, tuple)):
        for n, item in enumerate(results):
            if isinstance(item, ToolResultItem):
                pairs.append((item.tool_use_id, item.result))
                continue
            if not isinstance(item, Mapping):
                raise QuantValidationError(
                    f"toolResults.{n}: a tool result is a mapping with toolUseId and result, "
                    f"not {type(item).__name__}",
                    field=f"toolResults.{n}",
                )
            for key in item:
                if key not in ("toolUseId", "tool_use_id", "result"):
                    raise QuantValidationError(
                        f"toolResults.{n}.{key}: not a tool result field (toolUseId, result)",
                        field=f"toolResults.{n}.{key}",
                    )
            if "result" not in item:
                raise QuantValidationError(
                    f"toolResults.{n}.result: the tool's result is required",
                    field=f"toolResults.{n}.result",
                )
            tool_use_id = item.get("toolUseId", item.get("tool_use_id"))
            pairs.append((str(tool_use_id or ""), item["result"]))
    else:
        raise QuantValidationError(
            "toolResults: give {toolUseId: result} or a list of tool results, not "
            f"{type(results).__name__}",
            field="toolResults",
        )
    for tool_use_id, result in pairs:
        value = result if isinstance(result, dict) else {"result": result}
        items.append(ToolResultItem(tool_use_id=str(tool_use_id or ""), result=value))
    return items


def _events_from_response(response: ChatResponse) -> Iterator[StreamEvent]:
    """Events equivalent to a buffered answer (a stream request answered with JSON)."""
    from ._sse import ContentEvent, DoneEvent, StartEvent, ToolRequestEvent

    yield StartEvent(response.request_id, response.model)
    if response.text:
        yield ContentEvent(response.text)
    if response.tool_calls:
        yield ToolRequestEvent(response.tool_calls)
    yield DoneEvent(
        complete=not response.tool_calls,
        finish_reason=response.finish_reason,
        usage=response.usage,
        tool_uses=response.server_tool_calls,
        content=None,
        orchestration=None,
    )


class QuantClient:
    """Client of the Quant AI inference API.

    Construction reads settings (arguments, else environment) and does no I/O; a missing key or
    organisation is reported by the first call, naming the variable to set.

    Args:
        api_key: API token; default ``QUANT_API_KEY``. Kept as a ``SecretStr``.
        organization: Organisation machine name; default ``QUANT_ORGANIZATION`` (or
            ``QUANT_ORGANISATION``).
        base_url: Service root; default ``QUANT_BASE_URL`` or ``https://dashboard.quantcdn.io``.
        timeout: Seconds or an ``httpx.Timeout`` (default: connect 10 s, read 120 s; image
            generation reads up to 360 s unless a timeout is given).
        max_retries: Retries of 408/409/429/5xx and connection errors (0 disables).
        http_client: ``httpx.Client`` to use (its owner closes it).
        async_http_client: ``httpx.AsyncClient`` to use (its owner closes it).
        default_headers: Extra headers for every request.
        allow_insecure_http: Allow plain ``http://`` to a non-loopback host.
        max_requests_per_second: Pace this client's requests (sync and async together, retries
            included) with an in-process :class:`~quant_ai.TokenBucket`; a 429 with
            ``Retry-After`` then delays every request of the client, not only the refused one.
        rate_limiter: A :class:`~quant_ai.RateLimiter` to share between clients (or processes)
            instead; exclusive with ``max_requests_per_second``.

    Example:
        >>> from quant_ai import QuantClient
        >>> client = QuantClient()  # reads QUANT_API_KEY / QUANT_ORGANIZATION
        >>> client.chat(messages=[{"role": "user", "content": "Hi"}]).text  # doctest: +SKIP
        'Hello!'
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        organization: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
        max_requests_per_second: float | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.config = ClientConfig.resolve(
            api_key, organization, base_url, allow_insecure_http=allow_insecure_http
        )
        if max_requests_per_second is not None:
            if rate_limiter is not None:
                raise QuantConfigurationError(
                    "give max_requests_per_second or rate_limiter, not both"
                )
            rate_limiter = TokenBucket(max_requests_per_second)
        elif rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise QuantConfigurationError(
                "rate_limiter must implement quant_ai.RateLimiter (acquire, aacquire, backoff)"
            )
        self.transport = Transport(
            self.config,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            async_http_client=async_http_client,
            default_headers=default_headers,
            rate_limiter=rate_limiter,
        )
        self.clock: Callable[[], float] = time.monotonic
        self.usage = ClientUsage(self)
        """Running totals of tokens and cost of the calls made through this client, and the
        service's own spend reports (``usage.me()``, ``usage.spend()``)."""
        self._execution_models: dict[str, str] = {}

    @property
    def sessions(self) -> Sessions:
        """Server-side conversations (``/ai/sessions``): see :class:`quant_ai.Sessions`."""
        from .sessions import Sessions

        return Sessions(self)

    @property
    def agents(self) -> Agents:
        """Hosted agents (``/ai/agents``): see :class:`quant_ai.Agents`."""
        from .agents import Agents

        return Agents(self)

    def _record(self, usage: Any, model: str | None) -> None:
        """Count one answer's usage here and in every :func:`~quant_ai.track_usage` scope."""
        record_usage(self.usage, usage, model)

    def _check_budget(self) -> None:
        """The budget rule, before a call that can cost money is sent."""
        check_budgets(self.usage)

    def __repr__(self) -> str:
        key = "set" if self.config.api_key is not None else "unset"
        return (
            f"QuantClient(organization={self.config.organization!r}, "
            f"base_url={self.config.base_url!r}, api_key=<{key}>)"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["clock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.clock = time.monotonic

    @property
    def vector_db(self) -> VectorDB:
        """The vector-database calls: ``client.vector_db.query(...)`` (:mod:`.vector_db`).

        Created on first use; it caches collection names.
        """
        group: VectorDB | None = self.__dict__.get("_vector_db")
        if group is None:
            from .vector_db import VectorDB

            group = self._vector_db = VectorDB(self)
        return group

    @property
    def max_retries(self) -> int:
        """Retries for retryable failures."""
        return self.transport.retry.max_retries

    def close(self) -> None:
        """Close the private sync HTTP client."""
        self.transport.close()

    async def aclose(self) -> None:
        """Close the private async HTTP client of the running loop."""
        await self.transport.aclose()

    def __enter__(self) -> QuantClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> QuantClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ chat

    def _chat_body(
        self, request: ChatRequest, *, stream: bool, durable: bool = False
    ) -> bytes | JsonBody:
        if request.async_ and not durable:
            raise QuantValidationError(
                "async: use start_chat() (or astart_chat()) for a durable execution",
                field="async",
            )
        v.validate_chat(request)
        if stream:
            request = request.model_copy(update={"stream": None})
        if durable:
            request = request.model_copy(update={"async_": True})
        return _dump(request)

    def _chat_result(self, response: httpx.Response, model: str | None = None) -> ChatResponse:
        if response.status_code == 202:
            accepted = _parse(ChatAccepted, response)
            raise QuantError(
                f"the service started durable execution {accepted.request_id} instead of "
                "answering; wait for it with wait_for_execution()"
            )
        answer = _parse(ChatResponse, response)
        self._record(answer.usage, answer.model or model)
        return answer

    def chat(
        self, request: ChatRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> ChatResponse:
        """Send a buffered chat request (``POST /ai/chat``).

        Args:
            request: A :class:`ChatRequest` or a mapping of its fields.
            **kwargs: Fields of :class:`ChatRequest` (override ``request``).

        Returns:
            The answer.

        Raises:
            QuantValidationError: For bad input, before anything is sent.
            QuantAPIError: For an error answer.
        """
        req = _coerce(ChatRequest, request, kwargs)
        body = self._chat_body(req, stream=False)
        self._check_budget()
        return self._chat_result(
            self.transport.request("POST", self.config.ai_url("/chat"), body=body), req.model_id
        )

    async def achat(
        self, request: ChatRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> ChatResponse:
        """Async twin of :meth:`chat`."""
        req = _coerce(ChatRequest, request, kwargs)
        body = self._chat_body(req, stream=False)
        self._check_budget()
        return self._chat_result(
            await self.transport.arequest("POST", self.config.ai_url("/chat"), body=body),
            req.model_id,
        )

    def start_chat(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        via_stream: bool = False,
        **kwargs: Any,
    ) -> ChatAccepted:
        """Start a durable execution (``async: true``) and return its handle.

        The request creates server state, so it is retried only when it provably did not reach
        the service (no connection, or a 408/429/503 answer); after a read timeout or a lost
        connection it raises :class:`QuantConnectionError` saying the execution may have
        started, rather than risk starting it twice.

        Args:
            request: A :class:`ChatRequest` or a mapping of its fields.
            via_stream: Send to ``/ai/chat/stream`` instead of ``/ai/chat``.
            **kwargs: Fields of :class:`ChatRequest`.

        Returns:
            The 202 answer with ``request_id`` (store it to resume later).
        """
        req = _coerce(ChatRequest, request, kwargs)
        path = "/chat/stream" if via_stream else "/chat"
        body = self._chat_body(req, stream=via_stream, durable=True)
        self._check_budget()
        accepted = self._accepted(
            self.transport.request("POST", self.config.ai_url(path), body=body, replayable=False)
        )
        self._execution_models[accepted.request_id] = req.model_id
        return accepted

    async def astart_chat(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        via_stream: bool = False,
        **kwargs: Any,
    ) -> ChatAccepted:
        """Async twin of :meth:`start_chat`."""
        req = _coerce(ChatRequest, request, kwargs)
        path = "/chat/stream" if via_stream else "/chat"
        body = self._chat_body(req, stream=via_stream, durable=True)
        self._check_budget()
        accepted = self._accepted(
            await self.transport.arequest(
                "POST", self.config.ai_url(path), body=body, replayable=False
            )
        )
        self._execution_models[accepted.request_id] = req.model_id
        return accepted

    @staticmethod
    def _accepted(response: httpx.Response) -> ChatAccepted:
        if response.status_code != 202:
            raise QuantAPIError(
                "expected 202 Accepted for an async chat request",
                status_code=response.status_code,
                body=response.text[:2000],
            )
        return _parse(ChatAccepted, response)

    def stream_chat(
        self, request: ChatRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Iterator[StreamEvent]:
        """Stream a chat answer (``POST /ai/chat/stream``) as typed events.

        Validation happens when the iterator is first advanced, before anything is sent.

        Yields:
            :class:`StartEvent`, :class:`ContentEvent` (text deltas), tool events, and a final
            :class:`DoneEvent` with usage.

        Raises:
            QuantStreamError: On an ``error`` event or a stream that ends without ``done``.
        """
        from ._sse import DoneEvent, iter_events

        req = _coerce(ChatRequest, request, kwargs)
        body = self._chat_body(req, stream=True)
        url = self.config.ai_url("/chat/stream")
        self._check_budget()
        for event in iter_events(self.transport.stream_frames(url, body, _response_events)):
            if isinstance(event, DoneEvent):
                self._record(event.usage, req.model_id)
            yield event

    async def astream_chat(
        self, request: ChatRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Async twin of :meth:`stream_chat`."""
        from ._sse import DoneEvent, aiter_events

        req = _coerce(ChatRequest, request, kwargs)
        body = self._chat_body(req, stream=True)
        url = self.config.ai_url("/chat/stream")
        self._check_budget()

        frames = self.transport.astream_frames(url, body, _response_events)
        async for event in aiter_events(frames):
            if isinstance(event, DoneEvent):
                self._record(event.usage, req.model_id)
            yield event

    # ------------------------------------------------------------------ embeddings

    @staticmethod
    def _embed_request(value: Any, kwargs: Mapping[str, Any]) -> EmbeddingsRequest:
        if isinstance(value, (str, list, tuple)):
            value = {"input": list(value) if isinstance(value, tuple) else value}
        req = _coerce(EmbeddingsRequest, value, kwargs)
        v.validate_embeddings(req)
        return req

    def embed(
        self, input: str | Sequence[str] | EmbeddingsRequest | Mapping[str, Any], /, **kwargs: Any
    ) -> EmbeddingsResponse:
        """Embed one text or up to 100 texts (``POST /ai/embeddings``).

        Args:
            input: A text, a list of texts, an :class:`EmbeddingsRequest` or a mapping.
            **kwargs: ``model_id``, ``dimensions``, ``normalize``.

        Returns:
            One vector per text, in input order.
        """
        req = self._embed_request(input, kwargs)
        self._check_budget()
        response = self.transport.request(
            "POST", self.config.ai_url("/embeddings"), body=_dump(req)
        )
        result = _parse(EmbeddingsResponse, response)
        self._record(result.usage, result.model or req.model_id)
        return result

    async def aembed(
        self, input: str | Sequence[str] | EmbeddingsRequest | Mapping[str, Any], /, **kwargs: Any
    ) -> EmbeddingsResponse:
        """Async twin of :meth:`embed`."""
        req = self._embed_request(input, kwargs)
        self._check_budget()
        response = await self.transport.arequest(
            "POST", self.config.ai_url("/embeddings"), body=_dump(req)
        )
        result = _parse(EmbeddingsResponse, response)
        self._record(result.usage, result.model or req.model_id)
        return result

    def _embed_plan(
        self,
        texts: Sequence[str],
        model: str | None,
        dimensions: int | None,
        normalize: bool | None,
        batch_size: int,
        max_concurrency: int,
    ) -> tuple[BatchPlan, dict[str, Any]]:
        """Check every argument (before anything is sent); the plan and the request options."""
        if isinstance(texts, str):
            raise QuantValidationError(
                "texts: give a list of texts (embed() takes a single text)", field="texts"
            )
        check_batching(batch_size, max_concurrency)
        check_dimensions(model, dimensions)
        options: dict[str, Any] = {"model_id": model or DEFAULT_EMBEDDINGS_MODEL}
        if dimensions is not None:
            options["dimensions"] = dimensions
        if normalize is not None:
            options["normalize"] = normalize
        return plan_batches(texts, batch_size), options

    def embed_many(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        normalize: bool | None = None,
        batch_size: int = MAX_BATCH_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> list[list[float]]:
        """Embed any number of texts: one vector per text, in input order.

        Texts go in requests of at most ``batch_size`` (the API takes 100), up to
        ``max_concurrency`` requests at once on a small thread pool (this client's connection
        pool is shared by the threads). Blank texts are not sent: they get a zero vector of the
        call's vector size (see :mod:`quant_ai.embeddings`). Every argument is checked before
        the first request. When a request fails, the requests not yet started are not sent and
        the error of the first failed batch (in input order) is raised.

        Args:
            texts: The texts.
            model: The embeddings model (default ``amazon.titan-embed-text-v2:0``).
            dimensions: Vector size (the model's default when unset).
            normalize: Unit-length vectors (the service's default is True).
            batch_size: Texts per request, 1 to 100.
            max_concurrency: Requests in flight at once (1: one after the other).

        Returns:
            The vectors.

        Raises:
            QuantValidationError: For bad input, before anything is sent.
            QuantAPIError: For an error answer (the others' results are dropped).
        """
        plan, options = self._embed_plan(
            texts, model, dimensions, normalize, batch_size, max_concurrency
        )
        responses = send_batches(
            lambda group: self.embed(group, **options), plan.texts(texts), max_concurrency
        )
        return assemble_vectors(plan, responses, model=options["model_id"], dimensions=dimensions)

    async def aembed_many(
        self,
        texts: Sequence[str],
        *,
        model: str | None = None,
        dimensions: int | None = None,
        normalize: bool | None = None,
        batch_size: int = MAX_BATCH_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> list[list[float]]:
        """Async twin of :meth:`embed_many`: asyncio tasks under a semaphore, no threads.

        When a request fails, the other requests are cancelled and the error of the first
        failed batch (in input order) is raised.
        """
        plan, options = self._embed_plan(
            texts, model, dimensions, normalize, batch_size, max_concurrency
        )
        responses = await asend_batches(
            lambda group: self.aembed(group, **options), plan.texts(texts), max_concurrency
        )
        return assemble_vectors(plan, responses, model=options["model_id"], dimensions=dimensions)

    # ------------------------------------------------------------------ images

    @staticmethod
    def _image_request(value: Any, kwargs: Mapping[str, Any]) -> ImageGenerationRequest:
        req = _coerce(ImageGenerationRequest, value, kwargs)
        v.validate_image_generation(req)
        return req

    def generate_image(
        self, request: ImageGenerationRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> ImageGenerationResponse:
        """Generate or edit images with Nova Canvas (``POST /ai/image-generation``).

        Returns:
            The images decoded to bytes (plain base64 and ``data:`` URLs are both accepted).
        """
        req = self._image_request(request, kwargs)
        self._check_budget()
        response = self.transport.request(
            "POST",
            self.config.ai_url("/image-generation"),
            body=_dump(req),
            timeout=IMAGE_TIMEOUT,
        )
        return _parse(ImageGenerationResponse, response)

    async def agenerate_image(
        self, request: ImageGenerationRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> ImageGenerationResponse:
        """Async twin of :meth:`generate_image`."""
        req = self._image_request(request, kwargs)
        self._check_budget()
        response = await self.transport.arequest(
            "POST",
            self.config.ai_url("/image-generation"),
            body=_dump(req),
            timeout=IMAGE_TIMEOUT,
        )
        return _parse(ImageGenerationResponse, response)

    @staticmethod
    def text_to_image_request(
        prompt: str,
        *,
        negative_text: str | None = None,
        style: str | None = None,
        width: int | None = None,
        height: int | None = None,
        quality: str | None = None,
        cfg_scale: float | None = None,
        seed: int | None = None,
        number_of_images: int | None = None,
        model_id: str | None = None,
        region: str | None = None,
    ) -> ImageGenerationRequest:
        """Build a ``TEXT_IMAGE`` request (see :func:`quant_ai.images.image_request`)."""
        return image_request(
            "TEXT_IMAGE",
            prompt=prompt,
            negative_prompt=negative_text,
            style=style,
            width=width,
            height=height,
            quality=quality,
            cfg_scale=cfg_scale,
            seed=seed,
            number_of_images=number_of_images,
            model_id=model_id,
            region=region,
        )

    # ------------------------------------------------------------------ executions

    def _execution_url(self, request_id: str) -> str:
        return self.config.ai_url(
            "/chat/executions/" + encode_path_segment(request_id, "execution id")
        )

    def get_execution(self, request_id: str) -> ExecutionStatus:
        """Read a durable execution's status (``GET /ai/chat/executions/{id}``)."""
        return _parse(
            ExecutionStatus, self.transport.request("GET", self._execution_url(request_id))
        )

    async def aget_execution(self, request_id: str) -> ExecutionStatus:
        """Async twin of :meth:`get_execution`."""
        return _parse(
            ExecutionStatus, await self.transport.arequest("GET", self._execution_url(request_id))
        )

    @staticmethod
    def _callback_body(callback_id: str, results: ToolResults) -> bytes | JsonBody:
        # wire names, so that an error names the wire field (callbackId)
        fields = {"callbackId": callback_id, "toolResults": _results(results)}
        req = _coerce(CallbackRequest, fields, {})
        v.validate_callback(req)
        return _dump(req)

    def submit_tool_results(self, callback_id: str, results: ToolResults) -> CallbackResponse:
        """Answer a paused execution's tools (``POST /ai/chat/callback``).

        Args:
            callback_id: From the ``waiting_callback`` status (each works once).
            results: ``{toolUseId: result}`` or a list of :class:`ToolResultItem`; a result that
                is not an object is sent as ``{"result": value}``.
        """
        body = self._callback_body(callback_id, results)
        return _parse(
            CallbackResponse,
            self.transport.request("POST", self.config.ai_url("/chat/callback"), body=body),
        )

    async def asubmit_tool_results(
        self, callback_id: str, results: ToolResults
    ) -> CallbackResponse:
        """Async twin of :meth:`submit_tool_results`."""
        body = self._callback_body(callback_id, results)
        return _parse(
            CallbackResponse,
            await self.transport.arequest("POST", self.config.ai_url("/chat/callback"), body=body),
        )

    def wait_for_execution(
        self,
        request_id: str,
        *,
        tool_handler: ToolHandler | None = None,
        on_status: StatusCallback | None = None,
        initial_delay: float = 1.0,
        max_delay: float = 30.0,
        timeout: float = 900.0,
    ) -> ExecutionStatus:
        """Poll a durable execution until it completes, answering client tools on the way.

        Polls with backoff (``initial_delay`` doubling to ``max_delay``). When the status is
        ``waiting_callback`` and ``tool_handler`` is given, the handler runs on the pending tools
        and the results are submitted once per ``callbackId``; without a handler, the waiting
        status is returned to the caller.

        Args:
            request_id: The execution's id (``ChatAccepted.request_id``).
            tool_handler: Runs pending tools; returns ``{toolUseId: result}``.
            on_status: Called with every status read (for progress reporting).
            initial_delay: First wait between polls, in seconds.
            max_delay: Longest wait between polls.
            timeout: Give up after this many seconds (the execution may still finish).

        Returns:
            The ``complete`` status (or ``waiting_callback`` when no handler was given).

        Raises:
            QuantExecutionFailedError: The execution failed.
            QuantExecutionTimeoutError: It did not finish in time.
        """
        from .durable import ExecutionWaiter, PollSettings  # first use only (import time)

        settings = PollSettings(initial_delay, max_delay, timeout)
        waiter = ExecutionWaiter(self, request_id, settings=settings, on_status=on_status)
        return waiter.wait(tool_handler=tool_handler)

    async def await_for_execution(
        self,
        request_id: str,
        *,
        tool_handler: ToolHandler | None = None,
        on_status: StatusCallback | None = None,
        initial_delay: float = 1.0,
        max_delay: float = 30.0,
        timeout: float = 900.0,
    ) -> ExecutionStatus:
        """Async twin of :meth:`wait_for_execution` (handlers and callbacks may be async)."""
        from .durable import ExecutionWaiter, PollSettings  # first use only (import time)

        settings = PollSettings(initial_delay, max_delay, timeout)
        waiter = ExecutionWaiter(self, request_id, settings=settings, on_status=on_status)
        return await waiter.await_(tool_handler=tool_handler)

    # ------------------------------------------------------------------ models

    def list_models(self, feature: str | None = None) -> ModelList:
        """List models (``GET /ai/models``), optionally by feature (chat, embeddings...)."""
        params = {"feature": feature} if feature else None
        return _parse(
            ModelList, self.transport.request("GET", self.config.ai_url("/models"), params=params)
        )

    async def alist_models(self, feature: str | None = None) -> ModelList:
        """Async twin of :meth:`list_models`."""
        params = {"feature": feature} if feature else None
        return _parse(
            ModelList,
            await self.transport.arequest("GET", self.config.ai_url("/models"), params=params),
        )

    def _model_url(self, model_id: str) -> str:
        return self.config.ai_url("/models/" + encode_path_segment(model_id, "model id"))

    def get_model(self, model_id: str) -> ModelInfo:
        """Describe one model (``GET /ai/models/{modelId}``)."""
        return _parse(ModelInfo, self.transport.request("GET", self._model_url(model_id)))

    async def aget_model(self, model_id: str) -> ModelInfo:
        """Async twin of :meth:`get_model`."""
        return _parse(ModelInfo, await self.transport.arequest("GET", self._model_url(model_id)))


def _response_events(response: httpx.Response) -> list[StreamEvent]:
    """Events equivalent to a JSON (non-SSE) answer to a stream request."""
    if response.status_code == 202:
        accepted = _parse(ChatAccepted, response)
        raise QuantError(
            f"the service started durable execution {accepted.request_id} instead of "
            "streaming; wait for it with wait_for_execution()"
        )
    return list(_events_from_response(_parse(ChatResponse, response)))


def __getattr__(name: str) -> object:
    """Names that moved to :mod:`quant_ai.durable`, loaded when first asked for from here.

    ``ExecutionHandle`` and ``callback_result`` stay importable from ``quant_ai.client``; the
    durable machinery is not part of ``QuantClient``'s import.
    """
    if name in ("ExecutionHandle", "callback_result"):
        from . import durable

        return getattr(durable, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
