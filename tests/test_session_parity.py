"""One rule, one place: the same conversation kept through LangChain's history and LlamaIndex's
chat store becomes the same session turns (``quant_ai.session_turn``), with the same notes."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)

from langchain_quant.chat_history import to_session_turns as lc_turns
from llama_index_quant.chat_store import to_session_turns as li_turns

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def _lc() -> list:  # type: ignore[type-arg]
    return [
        SystemMessage("Be brief."),
        HumanMessage(
            content=[
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"},
            ]
        ),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"id": 7}, "id": "c1"}]),
        ToolMessage("a red square", tool_call_id="c1", name="lookup"),
        AIMessage("A red square."),
    ]


def _li() -> list[ChatMessage]:
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="Be brief."),
        ChatMessage(
            role=MessageRole.USER,
            blocks=[TextBlock(text="What is in this picture?"), ImageBlock(image=PNG)],
        ),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[ToolCallBlock(tool_call_id="c1", tool_name="lookup", tool_kwargs={"id": 7})],
        ),
        ChatMessage(
            role=MessageRole.TOOL,
            content="a red square",
            additional_kwargs={"tool_call_id": "c1", "name": "lookup"},
        ),
        ChatMessage(role=MessageRole.ASSISTANT, content="A red square."),
    ]


@pytest.mark.parametrize("created", [False, True])
@pytest.mark.parametrize("policy", ["text", "skip"])
def test_both_adapters_make_the_same_session_turns(created: bool, policy: str) -> None:
    lc, lc_notes = lc_turns(_lc(), created=created, policy=policy)
    li, li_notes = li_turns(_li(), created=created, policy=policy)
    assert [(t.role, t.content) for t in lc] == [(t.role, t.content) for t in li]
    assert lc_notes == li_notes
    if policy == "text":
        assert len(lc) == 5
        assert lc[3].content == "[tool result (lookup)] a red square"
    else:
        assert [t.content for t in lc][-1] == "A red square."
        assert all(t.role in ("user", "assistant", "system") for t in lc)
