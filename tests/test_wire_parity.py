"""The same conversation sent through ``ChatQuant`` and ``QuantLLM`` makes the same request.

Every rule that does not depend on the framework lives once in ``quant_ai``; this test is its
proof on the wire. Each case writes one conversation (and its settings) the LangChain way
and the LlamaIndex way, sends both through a contract-checked transport (so the bodies are
also validated against the spec-derived schemas) and compares the bodies byte for byte
after JSON decoding. A case may send several requests (a stream, a durable start).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from llama_index.core.base.llms.types import (
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.tools import FunctionTool, ToolMetadata
from pydantic import BaseModel

from langchain_quant import ChatQuant
from llama_index_quant import QuantLLM

MODEL = "amazon.nova-pro-v1:0"
SETTINGS: dict[str, Any] = {"model": MODEL, "temperature": 0.2, "max_tokens": 512}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
SESSION = "5f0c7e3a-8d2b-4c1e-9a6f-0b1c2d3e4f50"


class AddArgs(BaseModel):
    a: int
    b: int


def add(a: int, b: int) -> int:
    return a + b


def mul(a: int, b: int) -> int:
    return a * b


def li_tool(fn: Callable[..., int], description: str) -> FunctionTool:
    return FunctionTool.from_defaults(
        fn, tool_metadata=ToolMetadata(name=fn.__name__, description=description, fn_schema=AddArgs)
    )


def lc_tool(name: str, description: str) -> dict[str, Any]:
    """The same tool as ``li_tool`` in the OpenAI shape LangChain takes."""
    schema = li_tool(add, description).metadata.get_parameters_dict()
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": schema},
    }


LI_TOOLS = [li_tool(add, "Add two integers."), li_tool(mul, "Multiply two integers.")]
LC_TOOLS = [lc_tool("add", "Add two integers."), lc_tool("mul", "Multiply two integers.")]
SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
OPENAI_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "X", "schema": SCHEMA, "strict": True},
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ------------------------------------------------------------------ the two ways to write it


def lc(*messages: BaseMessage) -> list[BaseMessage]:
    return list(messages)


def li(*messages: tuple[str, Any]) -> list[ChatMessage]:
    out = []
    for role, content in messages:
        if isinstance(content, list):
            out.append(ChatMessage(role=role, blocks=content))
        else:
            out.append(ChatMessage(role=role, content=content))
    return out


def li_call(tool_id: str, name: str, args: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[ToolCallBlock(tool_call_id=tool_id, tool_name=name, tool_kwargs=args)],
    )


def li_result(tool_id: str, text: str, *, error: bool = False) -> ChatMessage:
    extra: dict[str, Any] = {"tool_call_id": tool_id}
    if error:
        extra["is_error"] = True
    return ChatMessage(role=MessageRole.TOOL, content=text, additional_kwargs=extra)


def lc_call(tool_id: str, name: str, args: dict[str, Any]) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": tool_id}])


TOOL_HISTORY_LC = lc(
    HumanMessage("What is 2 + 3?"), lc_call("t1", "add", {"a": 2, "b": 3}), ToolMessage("5", tool_call_id="t1")
)  # fmt: skip
TOOL_HISTORY_LI = [
    ChatMessage(role="user", content="What is 2 + 3?"),
    li_call("t1", "add", {"a": 2, "b": 3}),
    li_result("t1", "5"),
]


@dataclass
class Case:
    """One conversation, written twice, and how each adapter sends it."""

    lc_messages: list[BaseMessage]
    li_messages: list[ChatMessage]
    lc_send: Callable[[ChatQuant, list[BaseMessage]], Any] = lambda m, msgs: m.invoke(msgs)
    li_send: Callable[[QuantLLM, list[ChatMessage]], Any] = lambda m, msgs: m.chat(msgs)
    settings: dict[str, Any] = field(default_factory=dict)


def with_tools(**lc_kwargs: Any) -> Callable[[ChatQuant, list[BaseMessage]], Any]:
    return lambda m, msgs: m.bind_tools(LC_TOOLS, **lc_kwargs).invoke(msgs)


def li_with_tools(**li_kwargs: Any) -> Callable[[QuantLLM, list[ChatMessage]], Any]:
    li_kwargs.setdefault("allow_parallel_tool_calls", True)
    return lambda m, msgs: m.chat_with_tools(LI_TOOLS, chat_history=msgs, **li_kwargs)


def lc_stream(m: ChatQuant, msgs: list[BaseMessage]) -> Any:
    return list(m.stream(msgs))


def li_stream(m: QuantLLM, msgs: list[ChatMessage]) -> Any:
    return list(m.stream_chat(msgs))


HI_LC, HI_LI = lc(HumanMessage("Hi")), li(("user", "Hi"))

CASES: dict[str, Case] = {
    "text": Case(HI_LC, HI_LI),
    "system": Case(
        lc(SystemMessage("Be brief."), HumanMessage("Hi")),
        li(("system", "Be brief."), ("user", "Hi")),
    ),
    "two-system-messages": Case(
        lc(SystemMessage("Be brief."), HumanMessage("Hi"), SystemMessage("Use metric units.")),
        li(("system", "Be brief."), ("user", "Hi"), ("system", "Use metric units.")),
    ),
    "multi-turn": Case(
        lc(HumanMessage("Hi"), AIMessage("Hello! How can I help?"), HumanMessage("Tell a joke")),
        li(("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Tell a joke")),
    ),
    "same-role-turns-merge": Case(
        lc(HumanMessage("First."), HumanMessage("Second.")),
        li(("user", "First."), ("user", "Second.")),
    ),
    "empty-user-turn": Case(
        lc(HumanMessage(""), AIMessage("Hello"), HumanMessage("Go on")),
        li(("user", ""), ("assistant", "Hello"), ("user", "Go on")),
    ),
    "empty-assistant-turn": Case(
        lc(HumanMessage("Hi"), AIMessage(""), HumanMessage("Hello?")),
        li(("user", "Hi"), ("assistant", ""), ("user", "Hello?")),
    ),
    "blank-text-blocks": Case(
        lc(HumanMessage(content=[{"type": "text", "text": "  "}, {"type": "text", "text": "Q"}])),
        li(("user", [TextBlock(text="  "), TextBlock(text="Q")])),
    ),
    "tools-auto": Case(HI_LC, HI_LI, with_tools(), li_with_tools()),
    "tool-call-and-result": Case(
        [*TOOL_HISTORY_LC, HumanMessage("And times 4?")],
        [*TOOL_HISTORY_LI, ChatMessage(role="user", content="And times 4?")],
        with_tools(),
        li_with_tools(),
    ),
    "parallel-results-share-a-turn": Case(
        lc(
            HumanMessage("Add and multiply 2 and 3"),
            AIMessage(
                "",
                tool_calls=[
                    {"name": "add", "args": {"a": 2, "b": 3}, "id": "t1"},
                    {"name": "mul", "args": {"a": 2, "b": 3}, "id": "t2"},
                ],
            ),
            ToolMessage("5", tool_call_id="t1"),
            ToolMessage("6", tool_call_id="t2"),
        ),
        [
            ChatMessage(role="user", content="Add and multiply 2 and 3"),
            ChatMessage(
                role="assistant",
                blocks=[
                    ToolCallBlock(tool_call_id="t1", tool_name="add", tool_kwargs={"a": 2, "b": 3}),
                    ToolCallBlock(tool_call_id="t2", tool_name="mul", tool_kwargs={"a": 2, "b": 3}),
                ],
            ),
            li_result("t1", "5"),
            li_result("t2", "6"),
        ],
        with_tools(),
        li_with_tools(),
    ),
    "tool-error-result": Case(
        lc(
            HumanMessage("Add"),
            lc_call("t1", "add", {"a": 1}),
            ToolMessage("missing b", tool_call_id="t1", status="error"),
        ),
        [
            ChatMessage(role="user", content="Add"),
            li_call("t1", "add", {"a": 1}),
            li_result("t1", "missing b", error=True),
        ],
        with_tools(),
        li_with_tools(),
    ),
    "empty-tool-result": Case(
        lc(
            HumanMessage("Add"),
            lc_call("t1", "add", {"a": 1, "b": 1}),
            ToolMessage("", tool_call_id="t1"),
        ),
        [
            ChatMessage(role="user", content="Add"),
            li_call("t1", "add", {"a": 1, "b": 1}),
            li_result("t1", ""),
        ],
        with_tools(),
        li_with_tools(),
    ),
    "tool-history-without-tools": Case(
        [*TOOL_HISTORY_LC, HumanMessage("Summarise.")],
        [*TOOL_HISTORY_LI, ChatMessage(role="user", content="Summarise.")],
    ),
    "tool-choice-required": Case(
        HI_LC, HI_LI, with_tools(tool_choice="required"), li_with_tools(tool_choice="required")
    ),
    "tool-choice-any-flag": Case(
        HI_LC, HI_LI, with_tools(tool_choice="any"), li_with_tools(tool_required=True)
    ),
    "tool-choice-named": Case(
        HI_LC, HI_LI, with_tools(tool_choice="mul"), li_with_tools(tool_choice="mul")
    ),
    "tool-choice-openai-dict": Case(
        HI_LC,
        HI_LI,
        with_tools(tool_choice={"type": "function", "function": {"name": "add"}}),
        li_with_tools(tool_choice={"type": "function", "function": {"name": "add"}}),
    ),
    "tool-choice-none": Case(
        HI_LC, HI_LI, with_tools(tool_choice="none"), li_with_tools(tool_choice="none")
    ),
    "tool-choice-none-with-history": Case(
        TOOL_HISTORY_LC,
        TOOL_HISTORY_LI,
        with_tools(tool_choice="none"),
        li_with_tools(tool_choice="none"),
    ),
    "one-tool-at-a-time": Case(
        HI_LC,
        HI_LI,
        with_tools(parallel_tool_calls=False),
        li_with_tools(allow_parallel_tool_calls=False),
    ),
    "image": Case(
        lc(
            HumanMessage(
                content=[
                    {"type": "text", "text": "What colour?"},
                    {"type": "image", "base64": b64(PNG), "mime_type": "image/png"},
                ]
            )
        ),
        li(
            (
                "user",
                [TextBlock(text="What colour?"), ImageBlock(image=PNG, image_mimetype="image/png")],
            )
        ),
    ),
    "image-sniffed-from-a-data-url": Case(
        lc(
            HumanMessage(
                content=[{"type": "image_url", "image_url": {"url": f"data:;base64,{b64(PNG)}"}}]
            )
        ),
        li(("user", [ImageBlock(image=PNG)])),
    ),
    "pdf-with-a-name": Case(
        lc(
            HumanMessage(
                content=[
                    {
                        "type": "file",
                        "base64": b64(PDF),
                        "mime_type": "application/pdf",
                        "filename": "Q3 report.pdf",
                    },
                    {"type": "text", "text": "Summarise"},
                ]
            )
        ),
        li(
            (
                "user",
                [
                    DocumentBlock(
                        data=PDF, document_mimetype="application/pdf", title="Q3 report.pdf"
                    ),
                    TextBlock(text="Summarise"),
                ],
            )
        ),
    ),
    "two-unnamed-documents": Case(
        lc(
            HumanMessage(
                content=[
                    {"type": "file", "base64": b64(PDF), "mime_type": "application/pdf"},
                    {"type": "file", "base64": b64(PDF), "mime_type": "application/pdf"},
                ]
            )
        ),
        li(
            (
                "user",
                [
                    DocumentBlock(data=PDF, document_mimetype="application/pdf"),
                    DocumentBlock(data=PDF, document_mimetype="application/pdf"),
                ],
            )
        ),
    ),
    "text-document-inlined": Case(
        lc(
            HumanMessage(
                content=[
                    {
                        "type": "file",
                        "base64": b64(b"line one"),
                        "mime_type": "text/plain",
                        "filename": "notes.txt",
                    }
                ]
            )
        ),
        li(
            (
                "user",
                [
                    DocumentBlock(
                        data=b"line one", document_mimetype="text/plain", title="notes.txt"
                    )
                ],
            )
        ),
    ),
    "video": Case(
        lc(
            HumanMessage(
                content=[
                    {"type": "video", "base64": b64(MP4), "mime_type": "video/mp4"},
                    {"type": "text", "text": "Describe"},
                ]
            )
        ),
        li(
            (
                "user",
                [VideoBlock(video=MP4, video_mimetype="video/mp4"), TextBlock(text="Describe")],
            )
        ),
    ),
    "structured-output-schema": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.bind(response_format={"type": "json", "jsonSchema": SCHEMA}).invoke(msgs),
        lambda m, msgs: m.chat(msgs, response_format={"type": "json", "jsonSchema": SCHEMA}),
    ),
    "structured-output-openai-json-schema": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.bind(response_format=OPENAI_FORMAT).invoke(msgs),
        lambda m, msgs: m.chat(msgs, response_format=OPENAI_FORMAT),
    ),
    "structured-output-openai-json-object": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.invoke(msgs, response_format={"type": "json_object"}),
        lambda m, msgs: m.chat(msgs, response_format={"type": "json_object"}),
    ),
    "json-mode": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.invoke(msgs, response_format={"type": "json"}),
        lambda m, msgs: m.chat(msgs, response_format={"type": "json"}),
    ),
    "stop-sequences": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.invoke(msgs, stop=["END", "STOP"]),
        lambda m, msgs: m.chat(msgs, stop=["END", "STOP"]),
    ),
    "model-fields": Case(
        HI_LC,
        HI_LI,
        settings={
            "top_p": 0.9,
            "long_context": True,
            "session_id": SESSION,
            "guardrails": {
                "guardrailIdentifier": "g1",
                "guardrailVersion": "1",
                "trace": "enabled",
            },
        },
    ),
    "server-side-tools": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.invoke(msgs, auto_execute=True, allowed_tools=["get_weather"]),
        lambda m, msgs: m.chat(msgs, auto_execute=True, allowed_tools=["get_weather"]),
    ),
    "server-and-client-tools": Case(
        HI_LC,
        HI_LI,
        with_tools(auto_execute=True, allowed_tools=["get_weather"]),
        li_with_tools(auto_execute=True, allowed_tools=["get_weather"]),
    ),
    "stream": Case(HI_LC, HI_LI, lc_stream, li_stream),
    "stream-with-tools": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: list(m.bind_tools(LC_TOOLS).stream(msgs)),
        lambda m, msgs: list(
            m.stream_chat_with_tools(LI_TOOLS, chat_history=msgs, allow_parallel_tool_calls=True)
        ),
    ),
    "durable-start": Case(
        [*TOOL_HISTORY_LC, HumanMessage("Now multiply by 4.")],
        [*TOOL_HISTORY_LI, ChatMessage(role="user", content="Now multiply by 4.")],
        lambda m, msgs: m.start_execution(msgs, tools=LC_TOOLS),
        lambda m, msgs: m.start_execution(msgs, tools=LI_TOOLS),
    ),
    "durable-start-tool-choice": Case(
        HI_LC,
        HI_LI,
        lambda m, msgs: m.start_execution(msgs, tools=LC_TOOLS, tool_choice="add"),
        lambda m, msgs: m.start_execution(msgs, tools=LI_TOOLS, tool_choice="add"),
    ),
}

# ------------------------------------------------------------------ the service side


def _sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


STREAM = _sse(
    ("start", {"requestId": "r1", "model": MODEL, "streaming": True}),
    ("content", {"delta": "ok", "complete": False}),
    ("done", {"complete": True, "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4}}),
)
ANSWER = {
    "response": {"role": "assistant", "content": "ok"},
    "model": MODEL,
    "requestId": "r1",
    "finishReason": "stop",
    "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
}
ACCEPTED = {
    "requestId": "r1",
    "sessionId": "session-1",
    "status": "queued",
    "message": "Execution started.",
    "pollUrl": "/ai/chat/executions/r1",
}


def service(request: httpx.Request) -> httpx.Response:
    if json.loads(request.content).get("async"):
        return httpx.Response(202, json=ACCEPTED)
    if request.url.path.endswith("/chat/stream"):
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=STREAM)
    return httpx.Response(200, json=ANSWER)


# ------------------------------------------------------------------ the test


def test_there_are_enough_conversations() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_adapters_send_the_same_request(name: str, make_client: Any) -> None:
    case = CASES[name]
    settings = {**SETTINGS, **case.settings}
    lc_client, lc_wire = make_client(service)
    li_client, li_wire = make_client(service)
    case.lc_send(ChatQuant(client=lc_client, **settings), case.lc_messages)
    case.li_send(QuantLLM(client=li_client, **settings), case.li_messages)
    assert lc_wire.requests, "LangChain sent nothing"
    assert lc_wire.requests == li_wire.requests
