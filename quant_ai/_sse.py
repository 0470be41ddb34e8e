"""Server-Sent Events of ``/ai/chat/stream`` as typed events.

Framing (``event:`` / ``data:`` / ``id:`` / ``retry:`` lines, comments, CRLF or LF, multi-line
data, frames split anywhere across network chunks) is done by ``httpx-sse``; this module turns
each frame into a typed event. It understands the spec's events (``start``, ``content``,
``done``), those seen in QuantCDN's clients (``session``, ``tool_start``,
``tool_input_progress``, ``tool_complete``, ``tool_request``, ``orchestration_status``,
``error``), the docs' variant ``{"type": "content", "content": ...}``, tool use carried in a
``done`` payload or a top-level ``toolUse``, and a ``data: [DONE]`` sentinel.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import QuantStreamError
from .types import ResponseMessage, ToolUse, Usage

__all__ = [
    "ContentEvent",
    "DoneEvent",
    "OrchestrationStatusEvent",
    "SessionEvent",
    "StartEvent",
    "StreamEvent",
    "ToolCompleteEvent",
    "ToolInputProgressEvent",
    "ToolRequestEvent",
    "ToolStartEvent",
    "UnknownEvent",
    "parse_event",
]


@dataclass(frozen=True, slots=True)
class StartEvent:
    """``start``: the request was accepted."""

    request_id: str | None
    model: str | None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """``session``: the conversation's session id."""

    session_id: str
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ContentEvent:
    """``content``: a piece of the answer's text."""

    delta: str


@dataclass(frozen=True, slots=True)
class ToolStartEvent:
    """``tool_start``: the service started executing a tool."""

    name: str
    tool_use_id: str | None
    input: Mapping[str, Any] | None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ToolInputProgressEvent:
    """``tool_input_progress``: the model is writing a tool's input."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ToolCompleteEvent:
    """``tool_complete``: a server-executed tool finished."""

    name: str
    tool_use_id: str | None
    result: Any
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class ToolRequestEvent:
    """``tool_request`` (or a frame with ``toolUse``): the model asks the client for tools."""

    tool_uses: list[ToolUse]
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class OrchestrationStatusEvent:
    """``orchestration_status``: progress of server-side tool orchestration."""

    message: str
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class DoneEvent:
    """``done``: the end of the answer.

    Attributes:
        complete: False when the model stopped to request client tools or handed the work to
            an orchestration.
        finish_reason: ``stop``, ``length``, ``tool_use``... when the service says.
        usage: Tokens and cost.
        tool_uses: Tool calls carried in the payload (``response.toolUse`` or ``toolUse``).
        content: The full text when the payload carries it.
        orchestration: ``{"pollUrl": ...}`` when tools went to an orchestration.
    """

    complete: bool
    finish_reason: str | None
    usage: Usage | None
    tool_uses: list[ToolUse]
    content: str | None
    orchestration: Mapping[str, Any] | None
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """An event this version does not know; kept so nothing is lost."""

    event: str
    data: Any


StreamEvent = (
    StartEvent
    | SessionEvent
    | ContentEvent
    | ToolStartEvent
    | ToolInputProgressEvent
    | ToolCompleteEvent
    | ToolRequestEvent
    | OrchestrationStatusEvent
    | DoneEvent
    | UnknownEvent
)


class _End:
    """The ``[DONE]`` sentinel."""


_DONE_SENTINEL = _End()


def _tool_uses(value: Any) -> list[ToolUse]:
    if value is None:
        return []
    items = [value] if isinstance(value, Mapping) else value
    return [ToolUse.model_validate(v) for v in items if isinstance(v, Mapping)]


def _done(data: Mapping[str, Any]) -> DoneEvent:
    response = data.get("response")
    tool_uses: list[ToolUse] = []
    content: str | None = None
    if isinstance(response, Mapping):
        message = ResponseMessage.model_validate(response)
        tool_uses = message.tool_use
        content = message.content if "content" in response else None
    tool_uses += _tool_uses(data.get("toolUse"))
    usage_raw = data.get("usage")
    usage = Usage.model_validate(usage_raw) if isinstance(usage_raw, Mapping) else None
    finish = data.get("finishReason") or data.get("stopReason")
    if finish == "tool_request":
        finish = "tool_use"
    complete = data.get("complete")
    orchestration = data.get("orchestration")
    return DoneEvent(
        complete=bool(complete) if complete is not None else True,
        finish_reason=str(finish) if finish else None,
        usage=usage,
        tool_uses=tool_uses,
        content=content if content is not None else _str_or_none(data.get("content")),
        orchestration=orchestration if isinstance(orchestration, Mapping) else None,
        data=data,
    )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_event(event: str, raw: str) -> StreamEvent | _End | None:
    """Turn one SSE frame into a typed event.

    Args:
        event: The ``event:`` name ("" when absent).
        raw: The joined ``data:`` lines.

    Returns:
        A typed event, ``None`` for frames that carry nothing (keep-alives), or the internal
        end sentinel for ``[DONE]``.

    Raises:
        QuantStreamError: For an ``error`` event or undecodable data.
    """
    if event == "message":  # the SSE default name: the frame had no event line
        event = ""
    raw = raw.strip()
    if raw == "[DONE]":
        return _DONE_SENTINEL
    if not raw:
        return (
            None
            if not event or event in ("ping", "keepalive", "heartbeat")
            else UnknownEvent(event, None)
        )
    try:
        data = json.loads(raw)
    except ValueError:
        if event in ("content", ""):
            return ContentEvent(raw)
        raise QuantStreamError(f"undecodable data in {event or 'a'} event: {raw[:200]!r}") from None
    if not isinstance(data, Mapping):
        return UnknownEvent(event, data)
    kind = event or str(data.get("type") or "")
    if kind in ("error", "exception") or (not event and "error" in data and len(data) <= 3):
        message = data.get("error") or data.get("message") or "the stream reported an error"
        if isinstance(message, Mapping):
            message = message.get("message") or json.dumps(message)
        raise QuantStreamError(str(message))
    if kind == "content":
        delta = data.get("delta")
        if not isinstance(delta, str):
            delta = data.get("content")
        text = delta if isinstance(delta, str) else ""
        if "toolUse" in data:
            return ToolRequestEvent(_tool_uses(data["toolUse"]), data)
        if data.get("complete") is True:
            return _done(data)
        return ContentEvent(text)
    if kind == "done" or (not event and data.get("complete") is True):
        return _done(data)
    if kind == "start":
        rid = data.get("requestId")
        return StartEvent(str(rid) if rid else None, _str_or_none(data.get("model")), data)
    if kind == "session":
        return SessionEvent(str(data.get("sessionId") or ""), data)
    if kind == "tool_start":
        inp = data.get("input")
        return ToolStartEvent(
            str(data.get("name") or ""),
            _str_or_none(data.get("toolUseId")),
            inp if isinstance(inp, Mapping) else None,
            data,
        )
    if kind == "tool_input_progress":
        return ToolInputProgressEvent(str(data.get("name") or ""), data)
    if kind == "tool_complete":
        return ToolCompleteEvent(
            str(data.get("name") or ""),
            _str_or_none(data.get("toolUseId")),
            data.get("result"),
            data,
        )
    if kind == "tool_request" or "toolUse" in data:
        uses = _tool_uses(data.get("toolUse")) if "toolUse" in data else _tool_uses(data)
        return ToolRequestEvent(uses, data)
    if kind == "orchestration_status":
        return OrchestrationStatusEvent(str(data.get("message") or ""), data)
    return UnknownEvent(kind, data)


Frame = tuple[str, str] | StreamEvent
"""An ``(event, data)`` SSE frame, or an event already typed (a JSON answer to a stream)."""


class _Tracker:
    """Follows a stream: types its frames, and raises on truncation with the partial text."""

    __slots__ = ("done", "request_id", "text")

    def __init__(self) -> None:
        self.done = False
        self.request_id: str | None = None
        self.text: list[str] = []

    def feed(self, item: Frame) -> StreamEvent | None:
        """Type one frame; return the event to yield, or None for frames that carry nothing."""
        if isinstance(item, tuple):
            try:
                parsed = parse_event(*item)
            except QuantStreamError as exc:
                raise self.error(str(exc)) from None
        else:
            parsed = item
        if isinstance(parsed, _End):  # a bare [DONE] ends the answer like a done event
            parsed = DoneEvent(True, None, None, [], None, None)
        if parsed is None:
            return None
        if isinstance(parsed, ContentEvent):
            self.text.append(parsed.delta)
        elif isinstance(parsed, StartEvent):
            self.request_id = parsed.request_id
        elif isinstance(parsed, DoneEvent):
            self.done = True
        return parsed

    def error(self, message: str) -> QuantStreamError:
        """A stream error carrying what arrived before it."""
        return QuantStreamError(
            message, partial_text="".join(self.text), request_id=self.request_id
        )

    def wrap(self, exc: QuantStreamError) -> QuantStreamError:
        """Add the partial text to an error raised while reading frames."""
        if exc.partial_text or exc.request_id:
            return exc
        return self.error(str(exc))

    def finish(self) -> None:
        """Raise unless the stream reached its end."""
        if not self.done:
            raise self.error("the stream ended before its 'done' event (truncated answer)")


def iter_events(items: Iterator[Frame]) -> Iterator[StreamEvent]:
    """Yield typed events; raise :class:`QuantStreamError` if the stream is truncated."""
    tracker = _Tracker()
    try:
        for item in items:
            event = tracker.feed(item)
            if event is not None:
                yield event
                if tracker.done:
                    return
    except QuantStreamError as exc:
        raise tracker.wrap(exc) from exc.__cause__
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
    tracker.finish()


async def aiter_events(items: AsyncIterator[Frame]) -> AsyncIterator[StreamEvent]:
    """Async twin of :func:`iter_events`."""
    tracker = _Tracker()
    try:
        async for item in items:
            event = tracker.feed(item)
            if event is not None:
                yield event
                if tracker.done:
                    return
    except QuantStreamError as exc:
        raise tracker.wrap(exc) from exc.__cause__
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
    tracker.finish()
