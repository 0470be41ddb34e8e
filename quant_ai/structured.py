"""Structured output: every shape a caller may ask for, mapped to the native ``responseFormat``.

Frameworks ask for structured output in the OpenAI shape (LangChain v1's ``create_agent``
binds ``response_format={"type": "json_schema", "json_schema": {...}}``), users write the
native shape from the Quant AI docs, and LlamaIndex passes a pydantic class. The native API
has one form, ``{"type": "json", "jsonSchema": <JSON schema>}`` (the schema optional). This
module is the one place that maps the first to the second, and that reads a JSON answer back;
both adapters call it.

Accepted by :func:`to_response_format` (anything else is refused before a request is sent,
with a :class:`~quant_ai.QuantValidationError` naming the field), and what is sent:

* ``None`` or ``{"type": "text"}`` (OpenAI's plain text): no ``responseFormat``;
* ``{"type": "json"}``: ``{"type": "json"}``;
* ``{"type": "json", "jsonSchema": S}`` (or ``json_schema``; ``type`` may be left out):
  ``{"type": "json", "jsonSchema": S}``;
* ``{"type": "json_object"}`` (OpenAI's JSON mode): ``{"type": "json"}``;
* ``{"type": "json_schema", "json_schema": {"name": N, "schema": S, "strict": B,
  "description": D}}`` (OpenAI's structured outputs, what LangChain's ``create_agent`` binds),
  or its inner part ``{"name": N, "schema": S, ...}`` alone: ``{"type": "json", "jsonSchema":
  S'}``;
* a bare JSON schema of an object (``{"type": "object", ...}`` or ``{"properties": ...}``):
  ``{"type": "json", "jsonSchema": S}``;
* a pydantic model class: its ``model_json_schema()`` as ``jsonSchema``;
* a :class:`~quant_ai.ResponseFormat`: itself.

``S'`` is ``S`` with the OpenAI ``name`` as its ``title`` and ``description`` as its
``description`` when the schema has none (nothing given is lost). ``strict`` must be a
boolean and has no wire counterpart: the native API has no strict switch; models that support
structured output answer in the schema (see :mod:`quant_ai.catalog` for which do).

Example:
    >>> from quant_ai.structured import to_response_format
    >>> to_response_format({"type": "json_object"}).to_wire()
    {'type': 'json'}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from .errors import QuantStructuredOutputError, QuantValidationError
from .types import ResponseFormat

__all__ = [
    "extract_json_text",
    "parse_structured",
    "to_response_format",
]

_M = TypeVar("_M", bound=BaseModel)

_NATIVE_KEYS = frozenset({"type", "jsonSchema", "json_schema"})
_OPENAI_KEYS = frozenset({"name", "schema", "strict", "description"})
_TYPES = "'json', 'json_object', 'json_schema' or 'text'"
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```$", re.DOTALL)


def _fail(field: str, message: str) -> QuantValidationError:
    return QuantValidationError(f"{field}: {message}", field=field)


def _unknown_keys(value: Mapping[str, Any], allowed: frozenset[str], field: str) -> None:
    extra = sorted(str(k) for k in value if k not in allowed)
    if extra:
        raise _fail(
            f"{field}.{extra[0]}",
            f"unknown key(s) {extra} (accepted: {sorted(allowed)}); nothing is dropped silently",
        )


def _schema(value: Any, field: str) -> dict[str, Any]:
    if isinstance(value, type) and issubclass(value, BaseModel):
        return value.model_json_schema()
    if not isinstance(value, Mapping):
        raise _fail(field, f"a JSON schema (a mapping) is needed, not {type(value).__name__}")
    return dict(value)


def _from_openai(spec: Any, field: str) -> ResponseFormat:
    """``{"name", "schema", "strict", "description"}`` -> native."""
    if not isinstance(spec, Mapping):
        raise _fail(field, f"a mapping with 'name' and 'schema' is needed, not {spec!r}")
    _unknown_keys(spec, _OPENAI_KEYS, field)
    if "schema" not in spec or spec["schema"] is None:
        raise _fail(f"{field}.schema", "the JSON schema is missing")
    schema = _schema(spec["schema"], f"{field}.schema")
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise _fail(f"{field}.strict", f"must be true or false, not {strict!r}")
    for key, target in (("name", "title"), ("description", "description")):
        extra = spec.get(key)
        if extra is None:
            continue
        if not isinstance(extra, str):
            raise _fail(f"{field}.{key}", f"must be a string, not {extra!r}")
        schema.setdefault(target, extra)
    return ResponseFormat(type="json", json_schema=schema)


def to_response_format(value: Any, *, field: str = "response_format") -> ResponseFormat | None:
    """Map any accepted structured-output request to the native ``responseFormat``.

    Args:
        value: One of the shapes in the module docstring.
        field: The name the caller knows the argument by, used in error messages.

    Returns:
        The native wire model, or None when no structured output is asked for.

    Raises:
        QuantValidationError: For any other shape; ``field`` names the offending part
            (e.g. ``response_format.type``, ``response_format.json_schema.schema``).
    """
    if value is None:
        return None
    if isinstance(value, ResponseFormat):
        if value.type != "json":
            raise _fail(f"{field}.type", f"{value.type!r} is not supported; the API takes 'json'")
        return value
    if isinstance(value, type) and issubclass(value, BaseModel):
        return ResponseFormat(type="json", json_schema=value.model_json_schema())
    if not isinstance(value, Mapping):
        raise _fail(
            field,
            f"expected a mapping ({_TYPES} shapes), a JSON schema or a pydantic model class, "
            f"not {type(value).__name__}",
        )
    kind = value.get("type")
    if kind == "json" or (kind is None and ("jsonSchema" in value or "json_schema" in value)):
        _unknown_keys(value, _NATIVE_KEYS, field)
        if "jsonSchema" in value and "json_schema" in value:
            raise _fail(f"{field}.jsonSchema", "give jsonSchema or json_schema, not both")
        key = "jsonSchema" if "jsonSchema" in value else "json_schema"
        raw = value.get(key)
        schema = None if raw is None else _schema(raw, f"{field}.{key}")
        return ResponseFormat(type="json", json_schema=schema)
    if kind == "json_schema":
        _unknown_keys(value, frozenset({"type", "json_schema"}), field)
        if value.get("json_schema") is None:
            raise _fail(f"{field}.json_schema", "missing: {'name': ..., 'schema': {...}}")
        return _from_openai(value["json_schema"], f"{field}.json_schema")
    if kind in ("json_object", "text"):
        _unknown_keys(value, frozenset({"type"}), field)
        return ResponseFormat(type="json") if kind == "json_object" else None
    if kind is None and "schema" in value:
        return _from_openai(value, field)
    if kind == "object" or (kind is None and "properties" in value):
        return ResponseFormat(type="json", json_schema=dict(value))
    raise _fail(
        f"{field}.type",
        f"{kind!r} is not supported; use {_TYPES}, or give a JSON schema of an object",
    )


def extract_json_text(text: str) -> str:
    """The JSON part of a model's answer: without a Markdown code fence or leading prose."""
    stripped = text.strip()
    match = _FENCE.match(stripped)
    if match:
        return match.group(1).strip()
    if stripped[:1] not in ("{", "["):
        starts = [i for i in (stripped.find("{"), stripped.find("[")) if i >= 0]
        if starts:
            return stripped[min(starts) :]
    return stripped


@overload
def parse_structured(text: Any, schema: type[_M]) -> _M: ...
@overload
def parse_structured(text: Any, schema: None = None) -> Any: ...
def parse_structured(text: Any, schema: type[BaseModel] | None = None) -> Any:
    """Read a structured answer: JSON (fences and leading prose removed), then the model.

    Args:
        text: The model's answer (text), or already decoded data (a tool call's arguments).
        schema: A pydantic class to validate into; None returns the decoded JSON.

    Returns:
        The pydantic instance, or the decoded JSON value.

    Raises:
        QuantStructuredOutputError: The answer is not JSON or does not fit ``schema``
            (``text`` holds the answer).
    """
    if isinstance(text, str):
        try:
            data = json.loads(extract_json_text(text))
        except ValueError as exc:
            raise QuantStructuredOutputError(
                f"the model's answer is not JSON ({exc}): {text[:300]!r}", text=text
            ) from None
    else:
        data, text = text, json.dumps(text, default=str)
    if schema is None:
        return data
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise QuantStructuredOutputError(
            f"the model's answer is not a valid {schema.__name__}: {where}: {first['msg']} "
            f"(answer: {text[:300]!r})",
            text=text,
        ) from None
