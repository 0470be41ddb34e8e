"""Errors raised by ``langchain_quant``.

Every error of the ``quant_ai`` core that reaches a LangChain caller is re-raised as a class
that inherits from both the core error and the matching ``langchain_core.exceptions`` class,
so ``except quant_ai.QuantRateLimitError`` and ``except ModelRateLimitError`` both work. The
original error is kept as ``__cause__``; every attribute (``status_code``, ``request_id``,
``retry_after``, ``partial_text``...) is copied. The API key never appears in any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from quant_ai import (
    QuantAPIError,
    QuantAuthenticationError,
    QuantBadRequestError,
    QuantConflictError,
    QuantConnectionError,
    QuantError,
    QuantExecutionFailedError,
    QuantExecutionTimeoutError,
    QuantLocalToolError,
    QuantLocalToolMissingError,
    QuantNotFoundError,
    QuantPermissionDeniedError,
    QuantRateLimitError,
    QuantServerError,
    QuantStreamError,
    QuantTimeoutError,
)

__all__ = [
    "QuantLocalToolError",
    "QuantLocalToolMissingError",
    "QuantModelAPIError",
    "QuantModelAuthenticationError",
    "QuantModelBadRequestError",
    "QuantModelConflictError",
    "QuantModelConnectionError",
    "QuantModelContextOverflowError",
    "QuantModelExecutionFailedError",
    "QuantModelExecutionTimeoutError",
    "QuantModelNotFoundError",
    "QuantModelPermissionDeniedError",
    "QuantModelRateLimitError",
    "QuantModelServerError",
    "QuantModelStreamError",
    "QuantModelTimeoutError",
    "langchain_errors",
    "raise_langchain_error",
    "to_langchain_error",
]


class QuantModelBadRequestError(QuantBadRequestError, ModelInvalidRequestError):
    """400/422: the service refused the request's content."""


class QuantModelContextOverflowError(QuantBadRequestError, ContextOverflowError):
    """400: the prompt is longer than the model's context window."""


class QuantModelAuthenticationError(QuantAuthenticationError, ModelAuthenticationError):
    """401: the API key is missing, malformed, expired or revoked."""


class QuantModelPermissionDeniedError(QuantPermissionDeniedError, ModelPermissionDeniedError):
    """403: the key may not use this organisation, model or feature."""


class QuantModelNotFoundError(QuantNotFoundError, ModelNotFoundError):
    """404: unknown model or organisation."""


class QuantModelConflictError(QuantConflictError, ModelAPIError):
    """409: the request conflicts with the state of a resource."""


class QuantModelRateLimitError(QuantRateLimitError, ModelRateLimitError):
    """429: too many requests or a spend limit was reached (retryable)."""


class QuantModelServerError(QuantServerError, ModelAPIError):
    """5xx: the service failed."""

    is_retryable = True


class QuantModelAPIError(QuantAPIError, ModelAPIError):
    """Any other error status."""


class QuantModelTimeoutError(QuantTimeoutError, ModelTimeoutError):
    """The request timed out."""


class QuantModelConnectionError(QuantConnectionError, ModelConnectionError):
    """The service could not be reached, or the connection broke."""


class QuantModelStreamError(QuantStreamError, ModelAPIError):
    """A stream reported an error, or ended before its ``done`` event."""


class QuantModelExecutionFailedError(QuantExecutionFailedError, ModelAPIError):
    """A durable execution ended ``failed``.

    Attributes: ``request_id``, ``error_type``, ``error_message`` (from the service).
    """


class QuantModelExecutionTimeoutError(QuantExecutionTimeoutError, ModelTimeoutError):
    """Waiting for a durable execution took longer than ``durable_timeout``.

    The execution may still finish: resume it later with ``resume_execution(request_id)``.
    """


_OVERFLOW = re.compile(
    r"context (window|length)|too many (input )?tokens|input is too long|prompt is too long|"
    r"maximum context",
    re.IGNORECASE,
)

_MAP: tuple[tuple[type[QuantError], type[QuantError]], ...] = (
    (QuantAuthenticationError, QuantModelAuthenticationError),
    (QuantPermissionDeniedError, QuantModelPermissionDeniedError),
    (QuantNotFoundError, QuantModelNotFoundError),
    (QuantConflictError, QuantModelConflictError),
    (QuantRateLimitError, QuantModelRateLimitError),
    (QuantServerError, QuantModelServerError),
    (QuantBadRequestError, QuantModelBadRequestError),
    (QuantAPIError, QuantModelAPIError),
    (QuantTimeoutError, QuantModelTimeoutError),
    (QuantConnectionError, QuantModelConnectionError),
    (QuantStreamError, QuantModelStreamError),
    (QuantExecutionFailedError, QuantModelExecutionFailedError),
    (QuantExecutionTimeoutError, QuantModelExecutionTimeoutError),
)


def to_langchain_error(exc: QuantError) -> QuantError:
    """Return ``exc`` as its dual (core + LangChain) class; other errors are returned as is.

    Validation and configuration errors (raised before anything is sent) stay the core's
    ``ValueError`` subclasses.
    """
    target: type[QuantError] | None = None
    if isinstance(exc, QuantBadRequestError) and _OVERFLOW.search(str(exc)):
        target = QuantModelContextOverflowError
    else:
        for source, dual in _MAP:
            if isinstance(exc, source):
                target = dual
                break
    if target is None or isinstance(exc, target):
        return exc
    new = target.__new__(target)
    new.__dict__.update(exc.__dict__)
    new.args = exc.args
    new.__cause__ = exc
    return new


def raise_langchain_error(exc: QuantError) -> NoReturn:
    """Raise ``exc`` as its LangChain dual (``exc`` itself when it has none)."""
    mapped = to_langchain_error(exc)
    if mapped is exc:
        raise exc
    raise mapped from exc


@contextmanager
def langchain_errors() -> Iterator[None]:
    """Re-raise the core errors of the block as their LangChain duals.

    The one way ``ChatQuant`` maps errors: every call into the core runs inside it (works in
    generators too, around the ``yield``).

    Example:
        >>> with langchain_errors():
        ...     pass
    """
    try:
        yield
    except QuantError as exc:
        raise_langchain_error(exc)
