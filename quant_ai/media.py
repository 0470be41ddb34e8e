"""Media for chat requests: formats, sniffing, data URLs, document names, local files.

The adapters find the bytes and the MIME type in their framework's blocks; everything after
that is decided here, once:

* MIME types map to the wire formats of the spec (:data:`IMAGE_FORMATS`,
  :data:`DOCUMENT_FORMATS`, :data:`VIDEO_FORMATS`); an image without a type is recognised by
  its signature (:func:`sniff_image_format`); anything else is refused with
  :class:`~quant_ai.errors.QuantValidationError` naming what is accepted, before sending.
* A document without a type takes it from its file name, else it is a PDF; plain-text
  documents (``text/*``, JSON, XML; CSV excepted, a native format) are sent as text.
* Every document of a request gets a distinct name the service accepts
  (:class:`DocumentNamer`): its file name without folders or extension, characters other
  than letters, digits, spaces, hyphens, parentheses and square brackets replaced by ``-``,
  else ``document-N``.
* Data URLs are read by :func:`parse_data_url` (base64 only).
* A file named by a model (a tool argument) is read only inside folders the caller allowed
  (:func:`read_file_within`).
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Iterable
from pathlib import Path

from quant_ai.errors import QuantValidationError
from quant_ai.types import (
    DocumentBlock,
    DocumentContent,
    ImageBlock,
    ImageContent,
    MediaSource,
    TextBlock,
    VideoBlock,
    VideoContent,
)

__all__ = [
    "DOCUMENT_EXTENSIONS",
    "DOCUMENT_FORMATS",
    "IMAGE_FORMATS",
    "VIDEO_FORMATS",
    "DocumentNamer",
    "document_content",
    "image_block",
    "mime_from_name",
    "parse_data_url",
    "read_file_within",
    "sniff_image_format",
    "video_block",
]

IMAGE_FORMATS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
"""Image MIME types and their wire ``format``."""
DOCUMENT_FORMATS: dict[str, str] = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
"""Document MIME types and their wire ``format``."""
DOCUMENT_EXTENSIONS: dict[str, str] = {"pdf": "pdf", "csv": "csv", "docx": "docx", "xlsx": "xlsx"}
"""File extensions of documents and their wire ``format``."""
VIDEO_FORMATS: dict[str, str] = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/webm": "webm",
}
"""Video MIME types and their wire ``format``."""

_TEXT_TYPES = ("application/json", "application/xml")
_BAD_NAME = re.compile(r"[^A-Za-z0-9\-\(\)\[\] ]+")
_MAX_NAME = 200
_MAX_REFERENCE = 4096


def _refuse(message: str) -> QuantValidationError:
    return QuantValidationError(message, field="messages")


def _base64(data: bytes | str) -> str:
    """Base64 text of bytes (str is taken to be base64 already)."""
    return data if isinstance(data, str) else base64.b64encode(data).decode("ascii")


def _head(data: bytes | str) -> bytes:
    if isinstance(data, bytes):
        return data[:16]
    text = data[:32]
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def mime_from_name(name: str | None) -> str | None:
    """The MIME type a file name suggests (by extension), or None."""
    return mimetypes.guess_type(name)[0] if name else None


def sniff_image_format(data: bytes | str) -> str | None:
    """The wire format of image bytes (or base64 text) from their signature, or None."""
    head = _head(data)
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"GIF8"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def parse_data_url(url: str) -> tuple[str | None, str]:
    """Split ``data:<mime>;base64,<data>`` into ``(mime type or None, base64 data)``.

    Raises:
        QuantValidationError: For a URL that is no base64 data URL.
    """
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or ";base64" not in head:
        raise _refuse("only base64 data URLs are supported (data:<mime type>;base64,<data>)")
    return head[5:].split(";", 1)[0] or None, data


def image_block(data: bytes | str, mime: str | None = None) -> ImageBlock:
    """An ``image`` block; the format from ``mime``, else from the bytes' signature.

    Args:
        data: The image bytes, or their base64 text.
        mime: The MIME type, when known.

    Raises:
        QuantValidationError: For a type the API does not take, or bytes of no known format.
    """
    if mime:
        fmt = IMAGE_FORMATS.get(mime.lower())
        if fmt is None:
            raise _refuse(f"image type {mime!r} is not supported; use png, jpeg, gif or webp")
    else:
        fmt = sniff_image_format(data)
        if fmt is None:
            raise _refuse(
                "cannot tell the image format: give its MIME type (image/png, image/jpeg...)"
            )
    source = MediaSource.model_validate({"bytes": _base64(data)})
    return ImageBlock(image=ImageContent(format=fmt, source=source))


def video_block(data: bytes | str, mime: str | None) -> VideoBlock:
    """A ``video`` block.

    Raises:
        QuantValidationError: For a missing or unsupported MIME type.
    """
    fmt = VIDEO_FORMATS.get((mime or "").lower())
    if fmt is None:
        raise _refuse(
            f"video type {mime or 'unknown'!r} is not supported; use mp4, mov, mkv or webm "
            "(give the MIME type with raw bytes)"
        )
    source = MediaSource.model_validate({"bytes": _base64(data)})
    return VideoBlock(video=VideoContent(format=fmt, source=source))


class DocumentNamer:
    """Gives every document of one request a distinct name the service accepts."""

    def __init__(self) -> None:
        self.count = 0
        self.used: set[str] = set()

    def name(self, given: str | None) -> str:
        """A name from ``given`` (a file name or title), else ``document-N``; never repeated."""
        base = ""
        if given:
            stem = given.replace("\\", "/").rsplit("/", 1)[-1]
            if "." in stem:
                stem = stem.rsplit(".", 1)[0]
            base = " ".join(_BAD_NAME.sub("-", stem).split()).strip("-")[:_MAX_NAME]
        if not base:
            self.count += 1
            base = f"document-{self.count}"
        name, k = base, 1
        while name in self.used:
            k += 1
            name = f"{base}-{k}"
        self.used.add(name)
        return name


def document_content(
    data: bytes | str, mime: str | None, name: str | None, namer: DocumentNamer
) -> DocumentBlock | TextBlock | None:
    """A ``document`` block, or the text of a plain-text document (None when blank).

    Args:
        data: The document bytes, or their base64 text.
        mime: The MIME type; None takes it from ``name``'s extension, else PDF.
        name: The file name or title, when known.
        namer: The request's :class:`DocumentNamer`.

    Raises:
        QuantValidationError: For a type that is neither a document format of the API nor
            text.
    """
    kind = (mime or "").lower()
    if not kind:
        ext = name.rsplit(".", 1)[-1].lower() if name and "." in name else ""
        fmt = DOCUMENT_EXTENSIONS.get(ext, "pdf")
    else:
        fmt = DOCUMENT_FORMATS.get(kind) or ""
    if fmt:
        source = MediaSource.model_validate({"bytes": _base64(data)})
        return DocumentBlock(
            document=DocumentContent(format=fmt, name=namer.name(name), source=source)
        )
    if kind.startswith("text/") or kind in _TEXT_TYPES:
        raw = base64.b64decode(data) if isinstance(data, str) else data
        text = raw.decode("utf-8", errors="replace")
        return TextBlock(text=f"[{name or 'document'}]\n{text}") if text.strip() else None
    raise _refuse(
        f"document type {mime!r} is not supported; use pdf, csv, docx, xlsx or a text/* document"
    )


def read_file_within(reference: str, directories: Iterable[str | Path]) -> bytes | None:
    """Read ``reference`` as a file inside one of ``directories``, or return None.

    A tool called by a model must not become a way to read any file of the machine (and send
    it to the service), so a path is only followed when, once resolved (``..`` and symbolic
    links included), it stays inside a directory the caller allowed. Relative references are
    taken relative to each directory; absolute ones must point inside one of them.

    Args:
        reference: A file name or path as the model (or caller) wrote it.
        directories: The directories the caller allowed.

    Returns:
        The file's bytes, or None when the reference is no file inside those directories.
    """
    ref = reference.strip()
    if not ref or len(ref) > _MAX_REFERENCE or "\x00" in ref:
        return None
    for directory in directories:
        base = Path(directory).resolve()
        candidate = (base / ref).resolve()
        if candidate.is_relative_to(base) and candidate.is_file():
            return candidate.read_bytes()
    return None
