"""Pure conversion rules of langchain_quant._convert (no I/O)."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_quant._convert import (
    StreamConverter,
    convert_messages,
    convert_tools,
    response_to_message,
)
from quant_ai import (
    EMPTY_TOOL_RESULT_TEXT,
    EMPTY_TURN_TEXT,
    ChatResponse,
    ContentEvent,
    DoneEvent,
    StartEvent,
    ToolCompleteEvent,
    ToolRequestEvent,
    ToolStartEvent,
    ToolUse,
    Usage,
)
from tests.langchain._support import b64, tiny_pdf, tiny_png

PNG = b64(tiny_png())
PDF = b64(tiny_pdf())


def wire(messages: list) -> tuple[str | None, list[dict]]:
    system, turns = convert_messages(messages)
    return system, [m.to_wire() for m in turns]


def test__convert_messages_hoists_all_system_messages() -> None:
    system, turns = wire(
        [SystemMessage("a"), HumanMessage("hi"), SystemMessage("b"), AIMessage("yo")]
    )
    assert system == "a\n\nb"
    assert turns == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "yo"},
    ]


def test__convert_messages_merges_same_role_runs() -> None:
    _, turns = wire(
        [HumanMessage("a"), HumanMessage("b"), AIMessage("c"), AIMessage("d"), HumanMessage("e")]
    )
    assert turns == [
        {"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
        {"role": "assistant", "content": [{"text": "c"}, {"text": "d"}]},
        {"role": "user", "content": "e"},
    ]


def test__convert_messages_drops_human_names_and_maps_chat_roles() -> None:
    _, turns = wire(
        [HumanMessage("hello", name="example_user"), ChatMessage(role="ai", content="x")]
    )
    assert turns == [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "x"}]


def test__convert_messages_no_system_gives_none() -> None:
    assert convert_messages([HumanMessage("x")])[0] is None


def test__convert_messages_empty_content_placeholders() -> None:
    _, turns = wire([HumanMessage(""), AIMessage("")])
    assert turns == [
        {"role": "user", "content": EMPTY_TURN_TEXT},
        {"role": "assistant", "content": EMPTY_TURN_TEXT},
    ]


def test__convert_messages_tool_calls_become_tool_use_and_results_share_a_turn() -> None:
    ai = AIMessage(
        content=[
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "t1", "name": "add", "input": {"a": 1}},
        ],
        tool_calls=[
            {"name": "add", "args": {"a": 1}, "id": "t1"},
            {"name": "mul", "args": {"b": 2}, "id": "t2"},
        ],
    )
    _, turns = wire(
        [
            HumanMessage("go"),
            ai,
            ToolMessage("3", tool_call_id="t1"),
            ToolMessage("boom", tool_call_id="t2", status="error"),
            HumanMessage("and then?"),
        ]
    )
    assert turns[1] == {
        "role": "assistant",
        "content": [
            {"text": "calling"},
            {"toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 1}}},
            {"toolUse": {"toolUseId": "t2", "name": "mul", "input": {"b": 2}}},
        ],
    }
    assert turns[2] == {
        "role": "user",
        "content": [
            {"toolResult": {"toolUseId": "t1", "content": [{"text": "3"}], "status": "success"}},
            {"toolResult": {"toolUseId": "t2", "content": [{"text": "boom"}], "status": "error"}},
            {"text": "and then?"},
        ],
    }


def test__convert_messages_empty_tool_result() -> None:
    _, turns = wire([ToolMessage("", tool_call_id="t1")])
    assert turns[0]["content"][0]["toolResult"]["content"] == [{"text": EMPTY_TOOL_RESULT_TEXT}]


def test__convert_messages_server_tool_blocks_are_not_sent_back() -> None:
    ai = AIMessage(
        content=[
            {"type": "server_tool_call", "id": "s1", "name": "get_weather", "args": {}},
            {"type": "server_tool_result", "tool_call_id": "s1", "status": "success"},
            {"type": "text", "text": "Sunny."},
        ]
    )
    assert wire([ai])[1] == [{"role": "assistant", "content": "Sunny."}]


@pytest.mark.parametrize(
    "block",
    [
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/png"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "base64": PNG},  # format sniffed from the bytes
    ],
    ids=["v1", "v0-source-type", "openai", "anthropic", "sniffed"],
)
def test__convert_messages_image_forms(block: dict) -> None:
    _, turns = wire([HumanMessage(content=[block, {"type": "text", "text": "what?"}])])
    assert turns[0]["content"][0] == {"image": {"format": "png", "source": {"bytes": PNG}}}


@pytest.mark.parametrize(
    ("block", "name"),
    [
        ({"type": "file", "base64": PDF, "mime_type": "application/pdf"}, "document-1"),
        (
            {
                "type": "file",
                "base64": PDF,
                "mime_type": "application/pdf",
                "extras": {"filename": "q3 report.pdf"},
            },
            "q3 report",
        ),
        (
            {
                "type": "file",
                "source_type": "base64",
                "data": PDF,
                "mime_type": "application/pdf",
                "filename": "a_b.pdf",
            },
            "a-b",
        ),
        (
            {
                "type": "file",
                "file": {"filename": "x.pdf", "file_data": f"data:application/pdf;base64,{PDF}"},
            },
            "x",
        ),
    ],
    ids=["v1-unnamed", "v1-extras", "v0", "openai"],
)
def test__convert_messages_documents_always_named(block: dict, name: str) -> None:
    _, turns = wire([HumanMessage(content=[block])])
    assert turns[0]["content"][0] == {
        "document": {"format": "pdf", "name": name, "source": {"bytes": PDF}}
    }


def test__convert_messages_document_names_are_unique() -> None:
    block = {"type": "file", "base64": PDF, "mime_type": "application/pdf", "filename": "r.pdf"}
    _, turns = wire(
        [
            HumanMessage(
                content=[
                    block,
                    block,
                    {"type": "file", "base64": PDF, "mime_type": "application/pdf"},
                ]
            )
        ]
    )
    names = [b["document"]["name"] for b in turns[0]["content"]]
    assert names == ["r", "r-2", "document-1"]


def test__convert_messages_video() -> None:
    _, turns = wire(
        [HumanMessage(content=[{"type": "video", "base64": "AAAA", "mime_type": "video/mp4"}])]
    )
    assert turns[0]["content"][0] == {"video": {"format": "mp4", "source": {"bytes": "AAAA"}}}


def test__convert_messages_media_in_tool_results() -> None:
    msg = ToolMessage(
        content=[
            {"type": "text", "text": "here"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            {"type": "file", "base64": PDF, "mime_type": "application/pdf"},
        ],
        tool_call_id="t1",
    )
    content = wire([msg])[1][0]["content"][0]["toolResult"]["content"]
    assert [next(iter(c)) for c in content] == ["text", "image", "document"]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "image", "url": "https://example.com/cat.png"}, "not fetch URLs"),
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            "not fetch URLs",
        ),
        ({"type": "file", "file_id": "file-123"}, "file id"),
        ({"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}, "audio"),
        ({"type": "image", "base64": PNG, "mime_type": "image/bmp"}, "not supported"),
        ({"type": "mystery"}, "unsupported content block"),
    ],
)
def test__convert_messages_refusals(block: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        convert_messages([HumanMessage(content=[block])])


def test__convert_messages_image_url_given_as_url_is_refused_with_advice() -> None:
    with pytest.raises(ValueError, match="pass it as base64"):
        convert_messages([HumanMessage(content=[{"type": "image", "url": "http://x/y.png"}])])


class Weather(BaseModel):
    """Get the weather."""

    location: str = Field(description="City")


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


def test__convert_tools_all_forms() -> None:
    schema = {
        "title": "lookup",
        "description": "Look up",
        "type": "object",
        "properties": {"q": {"type": "string"}},
    }
    tools, server = convert_tools(
        [add, multiply, Weather, schema, "get_weather", {"toolSpec": {"name": "raw"}}]
    )
    names = [t["toolSpec"]["name"] for t in tools]
    assert names == ["add", "multiply", "Weather", "lookup", "get_weather", "raw"]
    assert server == ["get_weather"]
    assert tools[0]["toolSpec"]["inputSchema"]["json"]["required"] == ["a", "b"]
    assert tools[2]["toolSpec"]["description"] == "Get the weather."
    assert tools[4]["toolSpec"]["description"].startswith("Get the current weather")


def _response(**kw: object) -> ChatResponse:
    base = {
        "response": {"role": "assistant", "content": "ok"},
        "model": "amazon.nova-lite-v1:0",
        "requestId": "req-1",
        "finishReason": "stop",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5, "costCents": 0.01},
    }
    base.update(kw)
    return ChatResponse.model_validate(base)


def test__response_to_message_metadata_and_usage() -> None:
    msg = response_to_message(_response(), requested_model="x")
    assert msg.content == "ok"
    assert msg.usage_metadata == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert msg.response_metadata == {
        "model_provider": "quant",
        "model_name": "amazon.nova-lite-v1:0",
        "finish_reason": "stop",
        "request_id": "req-1",
        "cost_cents": 0.01,
    }


def test__response_to_message_model_name_falls_back_to_request() -> None:
    msg = response_to_message(_response(model=None), requested_model="amazon.nova-pro-v1:0")
    assert msg.response_metadata["model_name"] == "amazon.nova-pro-v1:0"


def test__response_to_message_server_tools_never_become_tool_calls() -> None:
    resp = _response(
        response={
            "role": "assistant",
            "content": "It is sunny.",
            "toolUse": [
                {
                    "toolUseId": "s1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                    "status": "complete",
                    "result": {"temp": 20},
                },
                {"toolUseId": "c1", "name": "add", "input": {"a": 1, "b": 2}},
            ],
        }
    )
    msg = response_to_message(resp, requested_model="x")
    assert [c["name"] for c in msg.tool_calls] == ["add"]
    assert msg.content[:2] == [
        {"type": "server_tool_call", "id": "s1", "name": "get_weather", "args": {"city": "Paris"}},
        {
            "type": "server_tool_result",
            "tool_call_id": "s1",
            "status": "success",
            "output": {"temp": 20},
        },
    ]
    assert msg.text == "It is sunny."
    assert [b["type"] for b in msg.content_blocks] == [
        "server_tool_call",
        "server_tool_result",
        "text",
        "tool_call",
    ]


def _collect(events: list) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    conv = StreamConverter("amazon.nova-lite-v1:0")
    chunks = [c for e in events for c in conv.feed(e)]
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    return chunks, full


def test__stream_converter_text_usage_once_and_metadata() -> None:
    chunks, full = _collect(
        [
            StartEvent("req-9", "amazon.nova-lite-v1:0"),
            ContentEvent("Hel"),
            ContentEvent("lo"),
            DoneEvent(
                True, "stop", Usage(input_tokens=4, output_tokens=2, cost_cents=0.2), [], None, None
            ),
        ]
    )
    assert [c.text for c in chunks] == ["Hel", "lo", ""]
    assert sum(1 for c in chunks if c.usage_metadata) == 1
    assert chunks[-1].chunk_position == "last"
    assert full.text == "Hello"
    assert full.usage_metadata == {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}
    assert full.response_metadata == {
        "model_provider": "quant",
        "model_name": "amazon.nova-lite-v1:0",
        "finish_reason": "stop",
        "request_id": "req-9",
        "cost_cents": 0.2,
    }


def test__stream_converter_tool_calls_aggregate_to_exact_json() -> None:
    uses = [
        ToolUse(tool_use_id="a", name="add", input={"a": 1, "b": 2}),
        ToolUse(tool_use_id="b", name="noargs", input={}),
        ToolUse(tool_use_id="c", name="greet", input={"name": "你好"}),
    ]
    _chunks, full = _collect(
        [
            ContentEvent("Using tools."),
            ToolRequestEvent(uses[:2]),
            DoneEvent(
                False,
                "tool_use",
                Usage(input_tokens=1, output_tokens=1),
                [uses[1], uses[2]],
                None,
                None,
            ),
        ]
    )
    assert [(c["name"], c["args"], c["id"]) for c in full.tool_calls] == [
        ("add", {"a": 1, "b": 2}, "a"),
        ("noargs", {}, "b"),
        ("greet", {"name": "你好"}, "c"),
    ]
    assert full.tool_call_chunks[2]["args"] == json.dumps({"name": "你好"}, ensure_ascii=False)
    assert [c["index"] for c in full.tool_call_chunks] == [1, 2, 3]
    assert full.response_metadata["finish_reason"] == "tool_use"


def test__stream_converter_server_tools_become_blocks() -> None:
    _, full = _collect(
        [
            ToolStartEvent("get_weather", "s1", {"city": "Paris"}),
            ToolCompleteEvent("get_weather", "s1", {"temp": 20}),
            ContentEvent("Sunny."),
            DoneEvent(True, "stop", None, [], None, None),
        ]
    )
    assert full.tool_calls == []
    types = [b["type"] for b in full.content if isinstance(b, dict)]
    assert types == ["server_tool_call", "server_tool_result"]
    assert full.text == "Sunny."


def test__stream_converter_stream_usage_off() -> None:
    conv = StreamConverter("m", stream_usage=False)
    last = conv.feed(DoneEvent(True, "stop", Usage(input_tokens=1), [], None, None))[-1]
    assert last.usage_metadata is None


def test__stream_converter_done_content_when_no_deltas() -> None:
    _, full = _collect([DoneEvent(True, "stop", None, [], "whole answer", None)])
    assert full.text == "whole answer"


def test__convert_tools_custom_server_tool_by_name() -> None:
    tools, server = convert_tools(["crm_lookup"])
    assert server == ["crm_lookup"]
    assert tools[0]["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}
