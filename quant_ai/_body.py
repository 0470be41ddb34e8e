"""Request bodies that carry large media without copying it.

A chat request with a 20 MB image holds ~27 MB of base64 text. Serialized the plain way, the
JSON body is one more 27 MB copy (two while the serializer hands its buffer over), and the sync
HTTP stack copies the rest of the body again after every partial socket write. Instead,
:func:`dump_json` sets large base64 strings aside while pydantic serializes the rest, and
:class:`JsonBody` keeps the result as parts that the transport sends in 1 MiB slices: the
body as a whole never exists in memory, and the bytes on the wire are the same.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pydantic
from pydantic_core.core_schema import SerializationInfo

__all__ = ["CHUNK_SIZE", "SPILL_MIN_CHARS", "JsonBody", "dump_json", "spill_base64"]

SPILL_MIN_CHARS = 1 << 20
"""Base64 strings at least this long are kept out of the serialized JSON."""
CHUNK_SIZE = 1 << 20
"""Bodies larger than this are sent in slices of this size."""

_CONTEXT_KEY = "quant_ai.spill"
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


class JsonBody:
    """A JSON request body in parts: JSON bytes, and ASCII strings spliced in unescaped.

    ``bytes(body)`` (the parts joined) is the body; :meth:`chunks` sends it without joining.
    """

    __slots__ = ("_parts", "_size")

    def __init__(self, parts: list[bytes | str]) -> None:
        self._parts = parts
        self._size = sum(len(part) for part in parts)  # str parts are ASCII: 1 byte a char

    def __len__(self) -> int:
        return self._size

    def __bytes__(self) -> bytes:
        return b"".join(p if isinstance(p, bytes) else p.encode("ascii") for p in self._parts)

    def chunks(self) -> Iterator[bytes]:
        """The body in slices of at most :data:`CHUNK_SIZE` bytes (a new iterator each call)."""
        for part in self._parts:
            if isinstance(part, bytes) and len(part) <= CHUNK_SIZE:
                if part:
                    yield part
                continue
            for start in range(0, len(part), CHUNK_SIZE):
                piece = part[start : start + CHUNK_SIZE]
                yield piece if isinstance(piece, bytes) else piece.encode("ascii")

    async def achunks(self) -> AsyncIterator[bytes]:
        """Async twin of :meth:`chunks` (``httpx.AsyncClient`` wants an async iterable)."""
        for piece in self.chunks():
            yield piece


def spill_base64(value: str, info: SerializationInfo) -> str:
    """JSON serializer of base64 fields: under :func:`dump_json`, set a large string aside.

    Without :func:`dump_json`'s context (``model_dump_json``, ``to_wire``...) the value is
    serialized as usual. Strings that would need JSON escaping are never set aside.
    """
    context = info.context
    if isinstance(context, dict):
        sink = context.get(_CONTEXT_KEY)
        if (
            sink is not None
            and len(value) >= SPILL_MIN_CHARS
            and value.isascii()
            and _NEEDS_ESCAPE.search(value) is None
        ):
            marker, spilled = sink
            spilled.append(value)
            return f"{marker}{len(spilled) - 1}"
    return value


def dump_json(model: pydantic.BaseModel) -> bytes | JsonBody:
    """Serialize a request (camelCase, unset fields omitted) to JSON bytes or a :class:`JsonBody`.

    Small requests come back as ``bytes`` from pydantic's serializer in one pass. A request
    with base64 strings of :data:`SPILL_MIN_CHARS` or more comes back as a :class:`JsonBody`
    whose bytes are identical to what the one-pass serialization would have produced.
    """
    marker = f"quant-ai-media-{os.urandom(8).hex()}-"
    spilled: list[str] = []
    context: dict[str, Any] = {_CONTEXT_KEY: (marker, spilled)}
    body = model.__pydantic_serializer__.to_json(
        model, by_alias=True, exclude_none=True, context=context
    )
    if not spilled:
        return body
    pieces = re.split(b'"' + marker.encode("ascii") + rb'(\d+)"', body)
    parts: list[bytes | str] = [pieces[0]]
    for index, text in zip(pieces[1::2], pieces[2::2], strict=True):
        parts += [b'"', spilled[int(index)], b'"' + text]
    return JsonBody(parts)
