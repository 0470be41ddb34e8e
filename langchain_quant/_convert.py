"""Pure conversions between LangChain objects and ``quant_ai`` wire models.

Nothing here does I/O. ``ChatQuant`` and friends call these functions; unit tests target them
directly. The rules (each one is tested):

* System messages, wherever they appear, are hoisted into ``systemPrompt`` (joined by a
  blank line).
* Consecutive turns of the same role are merged into one message (the API, like Bedrock,
  wants user and assistant turns to alternate).
* ``HumanMessage.name`` is dropped: the API has no field for it.
* ``AIMessage.tool_calls`` are the source of truth for ``toolUse`` blocks; tool-use,
  server-tool, reasoning and other non-text blocks in an AI message's content are dropped.
* ``ToolMessage``s become ``toolResult`` blocks in the following user turn (parallel results
  share one turn), keeping ``status`` (``success``/``error``).
* Turns are assembled by ``quant_ai.history.Turns`` (merging, empty turns and empty tool
  results follow the core's one rule).
* Images, PDFs (and csv/docx/xlsx documents) and videos are accepted as LangChain v1 standard
  blocks, the older ``{"type": "image", "source_type": "base64", ...}`` form, OpenAI
  ``image_url`` data URLs, the OpenAI ``file`` block and Anthropic ``source`` blocks.
  Documents always get a name (their file name, else ``document-N``).
* A request that sends no tools (no ``toolConfig``) carries its tool history as text
  (``quant_ai.history.tool_blocks_as_text``): the service refuses tool-use and tool-result
  blocks without tool definitions.
* Media given by http(s) URL or provider file id are refused with a clear ``ValueError``: the
  API takes inline bytes only and this package never fetches URLs on your behalf (no hidden
  network I/O, no server-side request forgery). Download the file and pass base64.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.utils.function_calling import convert_to_openai_tool

from quant_ai import (
    ChatStreamAccumulator,
    DocumentNamer,
    DurableResult,
    ServerToolUpdate,
    Turns,
    document_content,
    execution_outcome,
    image_block,
    parse_data_url,
    server_tool,
    tool_result_block,
    video_block,
)
from quant_ai.types import (
    ChatResponse,
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    Tool,
    ToolInputSchema,
    ToolResultBlock,
    ToolSpec,
    ToolUse,
    ToolUseBlock,
    ToolUseContent,
    Usage,
    VideoBlock,
)

__all__ = [
    "PROVIDER",
    "StreamConverter",
    "convert_messages",
    "convert_tools",
    "execution_to_message",
    "response_metadata",
    "response_to_message",
    "server_tool_blocks",
    "usage_to_metadata",
]

PROVIDER = "quant"
_SKIPPED_AI_BLOCKS = {
    "tool_use",
    "tool_call",
    "tool_call_chunk",
    "invalid_tool_call",
    "server_tool_call",
    "server_tool_call_chunk",
    "server_tool_result",
    "server_tool_use",
    "reasoning",
    "reasoning_content",
    "thinking",
    "redacted_thinking",
}


# ----------------------------------------------------------------------------- media


def _refuse_url(kind: str, url: str) -> ValueError:
    shown = url if len(url) <= 80 else url[:77] + "..."
    return ValueError(
        f"{kind} given by URL ({shown}) is not supported: the Quant AI API takes inline bytes "
        "only and langchain-quant does not fetch URLs for you. Download the file and pass it "
        'as base64, e.g. {"type": "' + kind + '", "base64": ..., "mime_type": ...}.'
    )


def _file_name(block: Mapping[str, Any]) -> str | None:
    for key in ("filename", "name", "title"):
        if isinstance(block.get(key), str):
            return cast(str, block[key])
    for nested in ("extras", "metadata"):
        inner = block.get(nested)
        if isinstance(inner, Mapping):
            for key in ("filename", "name", "title"):
                if isinstance(inner.get(key), str):
                    return cast(str, inner[key])
    return None


MediaBlock = ImageBlock | DocumentBlock | VideoBlock | TextBlock


def _media_block(block: Mapping[str, Any], naming: DocumentNamer) -> list[MediaBlock] | None:
    """Convert an image/file/video block of any supported dialect (None: not a media block).

    A plain-text document becomes its text (no block when blank), as ``quant_ai.media`` says.
    """
    kind = block.get("type")
    mime: str | None
    data: Any
    if kind == "image_url":  # OpenAI
        raw = block.get("image_url")
        url = raw.get("url") if isinstance(raw, Mapping) else raw
        if not isinstance(url, str):
            raise ValueError("image_url block without a url")
        if not url.startswith("data:"):
            raise _refuse_url("image", url)
        mime, data = parse_data_url(url)
        return [image_block(data, mime)]
    if kind == "file" and isinstance(block.get("file"), Mapping):  # OpenAI file block
        inner = block["file"]
        if "file_data" not in inner:
            raise ValueError(
                "OpenAI file blocks need file_data (a base64 data URL); file ids are not "
                "supported by the Quant AI API"
            )
        file_data = inner["file_data"]
        if file_data.startswith("data:"):
            mime, data = parse_data_url(file_data)
        else:
            mime, data = "application/pdf", file_data
        return _some(document_content(data, mime, _file_name(inner), naming))
    if kind not in ("image", "file", "video", "document"):
        return None
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic {"source": {"type": "base64", ...}}
        if source.get("type") != "base64":
            raise _refuse_url("image" if kind == "image" else "file", str(source.get("url")))
        mime, data = source.get("media_type"), source.get("data")
    else:
        source_type = block.get("source_type")
        mime = block.get("mime_type")
        if source_type == "url" or (source_type is None and "url" in block):
            url = str(block.get("url") or "")
            if url.startswith("data:"):
                mime, data = parse_data_url(url)
            else:
                raise _refuse_url("image" if kind == "image" else "file", url)
        elif (
            source_type == "id"
            or "file_id" in block
            or (source_type is None and "id" in block and "base64" not in block)
        ):
            raise ValueError(
                f"{kind} blocks given by provider file id are not supported by the Quant AI "
                "API; pass the bytes as base64"
            )
        elif source_type == "text" or "text" in block:
            return None
        else:
            data = block.get("base64") if "base64" in block else block.get("data")
    if not isinstance(data, str) or not data:
        raise ValueError(f"{kind} block without base64 data")
    if kind == "image":
        return [image_block(data, mime)]
    if kind == "video":
        return [video_block(data, mime)]
    return _some(document_content(data, mime, _file_name(block), naming))


def _some(block: MediaBlock | None) -> list[MediaBlock]:
    return [] if block is None else [block]


# ----------------------------------------------------------------------------- content


UserBlock = TextBlock | ImageBlock | DocumentBlock | VideoBlock


def _user_blocks(
    content: str | list[str | dict[str, Any]], naming: DocumentNamer
) -> list[UserBlock]:
    if isinstance(content, str):
        return [TextBlock(text=content)] if content.strip() else []
    blocks: list[UserBlock] = []
    for item in content:
        if isinstance(item, str):
            if item.strip():
                blocks.append(TextBlock(text=item))
            continue
        kind = item.get("type")
        if kind == "text" or (kind is None and "text" in item):
            text = item.get("text") or ""
            if text.strip():
                blocks.append(TextBlock(text=text))
            continue
        if kind == "text-plain" or (kind == "file" and item.get("source_type") == "text"):
            text = item.get("text") or ""
            if text.strip():
                blocks.append(TextBlock(text=text))
            continue
        if kind in ("audio", "input_audio"):
            raise ValueError("audio input is not supported by the Quant AI API")
        media = _media_block(item, naming)
        if media is None:
            raise ValueError(f"unsupported content block type {kind!r} in a user message")
        blocks.extend(media)
    return blocks


def _text_of(content: str | list[str | dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for item in content:
        if isinstance(item, str):
            parts.append(item)
        elif item.get("type") == "text" and isinstance(item.get("text"), str):
            parts.append(item["text"])
    return "".join(parts)


def _ai_blocks(message: AIMessage) -> list[TextBlock | ToolUseBlock]:
    blocks: list[TextBlock | ToolUseBlock] = []
    content = message.content
    if isinstance(content, str):
        if content.strip():
            blocks.append(TextBlock(text=content))
    else:
        for item in content:
            if isinstance(item, str):
                if item.strip():
                    blocks.append(TextBlock(text=item))
            elif item.get("type") == "text":
                text = item.get("text") or ""
                if text.strip():
                    blocks.append(TextBlock(text=text))
            # every other block (tool use, server tools, reasoning, media) is dropped
    for call in message.tool_calls:
        blocks.append(
            ToolUseBlock(
                tool_use=ToolUseContent(
                    tool_use_id=call.get("id") or f"call_{call['name']}",
                    name=call["name"],
                    input=dict(call.get("args") or {}),
                )
            )
        )
    return blocks


def _tool_result(message: ToolMessage, naming: DocumentNamer) -> ToolResultBlock:
    content = message.content
    items: list[UserBlock]
    if isinstance(content, str):
        items = [TextBlock(text=content)] if content.strip() else []
    else:
        items = []
        for item in content:
            if isinstance(item, str):
                if item.strip():
                    items.append(TextBlock(text=item))
                continue
            kind = item.get("type")
            if kind == "text":
                if (item.get("text") or "").strip():
                    items.append(TextBlock(text=item["text"]))
                continue
            media = _media_block(item, naming)
            if media is None:
                items.append(TextBlock(text=json.dumps(item, ensure_ascii=False, default=str)))
            else:
                items.extend(media)
    return tool_result_block(message.tool_call_id, items, error=message.status == "error")


def _role(message: BaseMessage) -> Literal["system", "user", "assistant", "tool"]:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, ChatMessage):
        role = message.role.lower()
        if role in ("system", "developer"):
            return "system"
        if role in ("assistant", "ai"):
            return "assistant"
        if role in ("user", "human"):
            return "user"
    raise ValueError(f"unsupported message type {type(message).__name__} for Quant AI")


def convert_messages(messages: Sequence[BaseMessage]) -> tuple[str | None, list[Message]]:
    """Convert LangChain messages to ``(systemPrompt, messages)`` of the wire format.

    Args:
        messages: The conversation.

    Returns:
        The hoisted system prompt (None if there is none) and the alternating turns.

    Raises:
        ValueError: For content the API cannot take (audio, media by URL or file id, unknown
            block types in user turns).
    """
    system: list[str] = []
    turns = Turns()
    naming = DocumentNamer()
    for message in messages:
        role = _role(message)
        if role == "system":
            text = _text_of(message.content).strip()
            if text:
                system.append(text)
        elif role == "tool":
            turns.add("user", [_tool_result(cast(ToolMessage, message), naming)])
        elif role == "assistant":
            turns.add(
                "assistant",
                _ai_blocks(message)
                if isinstance(message, AIMessage)
                else _user_blocks(message.content, naming),
            )
        else:
            turns.add("user", _user_blocks(message.content, naming))
    return ("\n\n".join(system) if system else None), turns.messages()


# ----------------------------------------------------------------------------- tools


def convert_tools(
    tools: Iterable[Any], *, strict: bool | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Convert tools to wire ``toolConfig.tools`` entries.

    Args:
        tools: Python functions, ``BaseTool``s, pydantic classes, JSON-schema or OpenAI tool
            dicts, wire dicts (``{"toolSpec": ...}``) and names of server-side tools (str).
        strict: Passed to ``convert_to_openai_tool`` (the API has no strict flag itself).

    Returns:
        ``(wire tool dicts, names of server-side tools)``.
    """
    wire: list[dict[str, Any]] = []
    server: list[str] = []
    for item in tools:
        if isinstance(item, str):
            server.append(item)
            wire.append(server_tool(item).to_wire())
            continue
        if isinstance(item, Mapping) and "toolSpec" in item:
            wire.append(Tool.model_validate(item).to_wire())
            continue
        function = convert_to_openai_tool(item, strict=strict)["function"]
        schema = dict(function.get("parameters") or {})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        spec = ToolSpec(
            name=function["name"],
            description=function.get("description") or function["name"],
            input_schema=ToolInputSchema.model_validate({"json": schema}),
        )
        wire.append(Tool(tool_spec=spec).to_wire())
    return wire, server


# ----------------------------------------------------------------------------- responses


def usage_to_metadata(usage: Usage | None) -> UsageMetadata | None:
    """Convert wire usage to LangChain ``UsageMetadata``."""
    if usage is None:
        return None
    return UsageMetadata(
        input_tokens=int(usage.input_tokens),
        output_tokens=int(usage.output_tokens),
        total_tokens=int(usage.total_tokens or usage.input_tokens + usage.output_tokens),
    )


def response_metadata(
    *,
    model: str | None,
    finish_reason: str | None,
    request_id: str | None,
    usage: Usage | None,
) -> dict[str, Any]:
    """The ``response_metadata`` of a final message or chunk."""
    meta: dict[str, Any] = {"model_provider": PROVIDER}
    if model:
        meta["model_name"] = model
    if finish_reason:
        meta["finish_reason"] = finish_reason
    if request_id:
        meta["request_id"] = request_id
    if usage is not None and usage.cost_cents is not None:
        meta["cost_cents"] = usage.cost_cents
    return meta


def server_tool_blocks(use: ToolUse, index: int | None = None) -> list[dict[str, Any]]:
    """Standard ``server_tool_call`` / ``server_tool_result`` blocks of a service-run tool."""
    tool_id = use.tool_use_id or use.execution_id or f"server_{use.name}"
    call: dict[str, Any] = {
        "type": "server_tool_call",
        "id": tool_id,
        "name": use.name,
        "args": dict(use.input),
    }
    if use.execution_id:
        call["extras"] = {"execution_id": use.execution_id}
    blocks = [call]
    status = (use.status or "").lower()
    if use.result is not None or status in ("complete", "completed", "failed"):
        result: dict[str, Any] = {
            "type": "server_tool_result",
            "tool_call_id": tool_id,
            "status": "error" if status == "failed" else "success",
        }
        if use.result is not None:
            result["output"] = use.result
        blocks.append(result)
    elif status:
        call.setdefault("extras", {})["status"] = status
    if index is not None:
        for k, block in enumerate(blocks):
            block["index"] = index + k
    return blocks


def response_to_message(response: ChatResponse, *, requested_model: str) -> AIMessage:
    """Convert a buffered answer to an ``AIMessage``.

    Client tool calls become ``tool_calls``; tools the service ran itself become
    ``server_tool_call`` / ``server_tool_result`` content blocks (never ``tool_calls``, or an
    agent would run them again).
    """
    server = response.server_tool_calls
    content: str | list[str | dict[str, Any]]
    if server:
        blocks: list[str | dict[str, Any]] = []
        for use in server:
            blocks.extend(server_tool_blocks(use))
        if response.text:
            blocks.append({"type": "text", "text": response.text})
        content = blocks
    else:
        content = response.text
    return AIMessage(
        content=content,
        tool_calls=[
            tool_call(name=use.name, args=dict(use.input), id=use.tool_use_id or None)
            for use in response.tool_calls
        ],
        usage_metadata=usage_to_metadata(response.usage),
        response_metadata=response_metadata(
            model=response.model or requested_model,
            finish_reason=response.finish_reason,
            request_id=response.request_id,
            usage=response.usage,
        ),
    )


def execution_to_message(done: DurableResult, *, model: str) -> AIMessage:
    """Convert a ``complete`` durable execution to the final ``AIMessage``.

    The tools the service ran become ``server_tool_call`` / ``server_tool_result`` blocks;
    the client tools that ran locally while the execution waited are listed in
    ``response_metadata["local_tool_calls"]`` (they were answered already, so they are never
    ``tool_calls``).

    Args:
        done: The finished durable call (status, waiter, session).
        model: The model id requested.

    Returns:
        The message, with usage and ``response_metadata`` (``request_id``,
        ``tool_executions``, ``local_tool_calls``, ``execution_status``...).
    """
    status, waiter, session_id = done.status, done.waiter, done.session_id
    outcome = execution_outcome(status, waiter.request_id, waiter.local_calls)
    blocks: list[str | dict[str, Any]] = []
    for use in outcome.server_tools:
        blocks.extend(server_tool_blocks(use))
    content: str | list[str | dict[str, Any]] = outcome.text
    if blocks:
        if outcome.text:
            blocks.append({"type": "text", "text": outcome.text})
        content = blocks
    meta = response_metadata(
        model=model, finish_reason="stop", request_id=outcome.request_id, usage=outcome.usage
    )
    meta["execution_status"] = status.status
    if session_id:
        meta["session_id"] = session_id
    meta["tool_executions"] = outcome.tool_executions
    meta["local_tool_calls"] = [call.as_dict() for call in waiter.local_calls]
    return AIMessage(
        content=content,
        usage_metadata=usage_to_metadata(outcome.usage)
        or UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0),
        response_metadata=meta,
    )


def tool_use_chunk(use: ToolUse, index: int) -> AIMessageChunk:
    """A streamed client tool call: one complete ``tool_call_chunk`` (exact JSON args)."""
    return AIMessageChunk(
        content="",
        tool_call_chunks=[
            tool_call_chunk(
                name=use.name,
                args=json.dumps(use.input, ensure_ascii=False),
                id=use.tool_use_id or None,
                index=index,
            )
        ],
    )


class StreamConverter:
    """Maps the core's :class:`~quant_ai.ChatStreamAccumulator` updates to ``AIMessageChunk``s.

    The stream state lives in the accumulator (``self.state``); this class only chooses the
    chunk of each update:

    * new text becomes a text chunk;
    * a client tool call seen for the first time becomes one ``tool_call_chunk`` with the
      complete JSON arguments and a stable ``index`` (text, when there is some, is block 0);
    * server-run tools become ``server_tool_call`` / ``server_tool_result`` blocks;
    * the ``done`` event becomes the last chunk, the only one with ``usage_metadata`` (when
      ``stream_usage``), with ``model_name``, ``model_provider``, ``finish_reason``,
      ``request_id`` and ``cost_cents`` in ``response_metadata``.
    """

    def __init__(self, requested_model: str, *, stream_usage: bool = True) -> None:
        self.requested_model = requested_model
        self.stream_usage = stream_usage
        self.state = ChatStreamAccumulator()
        self.tool_count = 0
        self.block_index = 0

    @property
    def request_id(self) -> str | None:
        """The stream's request id (from its ``start`` event)."""
        return self.state.request_id

    def _server_chunk(self, blocks: list[dict[str, Any]]) -> AIMessageChunk:
        for block in blocks:
            block["index"] = f"server-{self.block_index}"
            self.block_index += 1
        return AIMessageChunk(content=cast(list[str | dict[str, Any]], blocks))

    def _server_blocks(self, update: ServerToolUpdate) -> list[dict[str, Any]]:
        if update.kind == "reported" and update.use is not None:
            return server_tool_blocks(update.use)
        if update.kind == "start":
            return [
                {
                    "type": "server_tool_call",
                    "id": update.tool_use_id,
                    "name": update.name,
                    "args": dict(update.input),
                }
            ]
        block: dict[str, Any] = {
            "type": "server_tool_result",
            "tool_call_id": update.tool_use_id,
            "status": "success",
        }
        if update.result is not None:
            block["output"] = update.result
        return [block]

    def feed(self, event: Any) -> list[AIMessageChunk]:
        """Convert one event (``quant_ai`` stream event) to zero or more chunks."""
        had_text = bool(self.state.text_parts)
        update = self.state.add(event)
        chunks: list[AIMessageChunk] = []
        if update.text and not update.done:
            chunks.append(AIMessageChunk(content=update.text))
        chunks.extend(self._server_chunk(self._server_blocks(s)) for s in update.server_tools)
        for call in update.new_tool_calls:
            # text, when there is some, is content block 0: tool calls follow it
            index = self.tool_count + (1 if had_text else 0)
            chunks.append(tool_use_chunk(call.as_tool_use(), index))
            self.tool_count += 1
        if update.done:
            if update.text:
                chunks.append(AIMessageChunk(content=update.text))
            chunks.append(self._last_chunk())
        return chunks

    def _last_chunk(self) -> AIMessageChunk:
        state = self.state
        meta = response_metadata(
            model=state.model or self.requested_model,
            finish_reason=state.finish_reason,
            request_id=state.request_id,
            usage=state.usage,
        )
        if state.session_id:
            meta["session_id"] = state.session_id
        if state.done is not None and state.done.orchestration:
            meta["orchestration"] = dict(state.done.orchestration)
        usage = usage_to_metadata(state.usage) if self.stream_usage else None
        if self.stream_usage and usage is None:
            usage = UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)
        return AIMessageChunk(
            content="", usage_metadata=usage, response_metadata=meta, chunk_position="last"
        )
