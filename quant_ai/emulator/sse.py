"""Server-Sent Events framing, content chunking, and ASGI responses that can drop mid-body."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = [
    "DropConnection",
    "DroppingResponse",
    "EventStream",
    "chunk_text",
    "frame",
]


class DropConnection(Exception):
    """Raised inside a response to make the server close the socket without finishing it."""


def frame(index: int, event: str, data: Any, wild: bool = False) -> bytes:
    """Encode one SSE event.

    ``wild`` writes the docs' alternative form: no ``event:`` line, the name in ``data.type``
    and (for ``content``) the text in ``data.content`` instead of ``data.delta``.
    """
    if wild:
        payload = {"type": event, **data}
        if event == "content" and "delta" in payload:
            payload["content"] = payload.pop("delta")
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return f"id: chunk-{index}\ndata: {text}\n\n".encode()
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id: chunk-{index}\nevent: {event}\ndata: {text}\n\n".encode()


_WORDS = re.compile(r"\s*\S+")
_SENTENCES = re.compile(r"[^.!?]*[.!?]+\s*|[^.!?]+$")


def chunk_text(text: str, chunking: str, count: int | None = None) -> list[str]:
    """Cut an answer into content deltas.

    Args:
        text: The whole answer.
        chunking: ``word`` (each delta carries its leading space), ``char``, ``sentence`` or
            ``none``.
        count: Force exactly this many deltas: the text is cut into ``count`` near-equal
            pieces; a text shorter than ``count`` characters is first padded by repeating it.

    Returns:
        Non-empty deltas whose concatenation is the text (or the padded text).
    """
    if not text and not count:
        return []
    if count:
        base = text or "."
        while len(text) < count:
            text = f"{text} {base}" if text else base
        size, extra = divmod(len(text), count)
        out, pos = [], 0
        for i in range(count):
            step = size + (1 if i < extra else 0)
            out.append(text[pos : pos + step])
            pos += step
        return out
    if chunking == "char":
        return list(text)
    if chunking == "none":
        return [text]
    pattern = _SENTENCES if chunking == "sentence" else _WORDS
    pieces = [p for p in pattern.findall(text) if p]
    rest = text[len("".join(pieces)) :]
    if rest:
        pieces.append(rest)
    return pieces or [text]


class EventStream(Response):
    """A ``text/event-stream`` response written and flushed event by event.

    Args:
        frames: The encoded events.
        delay_s: Pause before each event after the first (slow events).
        drop_after: Drop the connection after this many events.
        headers: Extra response headers.
        on_delay: Called with each pause as it is taken (the emulator's counters).
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: Iterable[bytes],
        *,
        delay_s: float = 0.0,
        drop_after: int | None = None,
        headers: dict[str, str] | None = None,
        on_delay: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(
            content=b"",
            status_code=200,
            headers={"cache-control": "no-cache", "x-accel-buffering": "no", **(headers or {})},
            media_type="text/event-stream; charset=utf-8",
        )
        # Streaming: no content-length.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.frames = list(frames)
        self.delay_s = delay_s
        self.drop_after = drop_after
        self.on_delay = on_delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head, then each event with its own write."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        for i, data in enumerate(self.frames):
            if self.drop_after is not None and i >= self.drop_after:
                raise DropConnection(f"fault: connection dropped after {i} events")
            if i and self.delay_s:
                if self.on_delay is not None:
                    self.on_delay(self.delay_s)
                await asyncio.sleep(self.delay_s)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class DroppingResponse(Response):
    """A response that announces its full length, sends half of it and drops the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the head and half the body, then drop."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        half = bytes(self.body[: len(self.body) // 2])
        await send({"type": "http.response.body", "body": half, "more_body": True})
        raise DropConnection("fault: connection dropped mid-body")
