"""Pure conversions between LlamaIndex objects and :mod:`quant_ai` wire models.

Everything here is a function of its arguments: no I/O (except reading a local file named by
an ``ImageBlock``/``DocumentBlock``/``VideoBlock`` ``path``), no client, no globals. The classes
in :mod:`llama_index_quant.llms` stay thin and call these.

Rules (each one is unit-tested):

* ``SYSTEM``/``DEVELOPER`` messages become the request's ``systemPrompt`` (joined by blank lines).
* Text blocks keep their text; blank text blocks are dropped (the API refuses them).
* Images (bytes, a local path or a ``data:`` URL), documents and videos are read here and
  handed to ``quant_ai.media`` (formats, sniffing, document names, text documents inlined);
  remote ``http(s)`` URLs are refused with a message saying what to pass instead. Audio is
  refused.
* ``ToolCallBlock`` (and legacy ``additional_kwargs["tool_calls"]``) on assistant messages
  become ``toolUse`` blocks; ``TOOL``/``FUNCTION`` messages become ``toolResult`` blocks in a
  user turn, with their images and documents passed through.
* Turns are assembled by ``quant_ai.history.Turns``: consecutive turns of the same role are
  merged (parallel tool results land in one user turn), an empty turn is sent as ``"."`` and
  an empty tool result as ``"(no output)"``, as in every adapter.
* A request that offers no tools (no ``toolConfig``) carries its tool history as text
  (``quant_ai.history.tool_blocks_as_text``): the service refuses tool blocks without tools.
* Thinking and cache-point blocks have no native equivalent and are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from io import IOBase
from pathlib import Path
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

from quant_ai import ChatResponse as QuantChatResponse
from quant_ai import (
    ChatStreamAccumulator,
    DocumentBlock,
    DocumentNamer,
    ImageBlock,
    Message,
    QuantValidationError,
    StreamEvent,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolSpec,
    ToolUse,
    ToolUseBlock,
    Turns,
    Usage,
    VideoBlock,
    document_content,
    image_block,
    mime_from_name,
    parse_tool_arguments,
    tool_result_block,
    video_block,
)
from quant_ai.types import ToolInputSchema, ToolUseContent

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "StreamState",
    "chat_response_from_quant",
    "force_single_tool_call",
    "messages_to_quant",
    "tool_calls_from_response",
    "tools_to_quant",
    "usage_to_openai",
]

QuantBlock = TextBlock | ImageBlock | VideoBlock | DocumentBlock | ToolUseBlock | ToolResultBlock
ToolResultInner = TextBlock | ImageBlock | VideoBlock | DocumentBlock

_DEFAULT_TITLE = "input_document"
"""The title LlamaIndex gives a ``DocumentBlock`` without one (no name of the caller's)."""


def _refuse(message: str, field: str = "messages") -> QuantValidationError:
    return QuantValidationError(message, field=field)


# --------------------------------------------------------------------------- media


def _remote_url(url: object) -> bool:
    text = str(url) if url is not None else ""
    return text.startswith(("http://", "https://"))


def _read(kind: str, resolve: Callable[[], IOBase]) -> bytes:
    try:
        return bytes(resolve().read())
    except (OSError, ValueError) as exc:
        raise _refuse(f"the {kind} could not be read: {exc}") from None


def _image_to_quant(block: LIImageBlock) -> ImageBlock:
    if block.image is None and block.path is None and _remote_url(block.url):
        raise _refuse(
            f"image URL {block.url} cannot be sent: Quant AI takes image bytes, not URLs. "
            "Download the image and pass ImageBlock(image=<bytes>) or ImageBlock(path=...)"
        )
    data = _read("image", lambda: block.resolve_image(as_base64=False))
    return image_block(data, block.image_mimetype)


def _video_to_quant(block: LIVideoBlock) -> VideoBlock:
    if block.video is None and block.path is None and _remote_url(block.url):
        raise _refuse(
            f"video URL {block.url} cannot be sent: Quant AI takes video bytes. "
            "Pass VideoBlock(video=<bytes>) or VideoBlock(path=...)"
        )
    data = _read("video", lambda: block.resolve_video(as_base64=False))
    mime = block.video_mimetype or mime_from_name(str(block.path) if block.path else None)
    return video_block(data, mime)


def _document_to_quant(
    block: LIDocumentBlock, namer: DocumentNamer
) -> DocumentBlock | TextBlock | None:
    if block.data is None and block.path is None and _remote_url(block.url):
        raise _refuse(
            f"document URL {block.url} cannot be sent: Quant AI takes document bytes. "
            "Download it and pass DocumentBlock(data=<bytes>) or DocumentBlock(path=...)"
        )
    data = _read("document", block.resolve_document)
    title = block.title if block.title and block.title != _DEFAULT_TITLE else None
    name = title or (Path(block.path).name if block.path is not None else None)
    mime = block.document_mimetype or mime_from_name(name)
    if not mime and block.guess_format():
        mime = mime_from_name(f"document.{block.guess_format()}")
    return document_content(data, mime, name, namer)


# --------------------------------------------------------------------------- messages


def _tool_kwargs(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        return parse_tool_arguments(value)
    return {}


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


def _blocks_to_quant(blocks: Iterable[object], role: str, namer: DocumentNamer) -> list[QuantBlock]:
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
            doc = _document_to_quant(block, namer)
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
            out.extend(_blocks_to_quant(block.content, role, namer))
        elif isinstance(block, (ThinkingBlock, CachePoint, CitationBlock)):
            continue  # no native equivalent on the Quant AI chat API
        else:
            raise _refuse(f"unsupported content block {type(block).__name__}")
    return out


def _tool_result(message: ChatMessage, namer: DocumentNamer) -> ToolResultBlock:
    call_id = message.additional_kwargs.get("tool_call_id") or message.additional_kwargs.get(
        "tool_use_id"
    )
    if not call_id:
        raise _refuse(
            "a tool message needs additional_kwargs['tool_call_id'] (the id of the tool call "
            "it answers)"
        )
    inner: list[ToolResultInner] = []
    for block in _blocks_to_quant(message.blocks, "user", namer):
        if isinstance(block, (ToolUseBlock, ToolResultBlock)):
            raise _refuse("a tool message cannot contain tool calls or tool results")
        inner.append(block)
    status = message.additional_kwargs.get("status")
    error = status == "error" or (
        status != "success" and bool(message.additional_kwargs.get("is_error"))
    )
    return tool_result_block(str(call_id), inner, error=error)


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
    turns = Turns()
    namer = DocumentNamer()
    for message in messages:
        role = message.role
        if role in (MessageRole.SYSTEM, MessageRole.DEVELOPER):
            text = "".join(b.text for b in message.blocks if isinstance(b, LITextBlock)).strip()
            if text:
                system_parts.append(text)
        elif role in (MessageRole.TOOL, MessageRole.FUNCTION):
            turns.add("user", [_tool_result(message, namer)])
        elif role in (MessageRole.ASSISTANT, MessageRole.MODEL, MessageRole.CHATBOT):
            blocks = _blocks_to_quant(message.blocks, "assistant", namer)
            if not any(isinstance(b, ToolUseBlock) for b in blocks):
                blocks += _legacy_tool_calls(message)
            turns.add("assistant", blocks)
        else:
            turns.add("user", _blocks_to_quant(message.blocks, "user", namer))
    return turns.messages(), "\n\n".join(system_parts) or None


# --------------------------------------------------------------------------- tools

ToolChoice = str | Mapping[str, Any] | None


def tools_to_quant(tools: Sequence[BaseTool]) -> list[Tool]:
    """Core tool definitions of LlamaIndex tools (schema: ``metadata.get_parameters_dict()``)."""
    return [
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


class StreamState:
    """Maps the core's :class:`~quant_ai.ChatStreamAccumulator` to LlamaIndex chunks.

    The stream state lives in the accumulator (``self.acc``). Every chunk carries the whole
    message so far (text and one ``ToolCallBlock`` per client tool call, arguments parsed
    tolerantly while partial) and ``delta`` holds only the new text; the chunk made for
    ``done`` has complete calls and usage. Server-run tools are listed under
    ``server_tool_calls``, never as blocks.

    Example:
        >>> state = StreamState()
        >>> chunk = state.add(ContentEvent("Hi"))
        >>> chunk.delta, chunk.message.content
        ('Hi', 'Hi')
    """

    def __init__(self) -> None:
        self.acc = ChatStreamAccumulator()

    @property
    def request_id(self) -> str | None:
        """The stream's request id (from its ``start`` event)."""
        return self.acc.request_id

    def add(self, event: StreamEvent) -> ChatResponse | None:
        """Fold one event in; return the chunk to yield (None when nothing visible changed)."""
        update = self.acc.add(event)
        return self.chunk(update.text) if update.visible else None

    def chunk(self, delta: str = "") -> ChatResponse:
        """The accumulated message as a chunk with ``delta`` as its new text."""
        acc = self.acc
        done = acc.done is not None
        calls = [(c.tool_use_id, c.name, c.input) for c in acc.calls()]
        server = list(acc.server_tools.values())
        extra = _response_kwargs(
            acc.usage if done else None,
            acc.finish_reason if done else None,
            acc.request_id,
            acc.model,
            server,
            acc.session_id,
        )
        raw: dict[str, Any] = {
            "requestId": acc.request_id,
            "model": acc.model,
            "server_tool_calls": server,
        }
        if done:
            raw["usage"] = usage_to_openai(acc.usage) or None
            raw["finishReason"] = acc.finish_reason
        return ChatResponse(
            message=_message(acc.text, calls), delta=delta, raw=raw, additional_kwargs=extra
        )
