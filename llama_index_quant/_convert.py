"""Pure conversions between LlamaIndex objects and :mod:`quant_ai` wire models.

Everything here is a function of its arguments: no I/O (except reading a local file named by
an ``ImageBlock``/``DocumentBlock``/``VideoBlock`` ``path``), no client, no globals. The classes
in :mod:`llama_index_quant.llms` stay thin and call these.

Rules (each one is unit-tested):

* ``SYSTEM``/``DEVELOPER`` messages become the request's ``systemPrompt`` (joined by blank lines).
* Text blocks keep their text; blank text blocks are dropped (the API refuses them).
* Images (bytes, a local path or a ``data:`` URL) become ``image`` blocks (png, jpeg, gif,
  webp); remote ``http(s)`` URLs are refused with a message saying what to pass instead.
* Documents become ``document`` blocks (pdf, csv, docx, xlsx); plain-text documents
  (``text/*``) are inlined as text; other formats are refused.
* Videos become ``video`` blocks (mp4, mov, mkv, webm). Audio is refused.
* ``ToolCallBlock`` (and legacy ``additional_kwargs["tool_calls"]``) on assistant messages
  become ``toolUse`` blocks; ``TOOL``/``FUNCTION`` messages become ``toolResult`` blocks in a
  user turn, with their images and documents passed through.
* Consecutive turns of the same role are merged (parallel tool results land in one user turn).
* A request that offers no tools (no ``toolConfig``) carries its tool history as text
  (``quant_ai._history.tool_blocks_as_text``): the service refuses tool blocks without tools.
* Thinking and cache-point blocks have no native equivalent and are dropped.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    AudioBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CitableBlock,
    CitationBlock,
    MessageRole,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.base.llms.types import (
    DocumentBlock as LIDocumentBlock,
)
from llama_index.core.base.llms.types import (
    ImageBlock as LIImageBlock,
)
from llama_index.core.base.llms.types import (
    TextBlock as LITextBlock,
)
from llama_index.core.base.llms.types import (
    VideoBlock as LIVideoBlock,
)
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json

from quant_ai import (
    ChatRequest,
    ContentEvent,
    DocumentBlock,
    DoneEvent,
    ImageBlock,
    Message,
    QuantValidationError,
    SessionEvent,
    StartEvent,
    StreamEvent,
    TextBlock,
    Tool,
    ToolCompleteEvent,
    ToolConfig,
    ToolInputProgressEvent,
    ToolRequestEvent,
    ToolResultBlock,
    ToolSpec,
    ToolStartEvent,
    ToolUse,
    ToolUseBlock,
    Usage,
    VideoBlock,
)
from quant_ai import ChatResponse as QuantChatResponse
from quant_ai._history import has_tool_blocks, tool_blocks_as_text
from quant_ai.types import ToolInputSchema, ToolResultContent, ToolUseContent, sniff_image_mime

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "StreamState",
    "ToolChoice",
    "chat_response_from_quant",
    "force_single_tool_call",
    "messages_to_quant",
    "resolve_tool_choice",
    "tool_calls_from_response",
    "tools_to_quant",
    "usage_to_openai",
]

QuantBlock = TextBlock | ImageBlock | VideoBlock | DocumentBlock | ToolUseBlock | ToolResultBlock
ToolResultInner = TextBlock | ImageBlock | VideoBlock | DocumentBlock

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_VIDEO_FORMATS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/webm": "webm",
}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_DOCUMENT_EXTENSIONS = {"pdf": "pdf", "csv": "csv", "docx": "docx", "xlsx": "xlsx"}
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9 \-()\[\]]+")


def _refuse(message: str, field: str = "messages") -> QuantValidationError:
    return QuantValidationError(message, field=field)


# --------------------------------------------------------------------------- media


def _remote_url(url: object) -> bool:
    text = str(url) if url is not None else ""
    return text.startswith(("http://", "https://"))


def _image_to_quant(block: LIImageBlock) -> ImageBlock:
    if block.image is None and block.path is None and _remote_url(block.url):
        raise _refuse(
            f"image URL {block.url} cannot be sent: Quant AI takes image bytes, not URLs. "
            "Download the image and pass ImageBlock(image=<bytes>) or ImageBlock(path=...)"
        )
    try:
        data = block.resolve_image(as_base64=False).read()
    except (OSError, ValueError) as exc:
        raise _refuse(f"the image could not be read: {exc}") from None
    mime = (block.image_mimetype or "").lower() or sniff_image_mime(data)
    fmt = _IMAGE_FORMATS.get(mime)
    if fmt is None:
        raise _refuse(
            f"image type {mime!r} is not supported; use png, jpeg, gif or webp",
        )
    return ImageBlock.from_bytes(data, fmt)


def _video_to_quant(block: LIVideoBlock) -> VideoBlock:
    if block.video is None and block.path is None and _remote_url(block.url):
        raise _refuse(
            f"video URL {block.url} cannot be sent: Quant AI takes video bytes. "
            "Pass VideoBlock(video=<bytes>) or VideoBlock(path=...)"
        )
    try:
        data = block.resolve_video(as_base64=False).read()
    except (OSError, ValueError) as exc:
        raise _refuse(f"the video could not be read: {exc}") from None
    mime = (block.video_mimetype or "").lower()
    if not mime and block.path is not None:
        mime = mimetypes.guess_type(str(block.path))[0] or ""
    fmt = _VIDEO_FORMATS.get(mime)
    if fmt is None:
        raise _refuse(
            f"video type {mime or 'unknown'!r} is not supported; use mp4, mov, mkv or webm "
            "(set video_mimetype when passing raw bytes)"
        )
    return VideoBlock.from_bytes(data, fmt)


def _document_name(title: str | None) -> str:
    name = _BAD_NAME_CHARS.sub(" ", title or "").strip()
    return " ".join(name.split())[:200] or "document"


def _document_to_quant(block: LIDocumentBlock) -> DocumentBlock | TextBlock | None:
    if block.data is None and block.path is None and _remote_url(block.url):
        raise _refuse(
            f"document URL {block.url} cannot be sent: Quant AI takes document bytes. "
            "Download it and pass DocumentBlock(data=<bytes>) or DocumentBlock(path=...)"
        )
    try:
        data = block.resolve_document().read()
    except (OSError, ValueError) as exc:
        raise _refuse(f"the document could not be read: {exc}") from None
    mime = (block.document_mimetype or "").lower()
    fmt = _DOCUMENT_FORMATS.get(mime)
    if fmt is None and not mime:
        fmt = _DOCUMENT_EXTENSIONS.get((block.guess_format() or "").lower())
    if fmt is not None:
        return DocumentBlock.from_bytes(data, fmt, _document_name(block.title))
    if mime.startswith("text/") or mime in ("application/json", "application/xml"):
        text = data.decode("utf-8", errors="replace")
        if not text.strip():
            return None
        title = block.title if block.title and block.title != "input_document" else "document"
        return TextBlock(text=f"[{title}]\n{text}")
    raise _refuse(
        f"document type {mime or 'unknown'!r} is not supported; use pdf, csv, docx, xlsx or a "
        "text/* document"
    )


# --------------------------------------------------------------------------- messages


def _tool_kwargs(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        return _parse_args(value)
    return {}


def _parse_args(text: str) -> dict[str, Any]:
    """Parse (possibly partial) JSON tool arguments; ``{}`` when nothing usable."""
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        try:
            parsed = parse_partial_json(text)
        except (ValueError, TypeError):
            return {}
    return parsed if isinstance(parsed, dict) else {}


def _legacy_tool_calls(message: ChatMessage) -> list[ToolUseBlock]:
    """``additional_kwargs["tool_calls"]`` in the OpenAI shape (dicts or SDK objects)."""
    calls = message.additional_kwargs.get("tool_calls") or []
    out: list[ToolUseBlock] = []
    for call in calls:
        data = call if isinstance(call, Mapping) else getattr(call, "__dict__", {})
        fn = data.get("function") or {}
        if not isinstance(fn, Mapping):
            fn = getattr(fn, "__dict__", {})
        name = fn.get("name") or data.get("name")
        call_id = data.get("id") or data.get("tool_call_id")
        if not name or not call_id:
            continue
        args = fn.get("arguments", data.get("input", {}))
        out.append(
            ToolUseBlock(
                tool_use=ToolUseContent(
                    tool_use_id=str(call_id), name=str(name), input=_tool_kwargs(args)
                )
            )
        )
    return out


def _blocks_to_quant(blocks: Iterable[object], role: str) -> list[QuantBlock]:
    out: list[QuantBlock] = []
    for block in blocks:
        if isinstance(block, LITextBlock):
            if block.text.strip():
                out.append(TextBlock(text=block.text))
        elif isinstance(block, LIImageBlock):
            if role != "user":
                raise _refuse(
                    f"images can only be sent in user or tool messages, not {role} messages"
                )
            out.append(_image_to_quant(block))
        elif isinstance(block, LIDocumentBlock):
            if role != "user":
                raise _refuse(
                    f"documents can only be sent in user or tool messages, not {role} messages"
                )
            doc = _document_to_quant(block)
            if doc is not None:
                out.append(doc)
        elif isinstance(block, LIVideoBlock):
            if role != "user":
                raise _refuse(
                    f"videos can only be sent in user or tool messages, not {role} messages"
                )
            out.append(_video_to_quant(block))
        elif isinstance(block, AudioBlock):
            raise _refuse(
                "audio is not supported by Quant AI chat; transcribe it and send the text"
            )
        elif isinstance(block, ToolCallBlock):
            if role != "assistant":
                raise _refuse("tool calls belong in assistant messages")
            if not block.tool_call_id:
                raise _refuse(f"the tool call {block.tool_name!r} has no tool_call_id")
            out.append(
                ToolUseBlock(
                    tool_use=ToolUseContent(
                        tool_use_id=block.tool_call_id,
                        name=block.tool_name,
                        input=_tool_kwargs(block.tool_kwargs),
                    )
                )
            )
        elif isinstance(block, CitableBlock):
            out.extend(_blocks_to_quant(block.content, role))
        elif isinstance(block, (ThinkingBlock, CachePoint, CitationBlock)):
            continue  # no native equivalent on the Quant AI chat API
        else:
            raise _refuse(f"unsupported content block {type(block).__name__}")
    return out


def _tool_result(message: ChatMessage) -> ToolResultBlock:
    call_id = message.additional_kwargs.get("tool_call_id") or message.additional_kwargs.get(
        "tool_use_id"
    )
    if not call_id:
        raise _refuse(
            "a tool message needs additional_kwargs['tool_call_id'] (the id of the tool call "
            "it answers)"
        )
    inner: list[ToolResultInner] = []
    for block in _blocks_to_quant(message.blocks, "user"):
        if isinstance(block, (ToolUseBlock, ToolResultBlock)):
            raise _refuse("a tool message cannot contain tool calls or tool results")
        inner.append(block)
    if not inner:
        inner = [TextBlock(text="(no output)")]
    is_error = bool(message.additional_kwargs.get("is_error"))
    status = message.additional_kwargs.get("status")
    if status not in ("success", "error"):
        status = "error" if is_error else None
    return ToolResultBlock(
        tool_result=ToolResultContent(tool_use_id=str(call_id), content=inner, status=status)
    )


def messages_to_quant(messages: Sequence[ChatMessage]) -> tuple[list[Message], str | None]:
    """Convert LlamaIndex chat messages to Quant AI messages and a system prompt.

    Args:
        messages: The conversation, oldest first.

    Returns:
        ``(messages, system_prompt)``; the prompt is None when there is no system message.

    Raises:
        QuantValidationError: For content the API cannot take (audio, remote URLs, images
            in assistant turns, tool messages without ``tool_call_id``), before any request.
    """
    system_parts: list[str] = []
    turns: list[tuple[str, list[QuantBlock]]] = []
    for message in messages:
        role = message.role
        if role in (MessageRole.SYSTEM, MessageRole.DEVELOPER):
            text = "".join(b.text for b in message.blocks if isinstance(b, LITextBlock)).strip()
            if text:
                system_parts.append(text)
            continue
        blocks: list[QuantBlock]
        if role in (MessageRole.TOOL, MessageRole.FUNCTION):
            wire_role = "user"
            blocks = [_tool_result(message)]
        elif role in (MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT):
            wire_role = "assistant"
            blocks = _blocks_to_quant(message.blocks, wire_role)
            if not any(isinstance(b, ToolUseBlock) for b in blocks):
                blocks += _legacy_tool_calls(message)
        else:
            wire_role = "user"
            blocks = _blocks_to_quant(message.blocks, wire_role)
        if not blocks:
            continue  # an empty turn (e.g. blank text) would be refused by the API
        if turns and turns[-1][0] == wire_role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((wire_role, blocks))
    out = [Message(role=role, content=list(blocks)) for role, blocks in turns]
    return out, "\n\n".join(system_parts) or None


# --------------------------------------------------------------------------- tools

ToolChoice = str | Mapping[str, Any] | None


@dataclass(frozen=True)
class ResolvedToolChoice:
    """What a LlamaIndex tool choice means on an API without ``toolChoice``.

    Attributes:
        tools: The tools to offer (a named choice keeps only that tool; ``none`` keeps them
            only when the history already holds tool blocks, which the service requires).
        instruction: A system-prompt instruction steering the model, or None.
        server_tools: Whether server-side execution (``auto_execute``/``allowed_tools``) is
            still offered; False for a ``none`` that offers no tools, so no tool runs at all.
    """

    tools: list[BaseTool]
    instruction: str | None
    server_tools: bool = True


def _choice_name(choice: Mapping[str, Any]) -> str | None:
    for key in ("function", "tool"):
        inner = choice.get(key)
        if isinstance(inner, Mapping) and inner.get("name"):
            return str(inner["name"])
    name = choice.get("name")
    return str(name) if name else None


def resolve_tool_choice(
    tools: Sequence[BaseTool],
    tool_choice: ToolChoice,
    *,
    tool_required: bool,
    allow_parallel_tool_calls: bool,
    history_has_tool_blocks: bool = False,
) -> ResolvedToolChoice:
    """Map ``tool_choice``/``tool_required`` onto the tools offered and an instruction.

    The native API has no ``toolChoice``: ``auto`` offers every tool, ``required``/``any``
    (or ``tool_required=True``) adds an instruction to call a tool, a tool name (or an
    OpenAI/Bedrock-style dict naming one) offers only that tool with an instruction to call it,
    and ``none`` offers no tools and turns server-side execution off (unless the history holds
    tool blocks: then the tools stay, with an instruction not to call any).

    Raises:
        ValueError: For a named tool that is not among ``tools`` or an unknown choice.
    """
    offered = list(tools)
    notes: list[str] = []
    name: str | None = None
    mode = "auto"
    if isinstance(tool_choice, Mapping):
        if tool_choice.get("type") in ("any", "required") or "any" in tool_choice:
            mode = "required"
        elif tool_choice.get("type") == "none" or "none" in tool_choice:
            mode = "none"
        elif tool_choice.get("type") == "auto" or "auto" in tool_choice:
            mode = "auto"
        else:
            name = _choice_name(tool_choice)
            if name is None:
                raise ValueError(f"unrecognised tool_choice {dict(tool_choice)!r}")
            mode = "named"
    elif isinstance(tool_choice, str):
        lowered = tool_choice.lower()
        if lowered in ("auto", "none"):
            mode = lowered
        elif lowered in ("required", "any"):
            mode = "required"
        else:
            name, mode = tool_choice, "named"
    if mode == "auto" and tool_required:
        mode = "required"
    if mode == "named":
        offered = [t for t in tools if t.metadata.get_name() == name]
        if not offered:
            known = ", ".join(t.metadata.get_name() for t in tools) or "none"
            raise ValueError(f"tool_choice names {name!r}, which is not a given tool ({known})")
        notes.append(f"Answer by calling the tool `{name}`.")
    elif mode == "required" and offered:
        notes.append("Answer by calling one of the available tools; do not answer in text.")
    elif mode == "none":
        notes.append("Do not call any tool; answer in text.")
        if not history_has_tool_blocks or not offered:
            return ResolvedToolChoice([], " ".join(notes), server_tools=False)
    if offered and not allow_parallel_tool_calls and mode != "none":
        notes.append("Call at most one tool at a time.")
    return ResolvedToolChoice(offered, " ".join(notes) or None)


def tools_to_quant(
    tools: Sequence[BaseTool],
    *,
    auto_execute: bool | None = None,
    allowed_tools: Sequence[str] | None = None,
) -> ToolConfig | None:
    """Build ``toolConfig`` from LlamaIndex tools (None when there is nothing to send).

    Args:
        tools: Client-side tools; their schema is ``tool.metadata.get_parameters_dict()``.
        auto_execute: Let the service execute the allowed tools itself.
        allowed_tools: Tool names the service may execute.
    """
    specs = [
        Tool(
            tool_spec=ToolSpec(
                name=t.metadata.get_name(),
                description=t.metadata.description or None,
                input_schema=ToolInputSchema.model_validate(
                    {"json": t.metadata.get_parameters_dict()}
                ),
            )
        )
        for t in tools
    ]
    if not specs and not auto_execute and not allowed_tools:
        return None
    return ToolConfig(
        tools=specs or None,
        auto_execute=auto_execute,
        allowed_tools=list(allowed_tools) if allowed_tools else None,
    )


# --------------------------------------------------------------------------- responses


def usage_to_openai(usage: Usage | None) -> dict[str, Any]:
    """Usage with the OpenAI names LlamaIndex's ``TokenCountingHandler`` reads."""
    if usage is None:
        return {}
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
    }
    if usage.cost_cents is not None:
        out["cost_cents"] = usage.cost_cents
    return out


def _server_calls(uses: Iterable[ToolUse]) -> list[dict[str, Any]]:
    return [u.model_dump(by_alias=True, exclude_none=True, mode="json") for u in uses]


def _response_kwargs(
    usage: Usage | None,
    finish_reason: str | None,
    request_id: str | None,
    model: str | None,
    server_calls: list[dict[str, Any]],
    session_id: str | None = None,
) -> dict[str, Any]:
    extra: dict[str, Any] = usage_to_openai(usage)
    for key, value in (
        ("finish_reason", finish_reason),
        ("request_id", request_id),
        ("model", model),
        ("session_id", session_id),
    ):
        if value is not None:
            extra[key] = value
    if server_calls:
        extra["server_tool_calls"] = server_calls
    return extra


def _message(text: str, calls: Sequence[tuple[str, str, dict[str, Any]]]) -> ChatMessage:
    blocks: list[Any] = [LITextBlock(text=text)] if text or not calls else []
    blocks += [
        ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=kwargs)
        for call_id, name, kwargs in calls
    ]
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


def chat_response_from_quant(response: QuantChatResponse) -> ChatResponse:
    """Convert a buffered Quant AI answer to a LlamaIndex ``ChatResponse``.

    Client tool calls become ``ToolCallBlock``s. Calls the service executed itself are *not*
    blocks (an agent must not run them again): they are listed under ``server_tool_calls`` in
    ``raw`` and ``additional_kwargs``. Usage is given with OpenAI names in ``raw["usage"]`` and
    ``additional_kwargs`` so that ``TokenCountingHandler`` counts the service's numbers.
    """
    calls = [(u.tool_use_id, u.name, dict(u.input)) for u in response.tool_calls]
    server = _server_calls(response.server_tool_calls)
    raw = response.model_dump(by_alias=True, exclude_none=True, mode="json")
    raw["usage"] = usage_to_openai(response.usage) or None
    if response.usage is not None:
        raw["quant_usage"] = response.usage.model_dump(by_alias=True, exclude_none=True)
    raw["server_tool_calls"] = server
    return ChatResponse(
        message=_message(response.text, calls),
        raw=raw,
        additional_kwargs=_response_kwargs(
            response.usage, response.finish_reason, response.request_id, response.model, server
        ),
    )


def tool_calls_from_response(
    response: ChatResponse, *, error_on_no_tool_call: bool = True
) -> list[ToolSelection]:
    """The ``ToolSelection``s of a response's ``ToolCallBlock``s (string kwargs parsed).

    Raises:
        ValueError: When there is no tool call and ``error_on_no_tool_call`` is set.
    """
    selections = [
        ToolSelection(
            tool_id=block.tool_call_id or f"call_{i}",
            tool_name=block.tool_name,
            tool_kwargs=_tool_kwargs(block.tool_kwargs),
        )
        for i, block in enumerate(response.message.blocks)
        if isinstance(block, ToolCallBlock)
    ]
    if not selections and error_on_no_tool_call:
        raise ValueError(
            f"expected at least one tool call, got none (text: {response.message.content!r})"
        )
    return selections


def force_single_tool_call(response: ChatResponse) -> ChatResponse:
    """Keep only the first ``ToolCallBlock`` of a response (in place; returned for chaining)."""
    seen = False
    kept: list[Any] = []
    for block in response.message.blocks:
        if isinstance(block, ToolCallBlock):
            if seen:
                continue
            seen = True
        kept.append(block)
    response.message.blocks = kept
    return response


# --------------------------------------------------------------------------- streaming


@dataclass
class _PendingCall:
    tool_use_id: str
    name: str
    args: dict[str, Any] | str = ""

    def kwargs(self) -> dict[str, Any]:
        return dict(self.args) if isinstance(self.args, dict) else _parse_args(self.args)


@dataclass
class StreamState:
    """Accumulates stream events into LlamaIndex ``ChatResponse`` chunks.

    Every chunk carries the whole message so far (text and one ``ToolCallBlock`` per client
    tool call, arguments parsed tolerantly while partial) and ``delta`` holds only the new text.
    Tool-call input arriving as JSON text fragments (in ``tool_request`` or
    ``tool_input_progress`` events, keyed by ``toolUseId``) is concatenated; an object input
    replaces what was there. The chunk made for ``done`` has complete calls and usage.

    Example:
        >>> state = StreamState()
        >>> chunk = state.add(ContentEvent("Hi"))
        >>> chunk.delta, chunk.message.content
        ('Hi', 'Hi')
    """

    text: str = ""
    calls: dict[str, _PendingCall] = field(default_factory=dict)
    server_calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage: Usage | None = None
    finish_reason: str | None = None
    request_id: str | None = None
    model: str | None = None
    session_id: str | None = None
    done: bool = False

    def _call_for(self, tool_use_id: str | None, name: str) -> _PendingCall:
        if tool_use_id and tool_use_id in self.calls:
            call = self.calls[tool_use_id]
            if name and not call.name:
                call.name = name
            return call
        if not tool_use_id:
            for call in reversed(self.calls.values()):
                if call.name == name:
                    return call
            tool_use_id = f"call_{name or 'tool'}_{len(self.calls)}"
        call = _PendingCall(tool_use_id, name)
        self.calls[tool_use_id] = call
        return call

    def _merge_args(self, call: _PendingCall, value: object) -> None:
        if isinstance(value, Mapping):
            call.args = dict(value)
        elif isinstance(value, str):
            call.args = (call.args if isinstance(call.args, str) else "") + value

    def _add_raw_use(self, raw: Mapping[str, Any]) -> None:
        use = ToolUse.model_validate(raw)
        if use.server_executed:
            self.server_calls[use.tool_use_id or use.name] = _server_calls([use])[0]
            return
        call = self._call_for(use.tool_use_id or None, use.name)
        self._merge_args(call, raw.get("input", {}))

    def _add_use(self, use: ToolUse) -> None:
        if use.server_executed:
            self.server_calls[use.tool_use_id or use.name] = _server_calls([use])[0]
            return
        call = self._call_for(use.tool_use_id or None, use.name)
        if use.input or not call.args:
            call.args = dict(use.input)

    def add(self, event: StreamEvent) -> ChatResponse | None:
        """Fold one event in; return the chunk to yield (None when nothing visible changed)."""
        delta = ""
        if isinstance(event, ContentEvent):
            if not event.delta:
                return None
            delta = event.delta
            self.text += delta
        elif isinstance(event, ToolRequestEvent):
            raw = event.data.get("toolUse") if isinstance(event.data, Mapping) else None
            items = [raw] if isinstance(raw, Mapping) else raw
            if isinstance(items, list) and all(isinstance(i, Mapping) for i in items):
                for item in items:
                    self._add_raw_use(item)
            else:
                for use in event.tool_uses:
                    self._add_use(use)
        elif isinstance(event, ToolInputProgressEvent):
            data = event.data
            fragment = next(
                (
                    data[k]
                    for k in ("delta", "partialJson", "input")
                    if isinstance(data.get(k), str)
                ),
                None,
            )
            if fragment is None:
                return None
            tool_use_id = data.get("toolUseId")
            call = self._call_for(str(tool_use_id) if tool_use_id else None, event.name)
            self._merge_args(call, fragment)
        elif isinstance(event, ToolStartEvent):
            key = event.tool_use_id or f"server-{event.name}-{len(self.server_calls)}"
            self.server_calls[key] = {
                "toolUseId": key,
                "name": event.name,
                "input": dict(event.input or {}),
                "status": "running",
            }
            return None
        elif isinstance(event, ToolCompleteEvent):
            key = event.tool_use_id or next(
                (
                    k
                    for k, v in self.server_calls.items()
                    if v.get("name") == event.name and v.get("status") == "running"
                ),
                f"server-{event.name}-{len(self.server_calls)}",
            )
            entry = self.server_calls.setdefault(
                key, {"toolUseId": key, "name": event.name, "input": {}}
            )
            entry["status"] = "complete"
            entry["result"] = event.result
            return None
        elif isinstance(event, StartEvent):
            self.request_id = event.request_id or self.request_id
            self.model = event.model or self.model
            return None
        elif isinstance(event, SessionEvent):
            self.session_id = event.session_id or self.session_id
            return None
        elif isinstance(event, DoneEvent):
            self.done = True
            self.usage = event.usage or self.usage
            self.finish_reason = event.finish_reason
            for use in event.tool_uses:
                self._add_use(use)
            if event.content and not self.text:
                delta = event.content
                self.text = event.content
            if self.finish_reason is None:
                self.finish_reason = "tool_use" if self.calls else "stop"
        else:
            return None
        return self.chunk(delta)

    def chunk(self, delta: str = "") -> ChatResponse:
        """The accumulated message as a chunk with ``delta`` as its new text."""
        calls = [(c.tool_use_id, c.name, c.kwargs()) for c in self.calls.values() if c.name]
        server = list(self.server_calls.values())
        extra = _response_kwargs(
            self.usage if self.done else None,
            self.finish_reason if self.done else None,
            self.request_id,
            self.model,
            server,
            self.session_id,
        )
        raw: dict[str, Any] = {
            "requestId": self.request_id,
            "model": self.model,
            "server_tool_calls": server,
        }
        if self.done:
            raw["usage"] = usage_to_openai(self.usage) or None
            raw["finishReason"] = self.finish_reason
        return ChatResponse(
            message=_message(self.text, calls), delta=delta, raw=raw, additional_kwargs=extra
        )


def build_chat_request(
    messages: Sequence[ChatMessage],
    params: Mapping[str, Any],
    *,
    tool_config: ToolConfig | None = None,
    instruction: str | None = None,
) -> ChatRequest:
    """Assemble a :class:`ChatRequest` from messages, request fields and tool settings.

    ``params`` holds snake_case :class:`ChatRequest` fields (``model_id``, ``temperature``...);
    ``None`` values are left out. An ``instruction`` is appended to the system prompt. A
    request without ``toolConfig`` carries its tool history (tool calls and results) as text.

    Raises:
        QuantValidationError: For unsupported content or unknown fields.
    """
    wire_messages, system = messages_to_quant(messages)
    if not wire_messages:
        raise _refuse("no message with content to send (all messages were empty)")
    fields = {k: v for k, v in params.items() if v is not None}
    system_parts = [p for p in (fields.pop("system_prompt", None), system, instruction) if p]
    if system_parts:
        fields["system_prompt"] = "\n\n".join(system_parts)
    if tool_config is not None:
        fields["tool_config"] = tool_config
    if fields.get("tool_config") is None and has_tool_blocks(wire_messages):
        # No tools offered: the service refuses toolUse/toolResult blocks without toolConfig.
        wire_messages = tool_blocks_as_text(wire_messages)
    return ChatRequest(messages=wire_messages, **fields)
