"""Token estimates without a tokenizer download.

Quant AI publishes no tokenizer for its models (Claude and Nova tokenize differently), and
frameworks that count tokens locally (LangChain's ``get_num_tokens``, ``trim_messages``)
otherwise fall back to downloading GPT-2's. These functions give an **estimate**, the same one
for every model, computed from the wire request that would be sent. The exact counts of a call
are in its response's ``usage``.

The rule:

* text (prompts, system prompt, tool-call arguments, tool results, tool definitions as JSON):
  ``ceil(characters / 4)`` tokens (:data:`CHARS_PER_TOKEN`);
* each message, and the system prompt: :data:`MESSAGE_OVERHEAD` more (role and separators);
* each image, video or document block: :data:`MEDIA_BLOCK_TOKENS` (a flat guess);
* each request: :data:`REPLY_OVERHEAD` more (the start of the answer).

The estimate only grows when anything is added to a request (it is monotonic), which is what
trimming a conversation to a budget needs.

Example:
    >>> from quant_ai.tokens import estimate_tokens
    >>> estimate_tokens("Hello, world!")
    4
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from .types import (
    ChatRequest,
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    VideoBlock,
)

__all__ = [
    "CHARS_PER_TOKEN",
    "MEDIA_BLOCK_TOKENS",
    "MESSAGE_OVERHEAD",
    "REPLY_OVERHEAD",
    "estimate_chat_tokens",
    "estimate_message_tokens",
    "estimate_request_tokens",
    "estimate_tokens",
]

CHARS_PER_TOKEN = 4
"""Characters per token of the estimate (English prose averages about four)."""
MESSAGE_OVERHEAD = 4
"""Tokens added for each message and for the system prompt."""
REPLY_OVERHEAD = 3
"""Tokens added once per request."""
MEDIA_BLOCK_TOKENS = 1_600
"""Tokens counted for each image, video or document block (about one 1092x1092 image)."""


def estimate_tokens(text: str) -> int:
    """Estimate the tokens of a text: ``ceil(len(text) / 4)``; 0 for an empty text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _json_tokens(value: Any) -> int:
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True, mode="json")
    return estimate_tokens(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _block_tokens(block: Any) -> int:
    if isinstance(block, TextBlock):
        return estimate_tokens(block.text)
    if isinstance(block, (ImageBlock, VideoBlock, DocumentBlock)):
        return MEDIA_BLOCK_TOKENS
    if isinstance(block, ToolUseBlock):
        use = block.tool_use
        return estimate_tokens(use.name) + _json_tokens(use.input)
    if isinstance(block, ToolResultBlock):
        return sum(_block_tokens(item) for item in block.tool_result.content)
    return _json_tokens(block)


def estimate_message_tokens(messages: Iterable[Message]) -> int:
    """Estimate the tokens of wire messages (content plus :data:`MESSAGE_OVERHEAD` each)."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD
        if isinstance(message.content, str):
            total += estimate_tokens(message.content)
        else:
            total += sum(_block_tokens(block) for block in message.content)
    return total


def estimate_chat_tokens(
    messages: Iterable[Message],
    *,
    system_prompt: str | None = None,
    tools: Iterable[Tool | Mapping[str, Any]] = (),
    json_schema: Mapping[str, Any] | None = None,
) -> int:
    """Estimate the input tokens of a conversation by the rule of this module.

    Args:
        messages: The wire messages (may be empty, e.g. a system prompt alone).
        system_prompt: The system prompt.
        tools: ``toolConfig.tools`` entries (models or wire dicts); counted as their JSON.
        json_schema: The ``responseFormat`` schema, if any.

    Returns:
        The estimate, :data:`REPLY_OVERHEAD` included.
    """
    total = REPLY_OVERHEAD + estimate_message_tokens(messages)
    if system_prompt:
        total += MESSAGE_OVERHEAD + estimate_tokens(system_prompt)
    total += sum(_json_tokens(tool) for tool in tools)
    if json_schema:
        total += _json_tokens(dict(json_schema))
    return total


def estimate_request_tokens(request: ChatRequest) -> int:
    """Estimate the input tokens of a chat request.

    Counts the system prompt, the messages, the tool definitions and the ``responseFormat``
    schema (as the JSON sent) by the rule of this module, plus :data:`REPLY_OVERHEAD`.
    """
    config = request.tool_config
    return estimate_chat_tokens(
        request.messages,
        system_prompt=request.system_prompt,
        tools=(config.tools or []) if config is not None else (),
        json_schema=request.response_format.json_schema if request.response_format else None,
    )
