"""Shared helpers of the langchain_quant tests: targets, cassette rules, small media.

Modes
-----
* Replay (default): integration classes marked ``vcr`` replay ``cassettes/langchain/`` with
  ``--record-mode=none``; the model points at the placeholder service ``https://quant.test``
  and organisation ``quant-org``. Nothing leaves the process.
* Live emulator (default too): the ``*Live`` classes (marker ``emulator``) run the same
  standard suites against a local emulator started once per session.
  Deselect them with ``-m "not emulator"``.
* Recording: ``--record-mode=rewrite`` (or ``once``/``all``) points the cassette classes at
  the emulator, or at the real service when ``QUANT_API_KEY`` and ``QUANT_ORGANIZATION`` are
  set (then add ``--force-enable-socket``). Request URIs are rewritten to the placeholder
  host and organisation and every header is dropped before anything is written.
"""

from __future__ import annotations

import base64
import os
import struct
import threading
import zlib
from typing import Any
from urllib.parse import urlsplit

PLACEHOLDER_BASE = "https://quant.test"
PLACEHOLDER_ORG = "quant-org"
PLACEHOLDER_KEY = "qc-placeholder-key"
EMULATOR_KEY = "qc-emulator"
EMULATOR_ORG = "acme"
ORG_PREFIXES = ("/api/v3/organizations/", "/api/v3/organisations/")

# Captured at import (before the autouse fixture of tests/conftest.py clears the env), used only
# when recording against the real service.
_REAL_KEY = os.environ.get("QUANT_API_KEY")
_REAL_ORG = os.environ.get("QUANT_ORGANIZATION") or os.environ.get("QUANT_ORGANISATION")
_REAL_URL = os.environ.get("QUANT_BASE_URL")


class _State:
    recording = False
    emulator: Any = None
    lock = threading.Lock()


STATE = _State()


def emulator_base_url() -> str:
    """Start (once per session) the local emulator and return its base URL."""
    with STATE.lock:
        if STATE.emulator is None:
            from quant_ai.emulator import QuantEmulator

            emulator = QuantEmulator()
            emulator.start()
            STATE.emulator = emulator
        return str(STATE.emulator.base_url)


def stop_emulator() -> None:
    """Stop the session's emulator if one was started."""
    with STATE.lock:
        if STATE.emulator is not None:
            STATE.emulator.stop()
            STATE.emulator = None


def live_params() -> dict[str, Any]:
    """Connection params of the live emulator."""
    return {"base_url": emulator_base_url(), "api_key": EMULATOR_KEY, "organization": EMULATOR_ORG}


def cassette_params() -> dict[str, Any]:
    """Connection params of cassette tests: placeholders on replay, a real target on record."""
    if not STATE.recording:
        return {
            "base_url": PLACEHOLDER_BASE,
            "api_key": PLACEHOLDER_KEY,
            "organization": PLACEHOLDER_ORG,
        }
    if _REAL_KEY and _REAL_ORG:
        params: dict[str, Any] = {"api_key": _REAL_KEY, "organization": _REAL_ORG}
        if _REAL_URL:
            params["base_url"] = _REAL_URL
        return params
    return live_params()


# ----------------------------------------------------------------------------- cassette rules


def normalise_path(uri: str) -> str:
    """The path of a Quant URI with the organisation segment replaced by the placeholder."""
    path = urlsplit(uri).path
    for prefix in ORG_PREFIXES:
        if path.startswith(prefix):
            rest = path[len(prefix) :].split("/", 1)
            tail = "/" + rest[1] if len(rest) > 1 else ""
            return f"/api/v3/organizations/{PLACEHOLDER_ORG}{tail}"
    return path


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: placeholder host and org, no headers at all."""
    query = urlsplit(request.uri).query
    request.uri = PLACEHOLDER_BASE + normalise_path(request.uri) + (f"?{query}" if query else "")
    for name in list(request.headers):
        del request.headers[name]
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: keep only the content type header."""
    headers = response.get("headers") or {}
    kept = {k: v for k, v in headers.items() if k.lower() == "content-type"}
    response["headers"] = kept
    return response


def match_path(r1: Any, r2: Any) -> None:
    """vcrpy matcher: same Quant path (organisation and host ignored)."""
    assert normalise_path(r1.uri) == normalise_path(r2.uri)


# ----------------------------------------------------------------------------- small media


def tiny_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small solid-colour PNG (deterministic bytes)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def tiny_pdf(text: str = "Dummy PDF file") -> bytes:
    """A minimal one-page PDF showing ``text``."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def tiny_wav(samples: int = 64) -> bytes:
    """A short silent 8 kHz mono WAV."""
    data = b"\x00\x00" * samples
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def b64(data: bytes) -> str:
    """Base64 text of bytes."""
    return base64.b64encode(data).decode("ascii")
