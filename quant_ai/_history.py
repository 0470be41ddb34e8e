"""Tool history in a request that offers no tools (pure wire-level rewriting, no I/O).

Bedrock, which serves the Quant AI models, refuses ``toolUse`` and ``toolResult`` content
blocks in a request that has no ``toolConfig``. A conversation that went through a tool loop
is still worth sending to a model without tools (a summary, a follow-up question, a
``tool_choice="none"`` turn), so the adapters rewrite those blocks as text in that case: the
model keeps the facts (which tool was called with what, and what it returned) and the request
is accepted. Images, documents and videos inside tool results stay media blocks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from quant_ai.types import ContentBlock, Message, TextBlock, ToolResultBlock, ToolUseBlock

__all__ = ["has_tool_blocks", "tool_blocks_as_text"]


def has_tool_blocks(messages: Sequence[Message]) -> bool:
    """Whether any message holds a ``toolUse`` or ``toolResult`` block."""
    return any(
        isinstance(block, (ToolUseBlock, ToolResultBlock))
        for message in messages
        if not isinstance(message.content, str)
        for block in message.content
    )


def tool_blocks_as_text(messages: Sequence[Message]) -> list[Message]:
    """Rewrite ``toolUse``/``toolResult`` blocks as text blocks (other blocks unchanged).

    A call becomes ``[called tool `name` with {"a": 1}]``; a result becomes
    ``[result of tool `name`]: <its text>`` (``[error from tool `name`]`` for an ``error``
    status), followed by any media the result carried.

    Args:
        messages: Wire messages, oldest first.

    Returns:
        New messages (the input is not modified); the same list content when there is no
        tool block.
    """
    names: dict[str, str] = {}
    out: list[Message] = []
    for message in messages:
        if isinstance(message.content, str):
            out.append(message)
            continue
        blocks: list[ContentBlock] = []
        for block in message.content:
            if isinstance(block, ToolUseBlock):
                use = block.tool_use
                names[use.tool_use_id] = use.name
                args = json.dumps(use.input, ensure_ascii=False, sort_keys=True)
                blocks.append(TextBlock(text=f"[called tool `{use.name}` with {args}]"))
            elif isinstance(block, ToolResultBlock):
                result = block.tool_result
                name = names.get(result.tool_use_id, result.tool_use_id)
                kind = "error from" if result.status == "error" else "result of"
                texts = [b.text for b in result.content if isinstance(b, TextBlock)]
                header = f"[{kind} tool `{name}`]"
                blocks.append(TextBlock(text=f"{header}: {' '.join(texts)}" if texts else header))
                blocks.extend(b for b in result.content if not isinstance(b, TextBlock))
            else:
                blocks.append(block)
        out.append(Message(role=message.role, content=blocks))
    return out
