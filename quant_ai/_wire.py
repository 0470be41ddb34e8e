"""Building request models and reading response bodies.

Shared by the client and its resource groups (``client.sessions``, ``client.agents``,
``client.usage``), which do not import the client module itself (no import cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import pydantic

from ._validation import from_pydantic
from .errors import QuantAPIError, QuantValidationError

__all__ = ["coerce_request", "parse_response"]

M = TypeVar("M", bound=pydantic.BaseModel)


def coerce_request(model: type[M], value: Any, kwargs: Mapping[str, Any]) -> M:
    """Build a request model from a model, a mapping or keyword arguments.

    Raises:
        QuantValidationError: Naming the first field at fault.
    """
    try:
        if isinstance(value, model):
            return value.model_copy(update=dict(kwargs)) if kwargs else value
        if value is None:
            return model.model_validate(dict(kwargs))
        if isinstance(value, Mapping):
            return model.model_validate({**value, **kwargs})
    except pydantic.ValidationError as exc:
        raise from_pydantic(exc, model.__name__) from None
    raise QuantValidationError(f"expected a {model.__name__} or a mapping, got {type(value)!r}")


def parse_response(model: type[M], response: httpx.Response) -> M:
    """Read a response body into ``model``.

    Raises:
        QuantAPIError: When the body does not fit the model (the status and body kept).
    """
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise QuantAPIError(
            f"unexpected {model.__name__} body: {exc.errors()[0]['msg']}",
            status_code=response.status_code,
            body=response.text[:2000],
        ) from None
