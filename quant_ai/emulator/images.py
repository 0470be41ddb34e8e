"""PNG writing and reading (zlib + struct, no Pillow) and Nova Canvas task handling.

Size rule (chosen to stay test-friendly while shaped like Nova Canvas): ``width`` and
``height`` must each be a multiple of 16 between 16 and 4096, with at most 4,194,304 pixels
and an aspect ratio between 1:4 and 4:1. Default 1024x1024.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MODERATION_MARKER",
    "ImageError",
    "ImageJob",
    "colour_name",
    "dominant_colour",
    "image_kind",
    "image_size",
    "pattern_png",
    "plan_image_job",
    "render_job",
    "write_png",
]

MODERATION_MARKER = "[[blocked]]"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_TASK_PARAMS = {
    "TEXT_IMAGE": "textToImageParams",
    "COLOR_GUIDED_GENERATION": "colorGuidedGenerationParams",
    "IMAGE_VARIATION": "imageVariationParams",
    "INPAINTING": "inPaintingParams",
    "OUTPAINTING": "outPaintingParams",
    "BACKGROUND_REMOVAL": "backgroundRemovalParams",
    "VIRTUAL_TRY_ON": "virtualTryOnParams",
}
_MAX_PIXELS = 4_194_304


class ImageError(ValueError):
    """A request is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def write_png(width: int, height: int, rows: list[bytes]) -> bytes:
    """Encode 8-bit RGB rows (``3 * width`` bytes each, no filter byte) as a PNG.

    ``rows`` may be shorter than ``height``: it is repeated cyclically.
    """
    raw = b"".join(b"\x00" + rows[y % len(rows)] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIG
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 1))
        + _chunk(b"IEND", b"")
    )


def pattern_png(width: int, height: int, seed: bytes, colours: list[bytes] | None = None) -> bytes:
    """A deterministic banded/striped picture; cheap to build and compresses well."""
    digest = hashlib.sha256(seed).digest()
    palette = colours or [digest[i : i + 3] for i in range(0, 12, 3)]
    stripe = max(1, width // 8)
    band = max(1, height // 4)
    rows: list[bytes] = []
    for b in range(4):
        c1 = palette[b % len(palette)]
        c2 = palette[(b + 1) % len(palette)]
        unit = c1 * stripe + c2 * stripe
        row = (unit * (width // (2 * stripe) + 1))[: width * 3]
        rows.extend([row] * band)
    while len(rows) < height:
        rows.append(rows[-1])
    return write_png(width, height, rows[:height])


def image_kind(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``gif`` or ``webp`` from the magic bytes, else ``None``."""
    if data.startswith(_PNG_SIG):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or JPEG, when they can be read cheaply."""
    if data.startswith(_PNG_SIG) and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return None


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def dominant_colour(data: bytes, max_pixels: int = 65_536) -> tuple[int, int, int] | None:
    """Average colour of a small 8-bit PNG (gray, RGB, RGBA, palette), else ``None``."""
    try:
        if not data.startswith(_PNG_SIG):
            return None
        pos = 8
        idat = b""
        palette = b""
        width = height = depth = ctype = 0
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos : pos + 8])
            body = data[pos + 8 : pos + 8 + length]
            if kind == b"IHDR":
                width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            elif kind == b"PLTE":
                palette = body
            elif kind == b"IDAT":
                idat += body
            pos += 12 + length
        channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
        if depth != 8 or channels is None or width * height > max_pixels or width == 0:
            return None
        raw = zlib.decompress(idat)
        stride = width * channels
        prev = bytearray(stride)
        totals = [0, 0, 0]
        for y in range(height):
            start = y * (stride + 1)
            ftype = raw[start]
            line = bytearray(raw[start + 1 : start + 1 + stride])
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                up = prev[i]
                if ftype == 1:
                    line[i] = (line[i] + left) & 0xFF
                elif ftype == 2:
                    line[i] = (line[i] + up) & 0xFF
                elif ftype == 3:
                    line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
                elif ftype == 4:
                    upleft = prev[i - channels] if i >= channels else 0
                    line[i] = (line[i] + _paeth(left, up, upleft)) & 0xFF
            for x in range(width):
                px = line[x * channels : x * channels + channels]
                if ctype == 3:
                    r, g, b = palette[px[0] * 3 : px[0] * 3 + 3]
                elif channels <= 2:
                    r = g = b = px[0]
                else:
                    r, g, b = px[0], px[1], px[2]
                totals[0] += r
                totals[1] += g
                totals[2] += b
            prev = line
        n = width * height
        return totals[0] // n, totals[1] // n, totals[2] // n
    except (zlib.error, struct.error, IndexError, ValueError):
        return None


_NAMED = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "gray": (128, 128, 128),
    "red": (220, 20, 20),
    "green": (20, 160, 20),
    "blue": (20, 40, 220),
    "yellow": (240, 220, 20),
    "orange": (250, 140, 0),
    "purple": (130, 30, 160),
    "pink": (250, 160, 190),
    "brown": (130, 80, 30),
    "cyan": (0, 200, 220),
}


def colour_name(rgb: tuple[int, int, int]) -> str:
    """Nearest simple colour name."""
    return min(_NAMED, key=lambda n: sum((a - b) ** 2 for a, b in zip(_NAMED[n], rgb, strict=True)))


# -- Nova Canvas ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageJob:
    """A validated image-generation request."""

    task: str
    width: int
    height: int
    count: int
    seed: bytes
    colours: list[bytes] | None
    blocked: bool
    with_mask: bool


def _decode_image(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ImageError(field, "is required and must be a base64-encoded PNG or JPEG image")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(field, "must be valid base64") from None
    if image_kind(data) not in ("png", "jpeg"):
        raise ImageError(field, "must be a PNG or JPEG image (bad signature)")
    if len(data) > 25 * 1024 * 1024:
        raise ImageError(field, "must be at most 25 MB")
    return data


def plan_image_job(body: dict[str, Any]) -> ImageJob:
    """Validate the task-specific parameters of an image-generation request.

    Args:
        body: A request that already passed the spec schema.

    Returns:
        The job to render.

    Raises:
        ImageError: When a task's parameters are missing or invalid.

    ``VIRTUAL_TRY_ON`` (free-form in the spec) requires ``sourceImage`` and ``referenceImage``
    (base64 PNG/JPEG); ``maskType``/``maskImage``/``maskPrompt`` and other fields are accepted.
    """
    task = str(body["taskType"])
    own = _TASK_PARAMS[task]
    for other in _TASK_PARAMS.values():
        if other != own and other in body:
            raise ImageError(other, f"is not allowed with taskType {task}")
    params = body.get(own)
    if not isinstance(params, dict):
        raise ImageError(own, f"is required for taskType {task}")
    texts: list[str] = [str(v) for k, v in params.items() if k in ("text", "negativeText")]
    texts += [str(params.get("maskPrompt", ""))]
    colours: list[bytes] | None = None
    size_from: bytes | None = None
    if task == "TEXT_IMAGE":
        if not params.get("text"):
            raise ImageError(f"{own}.text", "is required")
        if "conditionImage" in params:
            size_from = _decode_image(params["conditionImage"], f"{own}.conditionImage")
        elif "controlMode" in params or "controlStrength" in params:
            raise ImageError(f"{own}.conditionImage", "is required with controlMode/Strength")
    elif task == "COLOR_GUIDED_GENERATION":
        if not params.get("colors"):
            raise ImageError(f"{own}.colors", "is required")
        if not params.get("text"):
            raise ImageError(f"{own}.text", "is required")
        colours = [bytes.fromhex(c[1:]) for c in params["colors"]]
        if "referenceImage" in params:
            _decode_image(params["referenceImage"], f"{own}.referenceImage")
    elif task == "IMAGE_VARIATION":
        images = params.get("images")
        if not images:
            raise ImageError(f"{own}.images", "is required (1 to 5 images)")
        for i, img in enumerate(images):
            data = _decode_image(img, f"{own}.images.{i}")
            size_from = size_from or data
    elif task in ("INPAINTING", "OUTPAINTING"):
        size_from = _decode_image(params.get("image"), f"{own}.image")
        has_mask = "maskImage" in params
        has_prompt = bool(params.get("maskPrompt"))
        if has_mask == has_prompt:
            raise ImageError(f"{own}.maskImage", "exactly one of maskImage or maskPrompt")
        if has_mask:
            _decode_image(params["maskImage"], f"{own}.maskImage")
        if task == "INPAINTING" and not params.get("text") and not params.get("maskPrompt"):
            pass
    elif task == "BACKGROUND_REMOVAL":
        size_from = _decode_image(params.get("image"), f"{own}.image")
    else:  # VIRTUAL_TRY_ON
        size_from = _decode_image(params.get("sourceImage"), f"{own}.sourceImage")
        _decode_image(params.get("referenceImage"), f"{own}.referenceImage")

    cfg = body.get("imageGenerationConfig") or {}
    width, height = 1024, 1024
    if size_from is not None and (found := image_size(size_from)) is not None:
        width, height = found
    width = int(cfg.get("width", width))
    height = int(cfg.get("height", height))
    for name, value in (("width", width), ("height", height)):
        if value % 16 or not 16 <= value <= 4096:
            raise ImageError(
                f"imageGenerationConfig.{name}", "must be a multiple of 16 between 16 and 4096"
            )
    if width * height > _MAX_PIXELS:
        raise ImageError("imageGenerationConfig.width", "at most 4,194,304 pixels in total")
    if not 0.25 <= width / height <= 4.0:
        raise ImageError("imageGenerationConfig.height", "aspect ratio must be within 1:4..4:1")
    count = 1 if task == "BACKGROUND_REMOVAL" else int(cfg.get("numberOfImages", 1))
    seed_text = f"{task}|{cfg.get('seed', 0)}|{width}x{height}|{'|'.join(texts)}"
    return ImageJob(
        task=task,
        width=width,
        height=height,
        count=count,
        seed=seed_text.encode(),
        colours=colours,
        blocked=any(MODERATION_MARKER in t for t in texts),
        with_mask=task == "VIRTUAL_TRY_ON",
    )


def render_job(job: ImageJob, data_urls: bool = False) -> dict[str, Any]:
    """Render a job into the ``imageGeneration`` 200 body."""
    produced = job.count - 1 if job.blocked else job.count
    images = []
    for i in range(produced):
        png = pattern_png(job.width, job.height, job.seed + b"#%d" % i, job.colours)
        text = base64.b64encode(png).decode("ascii")
        images.append(f"data:image/png;base64,{text}" if data_urls else text)
    body: dict[str, Any] = {"images": images}
    if job.blocked:
        body["error"] = (
            f"{job.count - produced} of {job.count} images were blocked by content moderation"
        )
    if job.with_mask:
        mask = pattern_png(job.width, job.height, job.seed + b"mask", [b"\xff\xff\xff", b"\0\0\0"])
        body["maskImage"] = base64.b64encode(mask).decode("ascii")
    return body
