"""Conversation history as the service accepts it (pure wire-level rules, no I/O).

Both adapters turn their framework's messages into blocks and hand them to :class:`Turns`;
the rules of what the service accepts live here once:

* Consecutive turns of the same role are merged into one message (the API, like Bedrock,
  wants user and assistant turns to alternate; parallel tool results share one user turn).
* Blank text is never sent (the service refuses it). A turn left without any block keeps
  its place with :data:`EMPTY_TURN_TEXT`: dropping it could leave a conversation that starts
  with an assistant turn or lose a turn the caller meant to send, and Bedrock refuses both
  blank turns and conversations that do not start with a user turn.
* A tool result without any content says :data:`EMPTY_TOOL_RESULT_TEXT`, and always carries
  its ``status`` (``success`` or ``error``).
* A turn made of one text block is sent as plain string content.

Tool history in a request that offers no tools:
Bedrock, which serves the Quant AI models, refuses ``toolUse`` and ``toolResult`` content
blocks in a request that has no ``toolConfig``. A conversation that went through a tool loop
is still worth sending to a model without tools (a summary, a follow-up question, a
``tool_choice="none"`` turn), so the adapters rewrite those blocks as text in that case: the
model keeps the facts (which tool was called with what, and what it returned) and the request
is accepted. Images, documents and videos inside tool results stay media blocks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Literal

from quant_ai.types import (
    ContentBlock,
    DocumentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolResultContent,
    ToolUseBlock,
    ToolUseContent,
    VideoBlock,
)

__all__ = [
    "EMPTY_TOOL_RESULT_TEXT",
    "EMPTY_TURN_TEXT",
    "Turns",
    "has_tool_blocks",
    "text_block",
    "tool_blocks_as_text",
    "tool_result_block",
    "tool_use_block",
]

EMPTY_TURN_TEXT = "."
"""The text of a user or assistant turn that has no content."""
EMPTY_TOOL_RESULT_TEXT = "(no output)"
"""The text of a tool result that has no content."""

ResultItem = TextBlock | ImageBlock | DocumentBlock | VideoBlock


def text_block(text: str) -> TextBlock | None:
    """A text block, or None for blank text (which the service refuses)."""
    return TextBlock(text=text) if text.strip() else None


def tool_use_block(tool_use_id: str, name: str, arguments: dict[str, object]) -> ToolUseBlock:
    """An assistant ``toolUse`` block."""
    return ToolUseBlock(
        tool_use=ToolUseContent(tool_use_id=tool_use_id, name=name, input=arguments)
    )


def tool_result_block(
    tool_use_id: str, content: Iterable[ResultItem], *, error: bool = False
) -> ToolResultBlock:
    """A user ``toolResult`` block; empty content becomes :data:`EMPTY_TOOL_RESULT_TEXT`.

    Args:
        tool_use_id: The id of the call it answers.
        content: Text and media blocks (blank text blocks are left out).
        error: Whether the tool failed (``status: "error"``, else ``"success"``).
    """
    items = [b for b in content if not (isinstance(b, TextBlock) and not b.text.strip())]
    if not items:
        items = [TextBlock(text=EMPTY_TOOL_RESULT_TEXT)]
    return ToolResultBlock(
        tool_result=ToolResultContent(
            tool_use_id=tool_use_id, content=list(items), status="error" if error else "success"
        )
    )


class Turns:
    """Collects the turns of a conversation and makes the wire messages.

    Example:
        >>> turns = Turns()
        >>> turns.add("user", [TextBlock(text="Hi")])
        >>> turns.add("user", [TextBlock(text="there")])
        >>> [m.to_wire() for m in turns.messages()]
        [{'role': 'user', 'content': [{'text': 'Hi'}, {'text': 'there'}]}]
    """

    def __init__(self) -> None:
        self._turns: list[tuple[str, list[ContentBlock]]] = []

    def add(self, role: Literal["user", "assistant"], blocks: Iterable[ContentBlock]) -> None:
        """Add a turn (merged into the previous one when the role is the same).

        Blank text blocks are left out; a turn left empty still counts as a turn.
        """
        kept = [b for b in blocks if not (isinstance(b, TextBlock) and not b.text.strip())]
        if self._turns and self._turns[-1][0] == role:
            self._turns[-1][1].extend(kept)
        else:
            self._turns.append((role, kept))

    def messages(self) -> list[Message]:
        """The wire messages: alternating roles, no empty turn, lone text as a string."""
        out: list[Message] = []
        for role, blocks in self._turns:
            if not blocks:
                out.append(Message(role=role, content=EMPTY_TURN_TEXT))
            elif len(blocks) == 1 and isinstance(blocks[0], TextBlock):
                out.append(Message(role=role, content=blocks[0].text))
            else:
                out.append(Message(role=role, content=list(blocks)))
        return out


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
