"""One state machine for a streamed chat answer, fed by both adapters (pure, no I/O).

:class:`ChatStreamAccumulator` folds the typed stream events of
:meth:`quant_ai.QuantClient.stream_chat` into the answer so far and says, for every event,
what changed (:class:`StreamUpdate`): new text, client tool calls seen for the first time,
server-run tools that started, finished or were reported. The adapters turn an update into
their framework's chunk (a LangChain ``AIMessageChunk``, a LlamaIndex ``ChatResponse``) and
never keep stream state of their own.

The rules (each one is tested in ``tests/core/test_chat_stream.py``):

* ``content`` deltas are appended; a ``done`` event's whole ``content`` is the text only
  when no delta came before it.
* A client tool call is keyed by its ``toolUseId`` (by name and arguments when it has none).
  Its arguments may arrive as JSON text fragments (in ``tool_request`` or
  ``tool_input_progress`` events), which are concatenated and parsed tolerantly; an object
  input replaces what was there.
* Tools the service runs (``tool_start`` / ``tool_complete`` events, or tool uses carrying
  ``status``/``executionId``/``result``) are kept apart from client calls: an adapter must
  never hand them to an agent to run again.
* ``done`` sets usage and the finish reason (``tool_use`` when client calls were made and
  the service gave none, else ``stop``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from quant_ai._sse import (
    ContentEvent,
    DoneEvent,
    SessionEvent,
    StartEvent,
    StreamEvent,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolRequestEvent,
    ToolStartEvent,
)
from quant_ai.types import ChatResponse, ResponseMessage, ToolUse, Usage

__all__ = [
    "ChatStreamAccumulator",
    "ServerToolUpdate",
    "StreamToolCall",
    "StreamUpdate",
    "parse_tool_arguments",
]


def parse_tool_arguments(text: str) -> dict[str, Any]:
    """Parse (possibly partial) JSON tool arguments; ``{}`` when nothing usable is there.

    A complete JSON object is parsed as is; a prefix of one (``{"a": 1, "b``) is closed
    tolerantly so that a stream can show the arguments known so far.

    Args:
        text: JSON text of an object, complete or cut anywhere.

    Returns:
        The arguments (a new dict).
    """
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = _parse_partial(text)
    return parsed if isinstance(parsed, dict) else {}


def _parse_partial(text: str) -> Any:
    """Close the open strings, arrays and objects of a JSON prefix and parse what results."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    candidate = text + ('"' if in_string else "")
    # drop a dangling key, colon or comma the closing brackets cannot make valid
    for end in range(len(candidate), 0, -1):
        head = candidate[:end].rstrip()
        if head.endswith((",", ":")):
            continue
        try:
            return json.loads(head + "".join(reversed(stack)))
        except ValueError:
            continue
    return {}


@dataclass
class StreamToolCall:
    """A client tool call as known so far.

    Attributes:
        tool_use_id: The id to answer with (generated when the service gave none).
        name: The tool's name.
        arguments: The arguments: an object, or JSON text still arriving.
    """

    tool_use_id: str
    name: str
    arguments: dict[str, Any] | str = ""

    @property
    def input(self) -> dict[str, Any]:
        """The arguments as an object (partial JSON text parsed tolerantly)."""
        if isinstance(self.arguments, dict):
            return dict(self.arguments)
        return parse_tool_arguments(self.arguments)

    def as_tool_use(self) -> ToolUse:
        """The call as a :class:`~quant_ai.types.ToolUse`."""
        return ToolUse(tool_use_id=self.tool_use_id, name=self.name, input=self.input)


@dataclass(frozen=True)
class ServerToolUpdate:
    """Something a server-run tool did during the stream.

    Attributes:
        kind: ``"start"`` (``tool_start``), ``"complete"`` (``tool_complete``) or
            ``"reported"`` (a tool use the service ran, seen in ``tool_request``/``done``).
        tool_use_id: The tool use's id (generated when the service gave none).
        name: The tool's name.
        input: Its arguments (start and reported).
        result: Its result (complete and reported), None when not given.
        use: The reported :class:`~quant_ai.types.ToolUse` (``"reported"`` only).
    """

    kind: Literal["start", "complete", "reported"]
    tool_use_id: str
    name: str
    input: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    use: ToolUse | None = None


@dataclass
class StreamUpdate:
    """What one event changed.

    Attributes:
        text: Text added by this event.
        new_tool_calls: Client tool calls seen for the first time in a ``tool_request`` or
            ``done`` event (complete calls, in order).
        tool_calls_changed: Whether any client call appeared or its arguments grew.
        server_tools: What server-run tools did.
        done: Whether this was the ``done`` event.
    """

    text: str = ""
    new_tool_calls: list[StreamToolCall] = field(default_factory=list)
    tool_calls_changed: bool = False
    server_tools: list[ServerToolUpdate] = field(default_factory=list)
    done: bool = False

    @property
    def visible(self) -> bool:
        """Whether the message shown so far changed (text, client calls or the end)."""
        return bool(self.text) or self.tool_calls_changed or self.done


class ChatStreamAccumulator:
    """Builds the answer from stream events and reports what each event changed.

    Attributes:
        tool_calls: Client tool calls by id, in arrival order.
        server_tools: Server-run tools by id: wire-shaped dicts (``toolUseId``, ``name``,
            ``input``, ``status``, ``result``...).
        usage: The usage of the ``done`` event.
        finish_reason: The finish reason once done.
        request_id: From the ``start`` event.
        model: From the ``start`` event.
        session_id: From the ``session`` event.
        done: The ``done`` event, once seen.

    Example:
        >>> acc = ChatStreamAccumulator()
        >>> acc.add(ContentEvent("Hi")).text
        'Hi'
        >>> acc.text
        'Hi'
    """

    def __init__(self) -> None:
        self.text_parts: list[str] = []
        self.tool_calls: dict[str, StreamToolCall] = {}
        self.server_tools: dict[str, dict[str, Any]] = {}
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.request_id: str | None = None
        self.model: str | None = None
        self.session_id: str | None = None
        self.done: DoneEvent | None = None
        self._reported: set[str] = set()
        self._anonymous: dict[str, str] = {}

    # ------------------------------------------------------------------ state

    @property
    def text(self) -> str:
        """The text so far."""
        return "".join(self.text_parts)

    def calls(self) -> list[StreamToolCall]:
        """The client tool calls known so far (those with a name), in arrival order."""
        return [call for call in self.tool_calls.values() if call.name]

    def server_tool_uses(self) -> list[ToolUse]:
        """The server-run tools as :class:`~quant_ai.types.ToolUse`, in arrival order."""
        return [ToolUse.model_validate(entry) for entry in self.server_tools.values()]

    def response(self) -> ChatResponse:
        """The answer as if it had been buffered."""
        finish = self.finish_reason or ("tool_use" if self.calls() else "stop")
        uses = [*self.server_tool_uses(), *(c.as_tool_use() for c in self.calls())]
        return ChatResponse(
            response=ResponseMessage(content=self.text, tool_use=uses),
            model=self.model,
            request_id=self.request_id,
            finish_reason=finish,
            usage=self.usage,
        )

    # ------------------------------------------------------------------ events

    def add(self, event: StreamEvent) -> StreamUpdate:
        """Fold one event in and say what it changed."""
        update = StreamUpdate()
        if isinstance(event, ContentEvent):
            if event.delta:
                self.text_parts.append(event.delta)
                update.text = event.delta
        elif isinstance(event, ToolRequestEvent):
            raw = event.data.get("toolUse") if isinstance(event.data, Mapping) else None
            items = [raw] if isinstance(raw, Mapping) else raw
            if isinstance(items, list) and items and all(isinstance(i, Mapping) for i in items):
                for item in items:  # raw items keep JSON-text inputs as fragments
                    self._add_use(ToolUse.model_validate(item), item.get("input"), update)
            else:
                for use in event.tool_uses:
                    self._add_use(use, use.input, update)
        elif isinstance(event, ToolInputProgressEvent):
            self._add_progress(event, update)
        elif isinstance(event, ToolStartEvent):
            self._server_start(event, update)
        elif isinstance(event, ToolCompleteEvent):
            self._server_complete(event, update)
        elif isinstance(event, StartEvent):
            self.request_id = event.request_id or self.request_id
            self.model = event.model or self.model
        elif isinstance(event, SessionEvent):
            self.session_id = event.session_id or self.session_id
        elif isinstance(event, DoneEvent):
            self._done(event, update)
        return update

    def _done(self, event: DoneEvent, update: StreamUpdate) -> None:
        self.done = event
        self.usage = event.usage or self.usage
        for use in event.tool_uses:
            self._add_use(use, use.input, update, replace=True)
        if event.content and not self.text_parts:
            self.text_parts.append(event.content)
            update.text = event.content
        self.finish_reason = event.finish_reason or ("tool_use" if self.calls() else "stop")
        update.done = True

    def _call_for(self, tool_use_id: str | None, name: str) -> tuple[StreamToolCall, bool]:
        """The call with this id (or the last of this name when no id); (call, is_new)."""
        if tool_use_id and tool_use_id in self.tool_calls:
            call = self.tool_calls[tool_use_id]
            if name and not call.name:
                call.name = name
            return call, False
        if not tool_use_id:
            for call in reversed(self.tool_calls.values()):
                if call.name == name:
                    return call, False
            tool_use_id = f"call_{name or 'tool'}_{len(self.tool_calls)}"
        call = StreamToolCall(tool_use_id, name)
        self.tool_calls[tool_use_id] = call
        return call, True

    def _add_use(
        self, use: ToolUse, value: Any, update: StreamUpdate, *, replace: bool = False
    ) -> None:
        if use.server_executed:
            self._server_reported(use, update)
            return
        key = use.tool_use_id
        if not key:  # no id: the same name and arguments are the same call
            signature = f"{use.name}:{json.dumps(use.input, sort_keys=True)}"
            if signature in self._anonymous:
                return
            key = f"call_{use.name or 'tool'}_{len(self.tool_calls)}"
            self._anonymous[signature] = key
        call, new = self._call_for(key, use.name)
        before = call.arguments
        if isinstance(value, str) and not replace:
            call.arguments = (call.arguments if isinstance(call.arguments, str) else "") + value
        elif isinstance(value, Mapping) and (value or not call.arguments or new):
            call.arguments = dict(value)
        if new:
            update.new_tool_calls.append(call)
        update.tool_calls_changed |= new or call.arguments != before

    def _add_progress(self, event: ToolInputProgressEvent, update: StreamUpdate) -> None:
        data = event.data
        fragment = next(
            (data[k] for k in ("delta", "partialJson", "input") if isinstance(data.get(k), str)),
            None,
        )
        if fragment is None:
            return
        tool_use_id = data.get("toolUseId")
        call, _ = self._call_for(str(tool_use_id) if tool_use_id else None, event.name)
        call.arguments = (call.arguments if isinstance(call.arguments, str) else "") + fragment
        update.tool_calls_changed = True

    def _server_start(self, event: ToolStartEvent, update: StreamUpdate) -> None:
        key = event.tool_use_id or f"server_{event.name}_{len(self.server_tools)}"
        args = dict(event.input or {})
        self.server_tools[key] = {"toolUseId": key, "name": event.name, "input": args}
        self.server_tools[key]["status"] = "running"
        update.server_tools.append(ServerToolUpdate("start", key, event.name, args))

    def _server_complete(self, event: ToolCompleteEvent, update: StreamUpdate) -> None:
        key = event.tool_use_id or next(
            (
                k
                for k, v in reversed(self.server_tools.items())
                if v.get("name") == event.name and v.get("status") == "running"
            ),
            f"server_{event.name}",
        )
        entry = self.server_tools.setdefault(
            key, {"toolUseId": key, "name": event.name, "input": {}}
        )
        entry["status"] = "complete"
        entry["result"] = event.result
        update.server_tools.append(
            ServerToolUpdate("complete", key, event.name, dict(entry["input"]), event.result)
        )

    def _server_reported(self, use: ToolUse, update: StreamUpdate) -> None:
        key = use.tool_use_id or use.execution_id or f"server_{use.name}"
        known = key in self.server_tools
        self.server_tools[key] = use.model_dump(by_alias=True, exclude_none=True, mode="json")
        self.server_tools[key].setdefault("toolUseId", key)
        if (known or key in self._reported) and use.result is None:
            return  # already shown; nothing new to say
        self._reported.add(key)
        update.server_tools.append(
            ServerToolUpdate("reported", key, use.name, dict(use.input), use.result, use)
        )
