"""Assert that an exception carries no secret anywhere a user, a log or a pickle could see.

``assert_no_secret(exc, secret)`` walks, for the exception and every exception of its
``__cause__`` / ``__context__`` chain (and the members of exception groups):

- ``str()`` and ``repr()``;
- ``args``;
- every attribute (``__dict__`` and ``__slots__``), recursively into mappings, sequences,
  sets, pydantic models, dataclass-like objects, and httpx ``Request`` / ``Response`` objects
  (URL, every header, the body when it was read);
- ``errors()`` when the exception has it (pydantic ``ValidationError``);
- the pickle of the exception (when it can be pickled; an exception that cannot be pickled
  fails too, since pickling is how errors cross process boundaries).

The secret is also searched for as the full ``Authorization`` value (``Bearer <secret>``) and
in its base64 and URL-encoded forms.
"""

from __future__ import annotations

import base64
import contextlib
import pickle
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
import pydantic

__all__ = ["SecretLeak", "assert_no_secret", "find_secret"]

_MAX_DEPTH = 12


class SecretLeak(AssertionError):
    """The secret was found; the message says where (never the secret itself)."""


def _needles(secret: str) -> list[str]:
    forms = {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    return sorted(f for f in forms if f)


def _text_hits(text: str, needles: list[str]) -> bool:
    return any(n in text for n in needles)


class _Walker:
    def __init__(self, secret: str) -> None:
        self.needles = _needles(secret)
        self.needle_bytes = [n.encode() for n in self.needles]
        self.seen: set[int] = set()
        self.hits: list[str] = []

    def hit(self, where: str) -> None:
        self.hits.append(where)

    def text(self, value: str, where: str) -> None:
        if _text_hits(value, self.needles):
            self.hit(where)

    def raw(self, value: bytes | bytearray | memoryview, where: str) -> None:
        data = bytes(value)
        if any(n in data for n in self.needle_bytes):
            self.hit(where)

    def value(self, value: Any, where: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH or value is None or isinstance(value, (bool, int, float)):
            return
        if isinstance(value, str):
            self.text(value, where)
            return
        if isinstance(value, (bytes, bytearray, memoryview)):
            self.raw(value, where)
            return
        if id(value) in self.seen:
            return
        self.seen.add(id(value))
        if isinstance(value, pydantic.SecretStr | pydantic.SecretBytes):
            # A SecretStr is fine as long as its printed forms hide it (checked below).
            self.text(str(value), where + " (str)")
            self.text(repr(value), where + " (repr)")
            return
        if isinstance(value, BaseException):
            self.exception(value, where, depth + 1)
            return
        if isinstance(value, httpx.Request):
            self.text(str(value.url), where + ".url")
            for name, header in value.headers.items():
                self.text(header, f"{where}.headers[{name}]")
            with contextlib.suppress(httpx.RequestNotRead):
                self.raw(value.content, where + ".content")
            self.attributes(value, where, depth)
            return
        if isinstance(value, httpx.Response):
            for name, header in value.headers.items():
                self.text(header, f"{where}.headers[{name}]")
            with contextlib.suppress(httpx.ResponseNotRead):
                self.raw(value.content, where + ".content")
            with contextlib.suppress(RuntimeError):
                self.value(value.request, where + ".request", depth + 1)
            return
        if isinstance(value, httpx.Headers):
            for name, header in value.items():
                self.text(header, f"{where}[{name}]")
            return
        if isinstance(value, httpx.URL):
            self.text(str(value), where)
            return
        if isinstance(value, Mapping):
            for key, item in list(value.items()):
                self.value(key, f"{where}.<key>", depth + 1)
                self.value(item, f"{where}[{key!r}]", depth + 1)
            return
        if isinstance(value, (list, tuple, set, frozenset)):
            for i, item in enumerate(list(value)):
                self.value(item, f"{where}[{i}]", depth + 1)
            return
        if isinstance(value, pydantic.BaseModel):
            self.text(repr(value), where + " (repr)")
            for name in type(value).model_fields:
                self.value(getattr(value, name, None), f"{where}.{name}", depth + 1)
            return
        if callable(value) and not hasattr(value, "__dict__"):
            return
        self.text(_safe(repr, value), where + " (repr)")
        self.attributes(value, where, depth)

    def attributes(self, value: Any, where: str, depth: int) -> None:
        for name, item in _attributes(value):
            self.value(item, f"{where}.{name}", depth + 1)

    def exception(self, exc: BaseException, where: str, depth: int) -> None:
        self.text(_safe(str, exc), where + " str()")
        self.text(_safe(repr, exc), where + " repr()")
        self.value(list(exc.args), where + ".args", depth)
        for name, item in _attributes(exc):
            if name in ("__traceback__",):
                continue
            self.value(item, f"{where}.{name}", depth + 1)
        errors = getattr(exc, "errors", None)
        if callable(errors):
            try:
                listed = errors()
            except TypeError:
                listed = None
            self.value(listed, where + ".errors()", depth + 1)
        for member in getattr(exc, "exceptions", None) or ():
            if isinstance(member, BaseException):
                self.exception(member, where + ".exceptions[]", depth + 1)
        for link in ("__cause__", "__context__"):
            nxt = getattr(exc, link, None)
            if nxt is not None and id(nxt) not in self.seen:
                self.seen.add(id(nxt))
                self.exception(nxt, f"{where}.{link}", depth + 1)


def _safe(fn: Any, value: Any) -> str:
    try:
        return str(fn(value))
    except Exception as exc:
        return f"<{fn.__name__} failed: {type(exc).__name__}>"


def _attributes(value: Any) -> Iterable[tuple[str, Any]]:
    found: dict[str, Any] = {}
    data = getattr(value, "__dict__", None)
    if isinstance(data, dict):
        found.update(data)
    for klass in type(value).__mro__:
        for slot in getattr(klass, "__slots__", ()) or ():
            if isinstance(slot, str) and slot not in found and hasattr(value, slot):
                try:
                    found[slot] = getattr(value, slot)
                except AttributeError:
                    continue
    return list(found.items())


def find_secret(exc: BaseException, secret: str, *, pickle_roundtrip: bool = True) -> list[str]:
    """Every place in ``exc`` (and its chain, attributes, pickle) where ``secret`` appears.

    Args:
        exc: The exception to inspect.
        secret: The API key (or any secret text).
        pickle_roundtrip: Also report an exception that cannot be pickled and unpickled.

    Returns:
        Human-readable locations, empty when the exception is clean.
    """
    if not secret:
        raise ValueError("find_secret needs a non-empty secret")
    walker = _Walker(secret)
    walker.exception(exc, type(exc).__name__, 0)
    try:
        pickled = pickle.dumps(exc)
    except Exception as err:
        if pickle_roundtrip:
            walker.hit(f"pickle.dumps failed ({type(err).__name__}: {err})")
    else:
        walker.raw(pickled, "pickle")
        try:
            restored = pickle.loads(pickled)
        except Exception as err:
            if pickle_roundtrip:
                walker.hit(f"pickle.loads failed ({type(err).__name__}: {err})")
        else:
            if pickle_roundtrip and not isinstance(restored, type(exc)):
                walker.hit(f"pickle round trip gave {type(restored).__name__}")
    return walker.hits


def assert_no_secret(exc: BaseException, secret: str, *, pickle_roundtrip: bool = True) -> None:
    """Fail (``SecretLeak``) when ``secret`` appears anywhere in ``exc``; see the module doc.

    Args:
        exc: The exception to inspect.
        secret: The API key (or any secret text).
        pickle_roundtrip: Also fail when the exception cannot be pickled and unpickled.
    """
    hits = find_secret(exc, secret, pickle_roundtrip=pickle_roundtrip)
    if hits:
        raise SecretLeak(
            f"{type(exc).__name__} leaks the secret (or cannot be checked) at: "
            + ", ".join(sorted(set(hits)))
        )
