"""Typed errors raised by :mod:`quant_ai`.

Every error derives from :class:`QuantError`. Nothing here ever holds the API key: errors are
built from the status code, the server's message, the request id and the response body only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "QuantAPIError",
    "QuantAuthenticationError",
    "QuantBadRequestError",
    "QuantBudgetExceededError",
    "QuantConfigurationError",
    "QuantConflictError",
    "QuantConnectionError",
    "QuantError",
    "QuantExecutionFailedError",
    "QuantExecutionTimeoutError",
    "QuantLocalToolError",
    "QuantLocalToolMissingError",
    "QuantNotFoundError",
    "QuantPermissionDeniedError",
    "QuantRateLimitError",
    "QuantServerError",
    "QuantStreamError",
    "QuantStructuredOutputError",
    "QuantTimeoutError",
    "QuantValidationError",
    "error_for_status",
]


def _restore(cls: type[QuantError], args: tuple[Any, ...], state: dict[str, Any]) -> QuantError:
    """Rebuild a pickled error without calling its ``__init__`` (see ``__reduce__``)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class QuantError(Exception):
    """Base class of every error raised by this package.

    Errors pickle and unpickle whatever their constructor's signature (they cross process
    boundaries with Ray, multiprocessing and task queues); what is pickled is the message and
    the attributes, never a request or the API key.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class QuantConfigurationError(QuantError, ValueError):
    """The client is missing a setting (API key, organisation) or a setting is unusable."""


class QuantValidationError(QuantError, ValueError):
    """A request was refused on the client side, before anything was sent.

    Attributes:
        field: The wire field (dotted path) at fault, when one can be named.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class QuantStructuredOutputError(QuantError, ValueError):
    """A structured answer could not be read: it is not JSON or does not fit the schema.

    Attributes:
        text: The model's answer as received.
    """

    def __init__(self, message: str, *, text: str = "") -> None:
        super().__init__(message)
        self.text = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),), {"text": self.text})


class QuantBudgetExceededError(QuantError):
    """A spending budget was reached, so a call was refused before it was sent.

    The call that reached the budget returned its answer; this is raised by the next call
    that can cost money (see :mod:`quant_ai.usage`).

    Attributes:
        spent_cents: What was spent when the call was refused, in US cents.
        max_cost_cents: The budget, in US cents.
    """

    def __init__(self, spent_cents: float, max_cost_cents: float) -> None:
        self.spent_cents = spent_cents
        self.max_cost_cents = max_cost_cents
        super().__init__(
            f"budget of {max_cost_cents:g} US cents reached ({spent_cents:.6g} spent); the call "
            "was not sent (raise max_cost_cents or start a new budget to go on)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.spent_cents, self.max_cost_cents))


class QuantAPIError(QuantError):
    """The service answered with an error status.

    Attributes:
        status_code: The HTTP status.
        message: The server's message (from ``message``, ``error``, ``errors`` or ``code``).
        request_id: The request id, from the body or the response headers, when known.
        body: The decoded JSON body (or the text) of the response.
        code: A machine-readable error code when the body carries one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body: Any = None,
        code: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.request_id = request_id
        self.body = body
        self.code = code
        detail = f"HTTP {status_code}: {message}"
        if request_id:
            detail += f" (request id {request_id})"
        super().__init__(detail)


class QuantBadRequestError(QuantAPIError):
    """400 or 422: the service refused the request's content."""


class QuantAuthenticationError(QuantAPIError):
    """401: the API key is missing, malformed, expired or revoked."""


class QuantPermissionDeniedError(QuantAPIError):
    """403: the key may not use this organisation, model or feature."""


class QuantNotFoundError(QuantAPIError):
    """404: unknown model, execution, callback or organisation."""


class QuantConflictError(QuantAPIError):
    """409: the request conflicts with the state of a resource."""


class QuantRateLimitError(QuantAPIError):
    """429: too many requests or a spend limit was reached.

    Attributes:
        retry_after: Seconds the server asked to wait, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class QuantServerError(QuantAPIError):
    """5xx: the service failed."""


class QuantConnectionError(QuantError):
    """The service could not be reached, or the connection broke."""


class QuantTimeoutError(QuantConnectionError):
    """The request timed out (connect, read, write or pool)."""


class QuantStreamError(QuantError):
    """A stream reported an error event, or ended before its ``done`` event.

    Attributes:
        partial_text: The text received before the failure, so nothing is lost.
        request_id: The request id from the ``start`` event, when one arrived.
    """

    def __init__(
        self, message: str, *, partial_text: str = "", request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.request_id = request_id


class QuantExecutionFailedError(QuantError):
    """A durable execution ended with status ``failed``.

    Attributes:
        request_id: The execution's id.
        error_type: ``ErrorType`` reported by the service.
        error_message: ``ErrorMessage`` reported by the service.
    """

    def __init__(self, request_id: str, error_type: str | None, error_message: str | None) -> None:
        self.request_id = request_id
        self.error_type = error_type
        self.error_message = error_message
        super().__init__(
            f"execution {request_id} failed: {error_type or 'Error'}: "
            f"{error_message or 'no message'}"
        )


class QuantExecutionTimeoutError(QuantError):
    """Waiting for a durable execution took longer than allowed.

    Attributes:
        request_id: The execution's id (it may still finish: resume with it later).
        last_status: The last status seen.
    """

    def __init__(self, request_id: str, waited: float, last_status: str | None) -> None:
        self.request_id = request_id
        self.last_status = last_status
        super().__init__(
            f"execution {request_id} still {last_status or 'unknown'} after {waited:.0f}s; "
            "resume waiting later with the same id"
        )


class QuantLocalToolMissingError(QuantError, LookupError):
    """A durable execution waits for client tools that are not available locally.

    Nothing was submitted: the execution stays paused and can be resumed with the missing
    tools (``resume_execution(request_id, tools=[...])`` in both adapters).

    Attributes:
        request_id: The execution's id.
        callback_id: The callback the tools should answer.
        tool_names: The missing tools.
        available: The tools that are available locally.
    """

    def __init__(
        self,
        request_id: str,
        callback_id: str | None,
        tool_names: list[str],
        available: list[str],
        *,
        how_to_provide: str = "Provide them as local tools",
    ) -> None:
        self.request_id = request_id
        self.callback_id = callback_id
        self.tool_names = tool_names
        self.available = available
        names = ", ".join(repr(n) for n in tool_names)
        have = ", ".join(repr(n) for n in available) or "none"
        super().__init__(
            f"durable execution {request_id} waits for client tool(s) {names}, which are not "
            f"available locally (local tools: {have}). {how_to_provide}, or resume with "
            f"resume_execution({request_id!r}, tools=[...]); the execution stays paused."
        )

    @classmethod
    def check(
        cls,
        request_id: str,
        callback_id: str | None,
        wanted: Iterable[str],
        available: Iterable[str],
        *,
        how_to_provide: str = "Provide them as local tools",
    ) -> None:
        """Raise when a tool in ``wanted`` is not in ``available``.

        Raises:
            QuantLocalToolMissingError: Naming every missing tool.
        """
        have = set(available)
        missing = sorted({name for name in wanted if name not in have})
        if missing:
            raise cls(request_id, callback_id, missing, sorted(have), how_to_provide=how_to_provide)


class QuantLocalToolError(QuantError, RuntimeError):
    """A local tool raised while answering a durable execution's callback.

    The tool's own exception is the ``__cause__``. Nothing was submitted for that callback:
    the execution stays paused, and can be resumed (with a tool that works) from
    ``request_id``.

    Attributes:
        request_id: The execution's id.
        callback_id: The callback the tool was answering.
        tool_name: The tool that raised.
    """

    def __init__(self, request_id: str, callback_id: str | None, tool_name: str) -> None:
        self.request_id = request_id
        self.callback_id = callback_id
        self.tool_name = tool_name
        super().__init__(
            f"local tool {tool_name!r} raised while answering durable execution {request_id} "
            f"(see the cause above); nothing was submitted, so the execution stays paused: "
            f"resume it with resume_execution({request_id!r}, tools=[...])"
        )


def _message_from_body(body: Any) -> tuple[str | None, str | None]:
    """Pick the server's message and code out of the error bodies seen from Quant."""
    if not isinstance(body, Mapping):
        return None, None
    code = body.get("code")
    code_s = str(code) if code is not None else None
    message = body.get("message")
    error = body.get("error")
    errors = body.get("errors")
    parts: list[str] = []
    if isinstance(message, str) and message:
        parts.append(message)
    if isinstance(error, str) and error and error != message:
        parts.append(error)
    elif isinstance(error, Mapping):
        inner = error.get("message") or error.get("ErrorMessage")
        if inner:
            parts.append(str(inner))
        if code_s is None and error.get("code"):
            code_s = str(error.get("code"))
    if isinstance(errors, Mapping) and errors:
        details = []
        for field, msgs in errors.items():
            text = "; ".join(map(str, msgs)) if isinstance(msgs, list) else str(msgs)
            detail = f"{field}: {text}"
            # Laravel's message already states the first error: say each thing once.
            if not any(detail in part or text == part for part in parts):
                details.append(detail)
        if details:
            parts.append("(" + ", ".join(details) + ")")
    elif isinstance(errors, list) and errors:
        parts.append("(" + "; ".join(map(str, errors)) + ")")
    if not parts and code_s:
        parts.append(code_s)
    return (" ".join(parts) or None), code_s


_STATUS_CLASSES: dict[int, type[QuantAPIError]] = {
    400: QuantBadRequestError,
    401: QuantAuthenticationError,
    403: QuantPermissionDeniedError,
    404: QuantNotFoundError,
    409: QuantConflictError,
    422: QuantBadRequestError,
    429: QuantRateLimitError,
}

_HINTS: dict[int, str] = {
    401: "check QUANT_API_KEY (a Quant dashboard API token)",
    403: "check that the token may use this organisation (QUANT_ORGANIZATION) and model",
    404: "check the organisation machine name, model id or execution id",
}


def error_for_status(
    status_code: int,
    content: bytes,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    reason: str = "",
) -> QuantAPIError:
    """Build the typed error for an HTTP error response.

    Args:
        status_code: The HTTP status (>= 400).
        content: The raw response body.
        request_id: The request id from the response headers, if any.
        retry_after: Parsed ``Retry-After`` seconds, if any.
        reason: The HTTP reason phrase, used when the body says nothing.

    Returns:
        The matching :class:`QuantAPIError` subclass instance.
    """
    body: Any
    try:
        body = json.loads(content) if content else None
    except ValueError:
        body = content.decode("utf-8", "replace")[:2000]
    message, code = _message_from_body(body)
    if message is None:
        message = body.strip() if isinstance(body, str) and body.strip() else (reason or "error")
    if isinstance(body, Mapping) and not request_id:
        rid = body.get("requestId") or body.get("request_id")
        request_id = str(rid) if rid else None
    hint = _HINTS.get(status_code)
    if hint:
        message = f"{message} ({hint})"
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = QuantServerError if status_code >= 500 else QuantAPIError
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "request_id": request_id,
        "body": body,
        "code": code,
    }
    if cls is QuantRateLimitError:
        return QuantRateLimitError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)
