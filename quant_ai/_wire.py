"""Building request models and reading response bodies.

Shared by the client and its resource groups (``client.sessions``, ``client.agents``,
``client.usage``), which do not import the client module itself (no import cycle).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
import pydantic
from pydantic.alias_generators import to_camel

from .errors import QuantAPIError, QuantValidationError

__all__ = ["coerce_request", "from_pydantic", "parse_response", "wire_field"]

M = TypeVar("M", bound=pydantic.BaseModel)


_BRANCHES = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})
_TAGS = frozenset({"text", "image", "video", "document", "toolUse", "toolResult"})


def wire_field(loc: tuple[int | str, ...], *, keep_last: bool = False) -> str:
    """The wire path of a pydantic error location, without union-branch and tag segments.

    ``('messages', 0, 'content', 'list[tagged-union[...]]', 3, 'document', 'document',
    'name')`` becomes ``messages.0.content.3.document.name``; a field given by its Python
    name is named by its wire name (``image_variation_params`` -> ``imageVariationParams``),
    except the last segment when ``keep_last`` (an unknown key, named as it was given).
    """
    parts: list[str] = []
    after_index = False
    for i, seg in enumerate(loc):
        if isinstance(seg, str) and ("[" in seg or seg in _BRANCHES):
            continue
        if isinstance(seg, str) and after_index and seg in _TAGS and i + 1 < len(loc):
            after_index = False  # the tag of a content block, repeated as its field
            continue
        text = str(seg)
        last = i == len(loc) - 1
        if "_" in text.strip("_") and not (last and keep_last):
            text = to_camel(text.rstrip("_"))  # a field given by its Python name
        parts.append(text if last and keep_last else text.rstrip("_"))
        after_index = isinstance(seg, int)
    return ".".join(parts) or "body"


def from_pydantic(exc: pydantic.ValidationError, model: str) -> QuantValidationError:
    """A :class:`QuantValidationError` naming the field of a pydantic error.

    Of a union's alternatives the deepest error is named (a document block missing its
    ``name`` is ``messages.0.content.3.document.name``, not the failed "string" alternative
    of ``content``). Only the field, the message and the error type are kept: not the input
    value, which may be large or secret.
    """
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    best = max(errors, key=lambda e: len(wire_field(tuple(e["loc"]))))
    field = wire_field(tuple(best["loc"]), keep_last=best["type"] == "extra_forbidden")
    message = str(best["msg"]).removeprefix("Value error, ")
    return QuantValidationError(f"{field}: {message} (in {model})", field=field)


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
