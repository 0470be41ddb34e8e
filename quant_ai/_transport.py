"""The single HTTP transport of :mod:`quant_ai`.

One configuration, one retry policy, one error mapping for sync and async. HTTP clients are
created lazily (so construction is cheap and objects pickle before first use), pooled and
reused; an async client is kept per event loop so that the same object works under several
``asyncio.run`` calls. Callers may inject their own ``httpx.Client`` / ``httpx.AsyncClient``.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from httpx_sse import EventSource, SSEError

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

__all__ = ["DEFAULT_TIMEOUT", "IMAGE_TIMEOUT", "RETRY_STATUSES", "RetryPolicy", "Transport"]

logger = logging.getLogger("quant_ai")

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
"""Connect within 10 s; 120 s for each read, write and pool wait."""
IMAGE_TIMEOUT = httpx.Timeout(360.0, connect=10.0)
"""Image generation can take up to 5 minutes (spec), so reads may wait 6."""
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
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


def _api_error(response: httpx.Response, content: bytes) -> QuantAPIError:
    return error_for_status(
        response.status_code,
        content,
        request_id=_request_id(response),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        reason=response.reason_phrase,
    )


def _scrub(exc: BaseException) -> BaseException:
    """Drop the httpx request (whose headers hold the API key) from an error and its chain.

    The error keeps its type and message, so the cause of a wrapped error stays useful; only
    the ``request`` it carried (URL, headers, body) is forgotten.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.RequestError):
            current._request = None  # httpx keeps it there, with no public setter
        current = current.__cause__ or current.__context__
    return exc


def _wrap_transport_error(exc: httpx.TransportError) -> QuantConnectionError:
    _scrub(exc)
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, httpx.TimeoutException):
        return QuantTimeoutError(f"request timed out ({name}): {detail}")
    return QuantConnectionError(f"connection failed ({name}): {detail}")


class Transport:
    """Sends requests for a :class:`~quant_ai.QuantClient`.

    Args:
        config: Resolved settings.
        timeout: Default timeout (seconds or ``httpx.Timeout``).
        max_retries: Retries for retryable failures.
        http_client: An ``httpx.Client`` to use instead of a private one.
        async_http_client: An ``httpx.AsyncClient`` to use instead of private ones.
        default_headers: Extra headers on every request.
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

    # ------------------------------------------------------------------ requests

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

    def _build(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str,
        body: bytes | JsonBody | None,
        params: Mapping[str, str] | None,
        timeout: httpx.Timeout | None,
        stream: bool = False,
    ) -> httpx.Request:
        headers = self.headers(stream=stream)
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
            method,
            url,
            content=content,
            params=params,
            headers=headers,
            timeout=self._timeout(timeout),
        )

    def _should_retry(self, attempt: int, response: httpx.Response | None) -> float | None:
        if attempt >= self.retry.max_retries:
            return None
        if response is None:
            return self.retry.delay(attempt)
        if response.status_code not in RETRY_STATUSES:
            return None
        header = response.headers.get("x-should-retry")
        if header == "false":
            return None
        return self.retry.delay(attempt, parse_retry_after(response.headers.get("retry-after")))

    def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | JsonBody | None = None,
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Send a request with retries; return the successful (read) response.

        Raises:
            QuantAPIError: For an error status after retries.
            QuantConnectionError: For a connection failure or timeout after retries.
        """
        client = self.http
        attempt = 0
        while True:
            request = self._build(client, method, url, body, params, timeout)
            started = time.perf_counter()
            try:
                response = client.send(request)
            except httpx.TransportError as exc:
                wait = self._should_retry(attempt, None)
                if wait is None:
                    raise _wrap_transport_error(exc) from exc
                logger.info(
                    "quant_ai: %s %s failed (%s); retry in %.2fs",
                    method,
                    request.url.path,
                    type(exc).__name__,
                    wait,
                )
                self.sleep(wait)
                attempt += 1
                continue
            logger.debug(
                "quant_ai: %s %s -> %s in %.3fs",
                method,
                request.url.path,
                response.status_code,
                time.perf_counter() - started,
            )
            if response.status_code < 400:
                return response
            wait = self._should_retry(attempt, response)
            if wait is None:
                raise _api_error(response, response.content)
            logger.info(
                "quant_ai: %s %s -> %s; retry in %.2fs",
                method,
                request.url.path,
                response.status_code,
                wait,
            )
            response.close()
            self.sleep(wait)
            attempt += 1

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        body: bytes | JsonBody | None = None,
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """Async twin of :meth:`request`."""
        client = self.ahttp()
        attempt = 0
        while True:
            request = self._build(client, method, url, body, params, timeout)
            try:
                response = await client.send(request)
            except httpx.TransportError as exc:
                wait = self._should_retry(attempt, None)
                if wait is None:
                    raise _wrap_transport_error(exc) from exc
                logger.info(
                    "quant_ai: %s %s failed (%s); retry in %.2fs",
                    method,
                    request.url.path,
                    type(exc).__name__,
                    wait,
                )
                await self.asleep(wait)
                attempt += 1
                continue
            if response.status_code < 400:
                return response
            wait = self._should_retry(attempt, response)
            if wait is None:
                raise _api_error(response, response.content)
            await response.aclose()
            await self.asleep(wait)
            attempt += 1

    # ------------------------------------------------------------------ streams

    def stream(
        self, url: str, body: bytes | JsonBody, *, timeout: httpx.Timeout | None = None
    ) -> Iterator[httpx.Response | tuple[str, str]]:
        """POST and yield the response head, then its SSE frames as ``(event, data)``.

        The first item is the ``httpx.Response`` (so the caller can see a 202 or a JSON
        answer); SSE frames follow only for ``text/event-stream``. Failures before the first
        frame are retried like any request; a failure after it raises at once.

        Raises:
            QuantAPIError: For an error status after retries.
            QuantConnectionError: For a connection failure before the first frame.
            QuantStreamError: For a connection failure after the first frame.
        """
        client = self.http
        attempt = 0
        while True:
            request = self._build(client, "POST", url, body, None, timeout, stream=True)
            seen_frame = False
            try:
                response = client.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        content = response.read()
                        wait = self._should_retry(attempt, response)
                        if wait is None:
                            raise _api_error(response, content)
                    else:
                        wait = None
                        if not _is_sse(response):
                            response.read()
                            yield response
                            return
                        yield response
                        for sse in EventSource(response).iter_sse():
                            seen_frame = True
                            yield sse.event, sse.data
                        return
                finally:
                    response.close()
            except httpx.TransportError as exc:
                if seen_frame:
                    raise QuantStreamError(f"connection lost mid-stream: {exc}") from _scrub(exc)
                wait = self._should_retry(attempt, None)
                if wait is None:
                    raise _wrap_transport_error(exc) from exc
            except SSEError as exc:  # pragma: no cover - content type checked above
                raise QuantStreamError(str(exc)) from exc
            self.sleep(wait)
            attempt += 1

    async def astream(
        self, url: str, body: bytes | JsonBody, *, timeout: httpx.Timeout | None = None
    ) -> AsyncIterator[httpx.Response | tuple[str, str]]:
        """Async twin of :meth:`stream`."""
        client = self.ahttp()
        attempt = 0
        while True:
            request = self._build(client, "POST", url, body, None, timeout, stream=True)
            seen_frame = False
            try:
                response = await client.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        content = await response.aread()
                        wait = self._should_retry(attempt, response)
                        if wait is None:
                            raise _api_error(response, content)
                    else:
                        wait = None
                        if not _is_sse(response):
                            await response.aread()
                            yield response
                            return
                        yield response
                        async for sse in EventSource(response).aiter_sse():
                            seen_frame = True
                            yield sse.event, sse.data
                        return
                finally:
                    await response.aclose()
            except httpx.TransportError as exc:
                if seen_frame:
                    raise QuantStreamError(f"connection lost mid-stream: {exc}") from _scrub(exc)
                wait = self._should_retry(attempt, None)
                if wait is None:
                    raise _wrap_transport_error(exc) from exc
            except SSEError as exc:  # pragma: no cover - content type checked above
                raise QuantStreamError(str(exc)) from exc
            await self.asleep(wait)
            attempt += 1


def _is_sse(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")
