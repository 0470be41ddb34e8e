"""Constructor arguments of the framework classes built on :class:`~quant_ai.QuantClient`.

The LangChain and LlamaIndex adapters share these rules, so each lives here once:

- the names of the connection arguments (the same as :class:`~quant_ai.QuantClient`'s own),
  and the old names still accepted with a ``DeprecationWarning``;
- an unknown argument is refused, naming it and the nearest valid name, unless it is a wire
  field of the chat request (:class:`~quant_ai.ChatRequest`), which a chat class passes on;
- a constructor's validation error never holds the API key (pydantic puts every constructor
  argument in ``errors()[0]["input"]``, which FastAPI and Sentry serialise, and in pickles);
- a separate connect timeout combines with the read timeout into one ``httpx.Timeout``.
"""

from __future__ import annotations

import difflib
import re
import sys
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import PurePath
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from ._transport import DEFAULT_TIMEOUT
from .client import QuantClient
from .errors import QuantError, QuantValidationError
from .types import ChatRequest

__all__ = [
    "CONNECTION_ARGUMENTS",
    "DEFAULT_TIMEOUT",
    "DEPRECATED_ARGUMENTS",
    "REDACTED",
    "argument_names",
    "chat_wire_field",
    "check_arguments",
    "check_constructor",
    "client_from_settings",
    "constructor_error",
    "key_free_init",
    "nearest_name",
    "rename_deprecated",
    "resolve_timeout",
    "sort_arguments",
    "unknown_argument",
]

CONNECTION_ARGUMENTS = (
    "api_key",
    "organization",
    "base_url",
    "timeout",
    "connect_timeout",
    "max_retries",
    "default_headers",
    "allow_insecure_http",
    "http_client",
    "async_http_client",
    "client",
)
"""Connection arguments of every adapter class (``QuantClient``'s names, plus ``client``, a
shared ``QuantClient``, and ``connect_timeout``)."""

DEPRECATED_ARGUMENTS: Mapping[str, str] = {"http_async_client": "async_http_client"}
"""Old argument names still accepted (with a ``DeprecationWarning``) -> their new names."""

REDACTED = "**********"
"""What stands for a secret in an error."""

_NOT_PASSED_ON = frozenset(
    {"messages", "model_id", "system_prompt", "tool_config", "stream", "async_"}
)
"""Chat request fields a chat class sets itself on every call (from its model, the messages,
the bound tools, the call's mode): a constructor argument could not reach the wire."""

_SENSITIVE = re.compile(
    r"(api[_-]?key|secret|password|authorization|cookie|credential|token)$", re.IGNORECASE
)
"""Names whose values are secrets (``max_tokens`` is not one: it ends in ``tokens``)."""

_PLAIN = (str, int, float, bool, type(None))


_OWN_PACKAGES = frozenset(
    {
        "pydantic",
        "langchain_core",
        "llama_index",
        "quant_ai",
        "langchain_quant",
        "llama_index_quant",
    }
)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside pydantic, the frameworks and this package.

    A warning then points at the user's line, whatever the class hierarchy.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None:
        package = str(frame.f_globals.get("__name__", "")).split(".", 1)[0]
        if package not in _OWN_PACKAGES:
            break
        frame = frame.f_back
        level += 1
    return level


def _folded(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def nearest_name(name: str, valid: Iterable[str]) -> str | None:
    """The valid name closest to ``name`` (a typo, another case or spelling), or None.

    ``maxTokens`` finds ``max_tokens``; ``temprature`` finds ``temperature``.
    """
    names = sorted(set(valid))
    folded = _folded(name)
    for candidate in names:
        if _folded(candidate) == folded:
            return candidate
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return close[0]
    by_fold = {_folded(c): c for c in names}
    close = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=0.6)
    return by_fold[close[0]] if close else None


def chat_wire_field(name: str) -> str | None:
    """The :class:`~quant_ai.ChatRequest` field that ``name`` names (Python or wire name).

    Returns None for other names and for the fields a chat class sets itself on every call
    (``messages``, ``modelId``, ``systemPrompt``, ``toolConfig``, ``stream``, ``async``).
    """
    for field, info in ChatRequest.model_fields.items():
        alias = info.alias or field
        if name in (field, alias) and field not in _NOT_PASSED_ON:
            return field
    return None


def rename_deprecated(owner: str, values: dict[str, Any]) -> dict[str, Any]:
    """Move old argument names to their new ones, with a ``DeprecationWarning``.

    Raises:
        QuantValidationError: When both the old and the new name are given.
    """
    old_names = [name for name in DEPRECATED_ARGUMENTS if name in values]
    if not old_names:
        return values
    values = dict(values)
    for old in old_names:
        new = DEPRECATED_ARGUMENTS[old]
        if values.get(new) is not None:
            raise QuantValidationError(
                f"{owner}: give {new} only ({old} is its old name)", field=old
            )
        warnings.warn(
            f"{owner}({old}=...) is deprecated; use {new}=...",
            DeprecationWarning,
            stacklevel=_caller_stacklevel(),
        )
        values[new] = values.pop(old)
    return values


def sort_arguments(
    owner: str,
    given: Iterable[str],
    valid: Collection[str],
    *,
    wire_fields: bool = False,
) -> list[str]:
    """Check constructor argument names; return the unknown ones that are chat wire fields.

    Args:
        owner: The class name, for the message.
        given: The argument names given.
        valid: Every name the class accepts (fields, aliases, init-only arguments).
        wire_fields: Pass on names that are fields of the chat request (chat classes send
            them with every request); otherwise they are refused like any unknown name.

    Returns:
        The given names that are not in ``valid`` but are chat wire fields (empty unless
        ``wire_fields``).

    Raises:
        QuantValidationError: For the first unknown name, naming it and the nearest valid name.
    """
    passed_on: list[str] = []
    for name in given:
        if name in valid:
            continue
        field = chat_wire_field(name) if wire_fields else None
        if field is not None and field not in valid and _wire_name(field) not in valid:
            passed_on.append(name)
            continue
        raise unknown_argument(owner, name, valid)
    return passed_on


def check_arguments(
    owner: str,
    values: Mapping[str, Any],
    valid: Collection[str],
    *,
    pass_on_into: str | None = None,
    wire_names: bool = True,
) -> dict[str, Any]:
    """Refuse unknown constructor arguments; move chat wire fields into ``pass_on_into``.

    Args:
        owner: The class name, for the messages.
        values: The constructor arguments (old names already renamed).
        valid: Every name the class accepts.
        pass_on_into: The argument holding extra wire fields of a chat class
            (``model_kwargs``, ``additional_kwargs``); None refuses them like any unknown name.
        wire_names: Key the moved fields by their wire (camelCase) names, else by Python names.

    Returns:
        The arguments, wire fields moved (each move is reported with a ``UserWarning``).

    Raises:
        QuantValidationError: For an unknown name, naming the nearest valid one.
    """
    passed = sort_arguments(owner, values, valid, wire_fields=pass_on_into is not None)
    if not passed or pass_on_into is None:
        return dict(values)
    out = {k: v for k, v in values.items() if k not in passed}
    extra = dict(out.get(pass_on_into) or {})
    for name in passed:
        field = chat_wire_field(name)
        assert field is not None
        key = _wire_name(field) if wire_names else field
        warnings.warn(
            f"{name} is not a {owner} argument; it is sent as the wire field {_wire_name(field)} "
            f"via {pass_on_into}",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )
        extra[key] = values[name]
    out[pass_on_into] = extra
    return out


def argument_names(model: type[BaseModel], extra: Iterable[str] = ()) -> set[str]:
    """Every name a pydantic class's constructor takes: fields, their aliases, and ``extra``."""
    names = set(extra)
    for name, info in model.model_fields.items():
        names.add(name)
        if info.alias:
            names.add(info.alias)
    return names - set(DEPRECATED_ARGUMENTS)


def check_constructor(
    model: type[BaseModel],
    values: Any,
    *,
    extra_names: Iterable[str] = (),
    pass_on_into: str | None = None,
    wire_names: bool = True,
) -> Any:
    """The whole argument check of an adapter class (for a ``mode="before"`` validator).

    Old names are renamed (with a ``DeprecationWarning``), then :func:`check_arguments` runs
    against :func:`argument_names` of ``model`` (plus ``extra_names``, init-only arguments).
    Values that are no mapping (a model instance being revalidated) pass unchanged.
    """
    if not isinstance(values, dict):
        return values
    values = rename_deprecated(model.__name__, values)
    return check_arguments(
        model.__name__,
        values,
        argument_names(model, extra_names),
        pass_on_into=pass_on_into,
        wire_names=wire_names,
    )


def key_free_init(init: Callable[[], None], arguments: Mapping[str, Any]) -> None:
    """Run a pydantic constructor; raise its validation error without the key.

    Args:
        init: The constructor call (``functools.partial(super().__init__, **kwargs)``).
        arguments: The constructor arguments (to find the secrets to remove).

    Raises:
        QuantError | ValidationError: :func:`constructor_error` of the error, raised outside
            the handler so that no cause or context holds the arguments.
    """
    try:
        init()
    except ValidationError as exc:
        error = constructor_error(exc, arguments)
    else:
        return
    raise error


def client_from_settings(
    settings: Any,
    *,
    http_client: httpx.Client | None = None,
    async_http_client: httpx.AsyncClient | None = None,
) -> QuantClient:
    """A :class:`~quant_ai.QuantClient` from an object holding the connection arguments.

    ``settings`` has the attributes ``api_key``, ``organization``, ``base_url``, ``timeout``,
    ``connect_timeout``, ``max_retries``, ``default_headers`` and ``allow_insecure_http``
    (a missing one takes the client's default).
    """
    return QuantClient(
        api_key=getattr(settings, "api_key", None),
        organization=getattr(settings, "organization", None),
        base_url=getattr(settings, "base_url", None),
        timeout=resolve_timeout(
            getattr(settings, "timeout", None), getattr(settings, "connect_timeout", None)
        ),
        max_retries=getattr(settings, "max_retries", 2),
        http_client=http_client,
        async_http_client=async_http_client,
        default_headers=getattr(settings, "default_headers", None),
        allow_insecure_http=getattr(settings, "allow_insecure_http", False),
    )


def _wire_name(field: str) -> str:
    """The wire (camelCase) name of a :class:`~quant_ai.ChatRequest` field."""
    return ChatRequest.model_fields[field].alias or field


def unknown_argument(owner: str, name: str, valid: Collection[str]) -> QuantValidationError:
    """The error for an unknown constructor argument (it names the nearest valid one)."""
    hint = nearest_name(name, valid)
    message = f"{owner} has no argument {name!r}"
    if hint is not None:
        message += f"; did you mean {hint!r}?"
    else:
        message += " (check the spelling; nothing is dropped silently)"
    return QuantValidationError(message, field=name)


def resolve_timeout(
    timeout: float | httpx.Timeout | None, connect_timeout: float | None
) -> float | httpx.Timeout | None:
    """The timeout for :class:`~quant_ai.QuantClient` from a timeout and a connect timeout.

    ``timeout`` alone is used as given (None: the core's default, connect 10 s / read 120 s).
    With ``connect_timeout``, the connect phase gets it and the rest gets ``timeout`` (or the
    default read timeout).
    """
    if connect_timeout is None:
        return timeout
    if isinstance(timeout, httpx.Timeout):
        return httpx.Timeout(
            timeout.read, connect=connect_timeout, write=timeout.write, pool=timeout.pool
        )
    read = timeout if timeout is not None else DEFAULT_TIMEOUT.read
    return httpx.Timeout(read, connect=connect_timeout)


# --------------------------------------------------------------------------- key hygiene


def _secret_texts(values: Any, found: set[str]) -> None:
    """Collect secret strings from constructor arguments (the key, credential headers)."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            if isinstance(value, SecretStr):
                found.add(value.get_secret_value())
            elif isinstance(key, str) and _SENSITIVE.search(key) and isinstance(value, str):
                found.add(value)
                found.update(part for part in value.split() if len(part) >= 8)
            else:
                _secret_texts(value, found)
    elif isinstance(values, (list, tuple)):
        for value in values:
            _secret_texts(value, found)
    elif isinstance(values, SecretStr):
        found.add(values.get_secret_value())


def _scrub_text(text: str, secrets: Collection[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _scrub(value: Any, secrets: Collection[str], depth: int = 0) -> Any:
    """A copy of ``value`` holding no secret and only plain data (safe to log and pickle)."""
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return _scrub_text(value, secrets)
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, PurePath):
        return _scrub_text(str(value), secrets)
    if depth < 6 and isinstance(value, Mapping):
        return {
            _scrub_text(str(k), secrets): (
                REDACTED
                if isinstance(k, str) and _SENSITIVE.search(k) and v is not None
                else _scrub(v, secrets, depth + 1)
            )
            for k, v in value.items()
        }
    if depth < 6 and isinstance(value, (list, tuple, set, frozenset)):
        return [_scrub(v, secrets, depth + 1) for v in value]
    return f"<{type(value).__name__} object>"  # clients, callbacks: they may hold the key


def constructor_error(
    exc: ValidationError, arguments: Mapping[str, Any]
) -> QuantError | ValidationError:
    """A key-free copy of a constructor's validation error.

    A :class:`~quant_ai.QuantError` raised by a validator (an unknown argument, for example)
    comes back as itself. Otherwise the result is a new pydantic ``ValidationError`` with the
    same title, locations, types and messages, whose inputs are copies holding neither the key
    (nor any credential header) nor objects that might (clients are shown by type). It has no
    cause or context, so nothing of the original travels with it, in a traceback or a pickle.

    Args:
        exc: The error pydantic raised.
        arguments: The constructor arguments (to find the secrets to remove).
    """
    secrets: set[str] = set()
    _secret_texts(arguments, secrets)
    details = exc.errors(include_url=False)
    for detail in details:
        error = (detail.get("ctx") or {}).get("error")
        if isinstance(error, QuantError):
            copy = QuantValidationError(
                _scrub_text(str(error), secrets), field=getattr(error, "field", None)
            )
            return copy
    for detail in details:
        _secret_texts(detail.get("input"), secrets)
    line_errors: list[InitErrorDetails] = []
    for detail in details:
        line_errors.append(
            {
                "type": PydanticCustomError(detail["type"], _scrub_text(detail["msg"], secrets)),
                "loc": tuple(
                    _scrub_text(p, secrets) if isinstance(p, str) else p for p in detail["loc"]
                ),
                "input": _scrub(detail.get("input"), secrets),
            }
        )
    return ValidationError.from_exception_data(exc.title, line_errors)
