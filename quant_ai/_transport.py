"""The single HTTP transport of :mod:`quant_ai`.

One configuration, one retry decision, one error mapping, and one send loop per flavour:
:meth:`Transport._send` (sync) and :meth:`Transport._asend` (async) serve plain requests and
streams alike (a stream is a flag of the same loop). Everything both loops must agree on is
written once and called by both:

- :meth:`Transport._retry_wait` decides whether a failed attempt is retried and how long to wait
  (status, ``x-should-retry``, ``Retry-After``/``retry-after-ms``, attempts left, whether the
  request may be replayed) and logs the decision;
- :func:`_wrap_transport_error` turns an httpx failure into a :class:`QuantConnectionError`
  that keeps the failure's type name and message but never chains the httpx exception (whose
  ``.request`` carries the ``Authorization`` header): it chains a sanitised copy;
- :func:`_api_error` turns an error status into the matching :class:`QuantAPIError`.

A request that creates server state is sent with ``replayable=False``: it is retried only when
it provably did not reach the service (the connection was never made, or the service answered
408/429/503), never after a read timeout, a write error or a connection lost once its body may
have been sent. A stream is retried until its first frame arrives; a failure after that raises
:class:`QuantStreamError` at once.

Before every attempt the loops ask the optional :class:`~quant_ai.RateLimiter` (``acquire``) how
long to wait, and a 429 with ``Retry-After`` is reported to it (``backoff``) so every request
sharing it waits. HTTP clients are created lazily (so construction is cheap and objects pickle
before first use), pooled and reused; an async client is kept per event loop so that the same
object works under several ``asyncio.run`` calls. Callers may inject their own ``httpx.Client``
/ ``httpx.AsyncClient``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent

from ._body import CHUNK_SIZE, JsonBody
from ._config import ClientConfig
from ._version import __version__
from .errors import (
    QuantAPIError,
    QuantConnectionError,
    QuantStreamError,
    QuantTimeoutError,
    error_for_status,
)

if TYPE_CHECKING:
    import asyncio

    from ._ratelimit import RateLimiter

__all__ = [
    "DEFAULT_TIMEOUT",
    "IMAGE_TIMEOUT",
    "NOT_PROCESSED_STATUSES",
    "RETRY_STATUSES",
    "AsyncStreamResponse",
    "RetryPolicy",
    "SSEFrame",
    "StreamResponse",
    "Transport",
]

logger = logging.getLogger("quant_ai")

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
"""Connect within 10 s; 120 s for each read, write and pool wait."""
IMAGE_TIMEOUT = httpx.Timeout(360.0, connect=10.0)
"""Image generation can take up to 5 minutes (spec), so reads may wait 6."""
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
"""Statuses a replayable request is retried on."""
NOT_PROCESSED_STATUSES = frozenset({408, 429, 503})
"""Statuses saying the request was not processed: a non-replayable request is retried on them."""
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
"""Failures that happen before any byte of the request left: safe to retry any request."""
T = TypeVar("T")
USER_AGENT = f"quant-ai-python/{__version__} httpx/{httpx.__version__}"
_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-quant-request-id")


class RetryPolicy:
    """Exponential backoff with jitter, honouring ``Retry-After``.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Delay before the first retry, in seconds.
        max_delay: Upper bound of a computed delay.
        max_retry_after: Upper bound of a server-requested ``Retry-After`` wait.
    """

    def __init__(
        self,
        max_retries: int = 2,
        *,
        initial_delay: float = 0.5,
        max_delay: float = 8.0,
        max_retry_after: float = 60.0,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.random: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        base = min(self.initial_delay * (2.0**attempt), self.max_delay)
        return base * (1.0 - 0.25 * self.random())


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Parse ``Retry-After`` (seconds, or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after_of(headers: httpx.Headers) -> float | None:
    """The wait a response asks for: ``retry-after-ms`` first, else ``Retry-After``."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    return parse_retry_after(headers.get("retry-after"))


async def _asleep(seconds: float) -> None:
    """``asyncio.sleep`` (asyncio is imported on first async use, not with the module)."""
    import asyncio

    await asyncio.sleep(seconds)


def _request_id(response: httpx.Response) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return str(value)
    return None


def _api_error(response: httpx.Response) -> QuantAPIError:
    return error_for_status(
        response.status_code,
        response.content,
        request_id=_request_id(response),
        retry_after=retry_after_of(response.headers),
        reason=response.reason_phrase,
    )


def _sanitised(exc: httpx.RequestError) -> httpx.RequestError:
    """A copy of ``exc`` (same type and message) whose request carries no credentials.

    The original's ``.request`` holds the ``Authorization`` header and its traceback the
    frames that built it; the copy keeps only the method and URL, so it can be chained.
    """
    request: httpx.Request | None = None
    try:
        original = exc.request
    except RuntimeError:  # an exception raised without a request
        original = None
    if original is not None:
        request = httpx.Request(original.method, original.url)
    try:
        clean = type(exc)(str(exc), request=request)
    except TypeError:  # pragma: no cover - a subclass with another signature
        clean = httpx.RequestError(str(exc), request=request)
    return clean


def _wrap_transport_error(
    exc: httpx.RequestError, *, may_have_started: bool = False
) -> QuantConnectionError:
    """The :class:`QuantConnectionError` of an httpx failure, chained to a sanitised copy.

    Raise the result outside the ``except`` block that caught ``exc`` (or ``from`` the chained
    copy), so that the original does not become its ``__context__``.

    Args:
        exc: The failure.
        may_have_started: The request creates server state and may have reached the service;
            the message says so, as it was not retried.
    """
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, httpx.TimeoutException):
        error: QuantConnectionError = QuantTimeoutError(f"request timed out ({name}): {detail}")
    else:
        error = QuantConnectionError(f"connection failed ({name}): {detail}")
    if may_have_started:
        error.args = (
            f"{error.args[0]}; the request may have reached the service and started (it "
            "creates server state, so it was not retried): check before sending it again",
        )
    error.__cause__ = _sanitised(exc)
    error.__suppress_context__ = True
    return error


def _stream_error(exc: httpx.RequestError) -> QuantStreamError:
    """The :class:`QuantStreamError` of a connection lost after the first frame."""
    error = QuantStreamError(f"connection lost mid-stream: {exc}")
    error.__cause__ = _sanitised(exc)
    error.__suppress_context__ = True
    return error


def _is_sse(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")


class SSEFrame(NamedTuple):
    """One server-sent event as received: its name and its raw data."""

    event: str
    data: str


@dataclass(frozen=True)
class _Call:
    """One logical request (every attempt of it is built from this)."""

    method: str
    url: str
    body: bytes | JsonBody | None
    params: Mapping[str, str] | None
    timeout: httpx.Timeout | None
    stream: bool
    replayable: bool


class StreamResponse:
    """The answer to a stream request: the response head and an iterator of its SSE frames.

    When the service answered JSON instead of SSE (a buffered answer, a 202), the body is read
    and the iterator is empty; check :attr:`is_sse`. Iterating raises
    :class:`QuantStreamError` if the connection is lost (the stream is not retried once its
    first frame arrived). Closing it (or exhausting it) releases the connection.

    Attributes:
        response: The response (status, headers; the body when not SSE).
    """

    def __init__(self, response: httpx.Response, frames: Iterator[SSEFrame]) -> None:
        self.response = response
        self._frames = frames

    @property
    def is_sse(self) -> bool:
        """Whether the service answered with ``text/event-stream``."""
        return _is_sse(self.response)

    def __iter__(self) -> Iterator[SSEFrame]:
        return self._frames

    def close(self) -> None:
        """Stop reading and release the connection."""
        close = getattr(self._frames, "close", None)
        if close is not None:
            close()
        self.response.close()


class AsyncStreamResponse:
    """Async twin of :class:`StreamResponse`."""

    def __init__(self, response: httpx.Response, frames: AsyncIterator[SSEFrame]) -> None:
        self.response = response
        self._frames = frames

    @property
    def is_sse(self) -> bool:
        """Whether the service answered with ``text/event-stream``."""
        return _is_sse(self.response)

    def __aiter__(self) -> AsyncIterator[SSEFrame]:
        return self._frames

    async def aclose(self) -> None:
        """Stop reading and release the connection."""
        aclose = getattr(self._frames, "aclose", None)
        if aclose is not None:
            await aclose()
        await self.response.aclose()


def _frames(
    first: ServerSentEvent | None, rest: Iterator[ServerSentEvent], response: httpx.Response
) -> Iterator[SSEFrame]:
    """The frames after the head (the first one already read); mid-stream failures typed."""
    lost: httpx.RequestError | None = None
    try:
        if first is None:
            return
        yield SSEFrame(first.event, first.data)
        try:
            for sse in rest:
                yield SSEFrame(sse.event, sse.data)
        except httpx.RequestError as exc:
            lost = exc
    finally:
        response.close()
    if lost is not None:
        raise _stream_error(lost)


async def _aframes(
    first: ServerSentEvent | None, rest: AsyncIterator[ServerSentEvent], response: httpx.Response
) -> AsyncIterator[SSEFrame]:
    """Async twin of :func:`_frames`."""
    lost: httpx.RequestError | None = None
    try:
        if first is None:
            return
        yield SSEFrame(first.event, first.data)
        try:
            async for sse in rest:
                yield SSEFrame(sse.event, sse.data)
        except httpx.RequestError as exc:
            lost = exc
    finally:
        await response.aclose()
    if lost is not None:
        raise _stream_error(lost)


def _no_frames() -> Iterator[SSEFrame]:
    return iter(())


async def _no_aframes() -> AsyncIterator[SSEFrame]:
    return
    yield  # pragma: no cover - makes this an async generator


class Transport:
    """Sends requests for a :class:`~quant_ai.QuantClient`.

    Args:
        config: Resolved settings.
        timeout: Default timeout (seconds or ``httpx.Timeout``).
        max_retries: Retries for retryable failures.
        http_client: An ``httpx.Client`` to use instead of a private one.
        async_http_client: An ``httpx.AsyncClient`` to use instead of private ones.
        default_headers: Extra headers on every request.
        rate_limiter: Paces every attempt and shares 429 backoffs (see
            :class:`~quant_ai.RateLimiter`).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        default_headers: Mapping[str, str] | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self.config = config
        self.timeout_set = timeout is not None
        if timeout is None:
            self.timeout = DEFAULT_TIMEOUT
        elif isinstance(timeout, httpx.Timeout):
            self.timeout = timeout
        else:
            self.timeout = httpx.Timeout(timeout)
        self.retry = RetryPolicy(max_retries)
        self.default_headers = dict(default_headers or {})
        self.rate_limiter = rate_limiter
        self._http = http_client
        self._owns_http = http_client is None
        self._ahttp = async_http_client
        self._ahttp_by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, httpx.AsyncClient
        ] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep
        self.asleep: Callable[[float], Awaitable[None]] = _asleep

    # ------------------------------------------------------------------ state

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_http"] = None if self._owns_http else self._http
        state["_ahttp_by_loop"] = None
        state["_lock"] = None
        state["sleep"] = None
        state["asleep"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._ahttp_by_loop = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.sleep = time.sleep
        self.asleep = _asleep

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(max_connections=1000, max_keepalive_connections=100)

    @property
    def http(self) -> httpx.Client:
        """The sync client (created on first use)."""
        if self._http is None:
            with self._lock:
                if self._http is None:
                    self._http = httpx.Client(
                        timeout=self.timeout, limits=self._limits(), follow_redirects=False
                    )
        return self._http

    def ahttp(self) -> httpx.AsyncClient:
        """The async client for the running event loop (created on first use)."""
        if self._ahttp is not None:
            return self._ahttp
        import asyncio

        loop = asyncio.get_running_loop()
        client = self._ahttp_by_loop.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                timeout=self.timeout, limits=self._limits(), follow_redirects=False
            )
            self._ahttp_by_loop[loop] = client
        return client

    def close(self) -> None:
        """Close the private sync client (an injected one is left to its owner)."""
        if self._owns_http and self._http is not None:
            self._http.close()
            self._http = None

    async def aclose(self) -> None:
        """Close the private async client of the running loop."""
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - always called from a coroutine
            return
        client = self._ahttp_by_loop.pop(loop, None)
        if client is not None:
            await client.aclose()

    # ------------------------------------------------------------------ building

    def headers(self, *, stream: bool = False) -> dict[str, str]:
        """Headers of a request (the key is read from its SecretStr only here)."""
        key, _ = self.config.require()
        headers = {
            "Accept": "text/event-stream, application/json" if stream else "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **self.default_headers,
            "Authorization": f"Bearer {key.get_secret_value()}",
        }
        return headers

    def _timeout(self, timeout: httpx.Timeout | None) -> httpx.Timeout:
        if timeout is not None and not self.timeout_set:
            return timeout
        return self.timeout

    def _build(self, client: httpx.Client | httpx.AsyncClient, call: _Call) -> httpx.Request:
        headers = self.headers(stream=call.stream)
        body = call.body
        content: Any = body
        if body is not None and (isinstance(body, JsonBody) or len(body) > CHUNK_SIZE):
            # Large bodies go out in slices (a fresh iterator per attempt): httpcore's sync
            # writer copies what is left of a buffer after each partial send, asyncio's
            # transport buffers a copy, and a JsonBody is never joined at all.
            parts = body if isinstance(body, JsonBody) else JsonBody([body])
            is_async = isinstance(client, httpx.AsyncClient)
            content = parts.achunks() if is_async else parts.chunks()
            headers["Content-Length"] = str(len(parts))
        return client.build_request(
            call.method,
            call.url,
            content=content,
            params=call.params,
            headers=headers,
            timeout=self._timeout(call.timeout),
        )

    # ------------------------------------------------------------------ the shared decision

    def _retry_wait(
        self,
        call: _Call,
        attempt: int,
        *,
        response: httpx.Response | None = None,
        error: httpx.RequestError | None = None,
    ) -> float | None:
        """Decide whether attempt ``attempt`` (0-based) is retried; return the wait, or None.

        The one retry rule of both send loops (and the one place that logs retries):

        - an error status is retried if it is in :data:`RETRY_STATUSES`, unless the response
          says ``x-should-retry: false``; a non-replayable request only on
          :data:`NOT_PROCESSED_STATUSES` (or when the service says ``x-should-retry: true``);
        - a transport failure is retried (other request errors, e.g. a body that does not
          decode, are not), except for a non-replayable request, which is retried
          only on :data:`NOT_SENT_ERRORS` (the request never left);
        - the wait is ``retry-after-ms`` / ``Retry-After`` when given (capped), else
          exponential backoff with jitter; a 429's wait is also reported to the rate limiter,
          so every request sharing it waits;
        - nothing is retried after ``max_retries`` retries.
        """
        path = httpx.URL(call.url).path
        retry_after: float | None = None
        if response is not None:
            code = response.status_code
            should = response.headers.get("x-should-retry")
            retry_after = retry_after_of(response.headers)
            if code == 429 and retry_after is not None and self.rate_limiter is not None:
                self.rate_limiter.backoff(min(retry_after, self.retry.max_retry_after))
            allowed = RETRY_STATUSES if call.replayable else NOT_PROCESSED_STATUSES
            if should == "false" or code not in RETRY_STATUSES:
                return None
            if code not in allowed and should != "true":
                logger.info(
                    "quant_ai: %s %s -> %s; not retried (the request creates server state)",
                    call.method,
                    path,
                    code,
                )
                return None
            what = str(code)
        else:
            assert error is not None
            if not isinstance(error, httpx.TransportError):
                return None  # a bad encoding or the like: the same answer again
            if not call.replayable and not isinstance(error, NOT_SENT_ERRORS):
                logger.info(
                    "quant_ai: %s %s failed (%s) after it may have been sent; not retried "
                    "(the request creates server state)",
                    call.method,
                    path,
                    type(error).__name__,
                )
                return None
            what = f"failed ({type(error).__name__})"
        if attempt >= self.retry.max_retries:
            return None
        wait = self.retry.delay(attempt, retry_after)
        logger.info("quant_ai: %s %s -> %s; retry in %.2fs", call.method, path, what, wait)
        return wait

    def _failure(self, call: _Call, error: httpx.RequestError) -> QuantConnectionError:
        return _wrap_transport_error(
            error, may_have_started=not call.replayable and not isinstance(error, NOT_SENT_ERRORS)
        )

    @staticmethod
    def _log(call: _Call, response: httpx.Response, started: float) -> None:
        logger.debug(
            "quant_ai: %s %s -> %s in %.3fs",
            call.method,
            response.request.url.path,
            response.status_code,
            time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ the sync loop

    def _pace(self) -> None:
        if self.rate_limiter is not None:
            wait = self.rate_limiter.acquire()
            if wait > 0:
                self.sleep(wait)

    def _send(self, call: _Call) -> StreamResponse:
        """Send ``call`` with retries; the only sync send loop.

        Returns:
            The successful response: read, with no frames, for a plain request or a non-SSE
            answer; for an SSE answer, its head and its frames, the first one already read.

        Raises:
            QuantAPIError: For an error status after retries.
            QuantConnectionError: For a connection failure or timeout after retries.
        """
        client = self.http
        attempt = 0
        while True:
            self._pace()
            request = self._build(client, call)
            started = time.perf_counter()
            failure: httpx.RequestError | None = None
            try:
                response = client.send(request, stream=call.stream)
                try:
                    opened = self._open(call, response)
                except BaseException:
                    response.close()
                    raise
            except httpx.RequestError as exc:
                failure = exc
            if failure is not None:
                wait = self._retry_wait(call, attempt, error=failure)
                if wait is None:
                    raise self._failure(call, failure)
            else:
                self._log(call, response, started)
                if response.status_code < 400:
                    return opened
                wait = self._retry_wait(call, attempt, response=response)
                if wait is None:
                    raise _api_error(response)
            self.sleep(wait)
            attempt += 1

    @staticmethod
    def _open(call: _Call, response: httpx.Response) -> StreamResponse:
        """Read what must be read before deciding: the body, or an SSE stream's first frame."""
        if not call.stream:
            return StreamResponse(response, _no_frames())
        if response.status_code >= 400 or not _is_sse(response):
            response.read()
            response.close()
            return StreamResponse(response, _no_frames())
        events = EventSource(response).iter_sse()
        first = next(events, None)
        return StreamResponse(response, _frames(first, events, response))

    # ------------------------------------------------------------------ the async loop

    async def _apace(self) -> None:
        if self.rate_limiter is not None:
            wait = await self.rate_limiter.aacquire()
            if wait > 0:
                await self.asleep(wait)

    async def _asend(self, call: _Call) -> AsyncStreamResponse:
        """Async twin of :meth:`_send`; the only async send loop."""
        client = self.ahttp()
        attempt = 0
        while True:
            await self._apace()
            request = self._build(client, call)
            started = time.perf_counter()
            failure: httpx.RequestError | None = None
            try:
                response = await client.send(request, stream=call.stream)
                try:
                    opened = await self._aopen(call, response)
                except BaseException:
                    await response.aclose()
                    raise
            except httpx.RequestError as exc:
                failure = exc
            if failure is not None:
                wait = self._retry_wait(call, attempt, error=failure)
                if wait is None:
                    raise self._failure(call, failure)
            else:
                self._log(call, response, started)
                if response.status_code < 400:
                    return opened
                wait = self._retry_wait(call, attempt, response=response)
                if wait is None:
                    raise _api_error(response)
            await self.asleep(wait)
            attempt += 1

    @staticmethod
    async def _aopen(call: _Call, response: httpx.Response) -> AsyncStreamResponse:
        """Async twin of :meth:`_open`."""
        if not call.stream:
            return AsyncStreamResponse(response, _no_aframes())
        if response.status_code >= 400 or not _is_sse(response):
            await response.aread()
            await response.aclose()
            return AsyncStreamResponse(response, _no_aframes())
        events = EventSource(response).aiter_sse()
        first = await anext(events, None)
        return AsyncStreamResponse(response, _aframes(first, events, response))

    # ------------------------------------------------------------------ entry points

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | JsonBody | None = None,
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        replayable: bool = True,
    ) -> httpx.Response:
        """Send a request with retries; return the successful (read) response.

        Args:
            method: HTTP method.
            url: Absolute URL.
            body: JSON body (bytes, or a :class:`JsonBody` sent in slices).
            params: Query parameters.
            timeout: The operation's default timeout (a client-wide timeout wins).
            replayable: False for a request that creates server state: it is then retried
                only when it provably did not reach the service.

        Raises:
            QuantAPIError: For an error status after retries.
            QuantConnectionError: For a connection failure or timeout after retries.
        """
        call = _Call(method, url, body, params, timeout, False, replayable)
        return self._send(call).response

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        body: bytes | JsonBody | None = None,
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        replayable: bool = True,
    ) -> httpx.Response:
        """Async twin of :meth:`request`."""
        call = _Call(method, url, body, params, timeout, False, replayable)
        return (await self._asend(call)).response

    def stream(
        self,
        url: str,
        body: bytes | JsonBody,
        *,
        timeout: httpx.Timeout | None = None,
        replayable: bool = True,
    ) -> StreamResponse:
        """POST a stream request; return its head and frames once the first frame arrived.

        Failures before the first frame are retried like any request; iterating the frames
        raises :class:`QuantStreamError` for a connection lost after it.

        Raises:
            QuantAPIError: For an error status after retries.
            QuantConnectionError: For a connection failure before the first frame.
        """
        return self._send(_Call("POST", url, body, None, timeout, True, replayable))

    async def astream(
        self,
        url: str,
        body: bytes | JsonBody,
        *,
        timeout: httpx.Timeout | None = None,
        replayable: bool = True,
    ) -> AsyncStreamResponse:
        """Async twin of :meth:`stream`."""
        return await self._asend(_Call("POST", url, body, None, timeout, True, replayable))

    def stream_frames(
        self,
        url: str,
        body: bytes | JsonBody,
        on_json: Callable[[httpx.Response], Iterable[T]],
        *,
        timeout: httpx.Timeout | None = None,
        replayable: bool = True,
    ) -> Iterator[SSEFrame | T]:
        """Yield a stream's SSE frames, or ``on_json(response)`` for a JSON answer.

        A generator: the request is sent when it is first advanced, and the connection is
        released when it ends or is closed. ``on_json`` turns a buffered answer (or a 202) into
        the caller's events (or raises).
        """
        opened = self.stream(url, body, timeout=timeout, replayable=replayable)
        try:
            if opened.is_sse:
                yield from opened
            else:
                yield from on_json(opened.response)
        finally:
            opened.close()

    async def astream_frames(
        self,
        url: str,
        body: bytes | JsonBody,
        on_json: Callable[[httpx.Response], Iterable[T]],
        *,
        timeout: httpx.Timeout | None = None,
        replayable: bool = True,
    ) -> AsyncIterator[SSEFrame | T]:
        """Async twin of :meth:`stream_frames`."""
        opened = await self.astream(url, body, timeout=timeout, replayable=replayable)
        try:
            if opened.is_sse:
                async for frame in opened:
                    yield frame
            else:
                for item in on_json(opened.response):
                    yield item
        finally:
            await opened.aclose()
