"""Helpers shared by the emulator tests."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

import httpx

from quant_ai._contract import load_schemas, operation_for, validate_response

MODEL = "amazon.nova-lite-v1:0"
VALIDATED: list[str] = []
"""Operation ids of the responses the client hooks checked against the spec (newest last)."""


def checked(op: str, response: httpx.Response) -> Any:
    """Validate a JSON response against the spec schema and return its body."""
    body = response.json()
    validate_response(op, response.status_code, body)
    return body


def _operation(response: httpx.Response) -> str | None:
    """The operation of a native JSON response whose status the spec documents, else None."""
    request = response.request
    path = request.url.raw_path.decode().split("?", 1)[0]
    parts = path.split("/")
    if len(parts) < 7 or parts[1:3] != ["api", "v3"] or parts[5] != "ai":
        return None
    op = operation_for(request.method, "/" + "/".join(parts[5:]))
    if op is None or "application/json" not in response.headers.get("content-type", ""):
        return None
    if request.headers.get("x-emulator-shapes", "").lower() == "wild":
        return None  # the alternative shapes are off-spec on purpose (data: URL images)
    if str(response.status_code) not in load_schemas()["operations"][op]["responses"]:
        return None
    return op


def check_response(response: httpx.Response) -> None:
    """httpx response hook: validate every documented native JSON response against the spec."""
    op = _operation(response)
    if op is not None:
        response.read()
        validate_response(op, response.status_code, response.json())
        VALIDATED.append(op)


async def acheck_response(response: httpx.Response) -> None:
    """Async twin of :func:`check_response`."""
    op = _operation(response)
    if op is not None:
        await response.aread()
        validate_response(op, response.status_code, response.json())
        VALIDATED.append(op)


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"modelId": MODEL, "messages": [{"role": "user", "content": text}], **extra}


def parse_sse(text: str) -> list[tuple[str | None, str | None, Any]]:
    """(id, event, data) of each SSE frame."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        ev_id = ev = None
        data = []
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "id":
                ev_id = value
            elif name == "event":
                ev = value
            elif name == "data":
                data.append(value)
        raw = "\n".join(data)
        events.append((ev_id, ev, raw if raw == "[DONE]" else json.loads(raw)))
    return events


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG written independently of the emulator."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_info(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and decompressed scanlines of a PNG (checks the CRCs)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)
