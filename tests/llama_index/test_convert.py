"""Unit tests of the pure conversion rules (no client, no network)."""

from __future__ import annotations

import base64
import json

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.tools import FunctionTool

from llama_index_quant._convert import (
    StreamState,
    chat_response_from_quant,
    force_single_tool_call,
    messages_to_quant,
    tool_calls_from_response,
    usage_to_openai,
)
from quant_ai import (
    ChatResponse,
    ContentEvent,
    DoneEvent,
    QuantStreamError,
    QuantValidationError,
    StartEvent,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolRequestEvent,
    ToolStartEvent,
    ToolUse,
    Usage,
)
from quant_ai._sse import parse_event

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def wire(messages: list[ChatMessage]) -> tuple[list[dict], str | None]:
    out, system = messages_to_quant(messages)
    return [m.to_wire() for m in out], system


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def mul(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


TOOLS = [FunctionTool.from_defaults(add), FunctionTool.from_defaults(mul)]


# ------------------------------------------------------------------ messages


def test_system_messages_become_the_system_prompt() -> None:
    msgs, system = wire(
        [
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Hi"),
            ChatMessage(role="developer", content="Use metric units."),
        ]
    )
    assert system == "Be brief.\n\nUse metric units."
    assert msgs == [{"role": "user", "content": "Hi"}]


def test_empty_text_blocks_are_dropped_and_empty_turns_keep_their_place() -> None:
    msgs, _ = wire(
        [
            ChatMessage(role="user", blocks=[TextBlock(text="  "), TextBlock(text="Q")]),
            ChatMessage(role="assistant", content=""),
            ChatMessage(role="user", content="more"),
        ]
    )
    # the core's one rule (quant_ai.history): the blank turn keeps its place as "."
    assert msgs == [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "."},
        {"role": "user", "content": "more"},
    ]


def test_image_bytes_path_and_data_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    msgs, _ = wire(
        [
            ChatMessage(
                role="user",
                blocks=[
                    ImageBlock(image=PNG),
                    ImageBlock(path=path),
                    ImageBlock(url=data_url),
                    TextBlock(text="What colour?"),
                ],
            )
        ]
    )
    blocks = msgs[0]["content"]
    for block in blocks[:3]:
        assert block["image"]["format"] == "png"
        assert base64.b64decode(block["image"]["source"]["bytes"]) == PNG


def test_remote_image_url_is_refused_clearly() -> None:
    with pytest.raises(QuantValidationError, match="takes image bytes, not URLs"):
        wire([ChatMessage(role="user", blocks=[ImageBlock(url="https://example.com/a.png")])])


def test_unsupported_image_type_is_refused() -> None:
    with pytest.raises(QuantValidationError, match="image/bmp"):
        wire(
            [
                ChatMessage(
                    role="user", blocks=[ImageBlock(image=b"BMxxxx", image_mimetype="image/bmp")]
                )
            ]
        )


def test_images_in_assistant_turns_are_refused() -> None:
    with pytest.raises(QuantValidationError, match="user or tool messages"):
        wire([ChatMessage(role="assistant", blocks=[ImageBlock(image=PNG)])])


def test_documents_pdf_and_text() -> None:
    msgs, _ = wire(
        [
            ChatMessage(
                role="user",
                blocks=[
                    DocumentBlock(
                        data=b"%PDF-1.4 body",
                        document_mimetype="application/pdf",
                        title="Q3 report.pdf",
                    ),
                    DocumentBlock(
                        data=b"plain notes", document_mimetype="text/plain", title="notes"
                    ),
                ],
            )
        ]
    )
    doc, text = msgs[0]["content"]
    assert doc["document"]["format"] == "pdf"
    assert doc["document"]["name"] == "Q3 report"  # quant_ai.media: the file name, no extension
    assert base64.b64decode(doc["document"]["source"]["bytes"]) == b"%PDF-1.4 body"
    assert text == {"text": "[notes]\nplain notes"}


def test_unsupported_document_type_is_refused() -> None:
    with pytest.raises(QuantValidationError, match="not supported"):
        wire(
            [
                ChatMessage(
                    role="user",
                    blocks=[DocumentBlock(data=b"\x00\x01", document_mimetype="application/zip")],
                )
            ]
        )


def test_video_and_audio() -> None:
    msgs, _ = wire(
        [
            ChatMessage(
                role="user",
                blocks=[VideoBlock(video=b"\x00\x00\x00\x18ftypmp42", video_mimetype="video/mp4")],
            )
        ]
    )
    assert msgs[0]["content"][0]["video"]["format"] == "mp4"
    with pytest.raises(QuantValidationError, match="audio is not supported"):
        wire([ChatMessage(role="user", blocks=[AudioBlock(audio=b"RIFF0000WAVE", format="wav")])])


def test_thinking_and_cache_points_are_dropped() -> None:
    msgs, _ = wire(
        [
            ChatMessage(
                role="user",
                blocks=[
                    TextBlock(text="Q"),
                    CachePoint(cache_control=CacheControl(type="default")),
                ],
            ),
            ChatMessage(
                role="assistant", blocks=[ThinkingBlock(content="hmm"), TextBlock(text="A")]
            ),
        ]
    )
    assert msgs == [
        {"role": "user", "content": "Q"},
        {"role": "assistant", "content": "A"},
    ]


def test_tool_calls_and_parallel_results_in_one_user_turn() -> None:
    png_result = ChatMessage(
        role="tool",
        blocks=[
            TextBlock(text="here"),
            ImageBlock(image=PNG),
            DocumentBlock(data=b"%PDF-1", document_mimetype="application/pdf", title="r"),
        ],
        additional_kwargs={"tool_call_id": "t2"},
    )
    msgs, _ = wire(
        [
            ChatMessage(role="user", content="add and draw"),
            ChatMessage(
                role="assistant",
                blocks=[
                    ToolCallBlock(tool_call_id="t1", tool_name="add", tool_kwargs={"a": 1, "b": 2}),
                    ToolCallBlock(
                        tool_call_id="t2", tool_name="draw", tool_kwargs='{"what": "dot"}'
                    ),
                ],
            ),
            ChatMessage(role="tool", content="3", additional_kwargs={"tool_call_id": "t1"}),
            png_result,
        ]
    )
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]
    assert msgs[1]["content"] == [
        {"toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 1, "b": 2}}},
        {"toolUse": {"toolUseId": "t2", "name": "draw", "input": {"what": "dot"}}},
    ]
    first, second = msgs[2]["content"]
    assert first == {
        "toolResult": {"toolUseId": "t1", "content": [{"text": "3"}], "status": "success"}
    }
    inner = second["toolResult"]["content"]
    assert inner[0] == {"text": "here"}
    assert inner[1]["image"]["format"] == "png"
    assert inner[2]["document"]["format"] == "pdf"


def test_tool_error_status_and_empty_result() -> None:
    msgs, _ = wire(
        [
            ChatMessage(
                role="tool", content="", additional_kwargs={"tool_call_id": "t", "is_error": True}
            )
        ]
    )
    assert msgs[0]["content"][0]["toolResult"] == {
        "toolUseId": "t",
        "content": [{"text": "(no output)"}],
        "status": "error",
    }


def test_tool_message_without_id_is_refused() -> None:
    with pytest.raises(QuantValidationError, match="tool_call_id"):
        wire([ChatMessage(role="tool", content="3")])


def test_legacy_openai_tool_calls_are_converted() -> None:
    msgs, _ = wire(
        [
            ChatMessage(
                role="assistant",
                content="",
                additional_kwargs={
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'},
                        }
                    ]
                },
            )
        ]
    )
    assert msgs[0]["content"] == [
        {"toolUse": {"toolUseId": "c1", "name": "add", "input": {"a": 2, "b": 3}}}
    ]


# ------------------------------------------------------------------ tools


# ------------------------------------------------------------------ responses


def quant_answer(**overrides: object) -> ChatResponse:
    data = {
        "response": {
            "role": "assistant",
            "content": "Let me check.",
            "toolUse": [
                {"toolUseId": "c1", "name": "add", "input": {"a": 1, "b": 2}},
                {"toolUseId": "c2", "name": "mul", "input": {"a": 3, "b": 4}},
                {
                    "toolUseId": "s1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                    "status": "complete",
                    "result": {"temp": 20},
                },
            ],
        },
        "model": "amazon.nova-lite-v1:0",
        "requestId": "req-1",
        "finishReason": "tool_use",
        "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18, "costCents": 0.01},
        **overrides,
    }
    return ChatResponse.model_validate(data)


def test_chat_response_blocks_usage_and_server_calls() -> None:
    resp = chat_response_from_quant(quant_answer())
    blocks = resp.message.blocks
    assert isinstance(blocks[0], TextBlock)
    assert blocks[0].text == "Let me check."
    calls = [b for b in blocks if isinstance(b, ToolCallBlock)]
    assert [(c.tool_call_id, c.tool_name, c.tool_kwargs) for c in calls] == [
        ("c1", "add", {"a": 1, "b": 2}),
        ("c2", "mul", {"a": 3, "b": 4}),
    ]  # the server-executed get_weather is not a block
    assert resp.raw is not None
    assert resp.raw["usage"] == {
        "prompt_tokens": 11,
        "completion_tokens": 7,
        "total_tokens": 18,
        "cost_cents": 0.01,
    }
    assert resp.raw["server_tool_calls"][0]["name"] == "get_weather"
    assert resp.additional_kwargs["server_tool_calls"][0]["result"] == {"temp": 20}
    assert resp.additional_kwargs["prompt_tokens"] == 11
    assert resp.additional_kwargs["finish_reason"] == "tool_use"
    assert resp.additional_kwargs["request_id"] == "req-1"
    assert resp.message.role == MessageRole.ASSISTANT


def test_token_counting_handler_reads_the_usage() -> None:
    from llama_index.core.callbacks.token_counting import get_tokens_from_response

    assert get_tokens_from_response(chat_response_from_quant(quant_answer())) == (11, 7)


def test_tool_selection_and_single_call() -> None:
    resp = chat_response_from_quant(quant_answer())
    selections = tool_calls_from_response(resp)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("c1", "add", {"a": 1, "b": 2}),
        ("c2", "mul", {"a": 3, "b": 4}),
    ]
    force_single_tool_call(resp)
    assert [s.tool_id for s in tool_calls_from_response(resp)] == ["c1"]
    text_only = chat_response_from_quant(quant_answer(response={"content": "hi"}))
    assert tool_calls_from_response(text_only, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="at least one tool call"):
        tool_calls_from_response(text_only)


def test_usage_to_openai_without_usage() -> None:
    assert usage_to_openai(None) == {}
    assert usage_to_openai(Usage(input_tokens=2, output_tokens=3)) == {
        "prompt_tokens": 2,
        "completion_tokens": 3,
        "total_tokens": 5,
    }


# ------------------------------------------------------------------ streaming


def frames(*pairs: tuple[str, dict]) -> list:
    return [parse_event(name, json.dumps(data)) for name, data in pairs]


def test_stream_text_deltas_and_usage_on_the_last_chunk() -> None:
    state = StreamState()
    events = frames(
        ("start", {"requestId": "r1", "model": "m"}),
        ("content", {"delta": "Hel"}),
        ("content", {"delta": "lo"}),
        (
            "done",
            {"complete": True, "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}},
        ),
    )
    chunks = [c for c in (state.add(e) for e in events) if c is not None]
    assert [c.delta for c in chunks] == ["Hel", "lo", ""]
    assert [c.message.content for c in chunks] == ["Hel", "Hello", "Hello"]
    assert "prompt_tokens" not in chunks[0].additional_kwargs
    last = chunks[-1]
    assert last.additional_kwargs["prompt_tokens"] == 3
    assert last.additional_kwargs["finish_reason"] == "stop"
    assert last.raw is not None
    assert last.raw["usage"]["completion_tokens"] == 2
    assert last.additional_kwargs["request_id"] == "r1"


def test_stream_split_json_arguments_and_parallel_calls() -> None:
    state = StreamState()
    events = frames(
        ("tool_request", {"toolUse": [{"toolUseId": "a", "name": "add", "input": '{"a": 1, '}]}),
        ("tool_request", {"toolUse": [{"toolUseId": "b", "name": "mul", "input": '{"a": 3'}]}),
        ("tool_request", {"toolUse": [{"toolUseId": "a", "name": "add", "input": '"b": 2}'}]}),
        ("tool_input_progress", {"name": "mul", "toolUseId": "b", "delta": ', "b": 4}'}),
        (
            "done",
            {
                "complete": False,
                "stopReason": "tool_request",
                "usage": {"inputTokens": 9, "outputTokens": 4},
            },
        ),
    )
    chunks = [state.add(e) for e in events]
    assert all(c is not None for c in chunks)
    first = chunks[0]
    assert first is not None
    partial = [b for b in first.message.blocks if isinstance(b, ToolCallBlock)]
    assert partial[0].tool_kwargs == {"a": 1}  # parsed tolerantly while partial
    last = chunks[-1]
    assert last is not None
    calls = tool_calls_from_response(last)
    assert [(c.tool_id, c.tool_name, c.tool_kwargs) for c in calls] == [
        ("a", "add", {"a": 1, "b": 2}),
        ("b", "mul", {"a": 3, "b": 4}),
    ]
    assert last.additional_kwargs["finish_reason"] == "tool_use"
    assert last.additional_kwargs["total_tokens"] == 13


def test_stream_complete_tool_use_in_done_and_object_inputs() -> None:
    state = StreamState()
    state.add(ToolRequestEvent([ToolUse(tool_use_id="x", name="add", input={"a": 1})]))
    last = state.add(
        DoneEvent(
            complete=False,
            finish_reason="tool_use",
            usage=None,
            tool_uses=[ToolUse(tool_use_id="x", name="add", input={"a": 1, "b": 5})],
            content=None,
            orchestration=None,
        )
    )
    assert last is not None
    assert tool_calls_from_response(last)[0].tool_kwargs == {"a": 1, "b": 5}


def test_stream_server_tools_never_become_blocks() -> None:
    state = StreamState()
    assert state.add(ToolStartEvent("get_weather", "s1", {"city": "Paris"})) is None
    assert state.add(ToolCompleteEvent("get_weather", "s1", {"temp": 20})) is None
    state.add(ContentEvent("It is 20 degrees."))
    last = state.add(
        DoneEvent(
            complete=True,
            finish_reason="stop",
            usage=None,
            tool_uses=[ToolUse(tool_use_id="s2", name="search_web", input={}, status="complete")],
            content=None,
            orchestration=None,
        )
    )
    assert last is not None
    assert not [b for b in last.message.blocks if isinstance(b, ToolCallBlock)]
    server = last.additional_kwargs["server_tool_calls"]
    assert [(s["name"], s["status"]) for s in server] == [
        ("get_weather", "complete"),
        ("search_web", "complete"),
    ]
    assert server[0]["result"] == {"temp": 20}


def test_stream_content_only_in_done_and_ignored_events() -> None:
    state = StreamState()
    assert state.add(StartEvent("r", "m")) is None
    assert state.add(ToolInputProgressEvent("add")) is None  # progress without a fragment
    assert state.add(ContentEvent("")) is None
    last = state.add(DoneEvent(True, "stop", None, [], "All text", None))
    assert last is not None
    assert last.delta == "All text"
    assert last.message.content == "All text"


def test_stream_error_event_raises() -> None:
    with pytest.raises(QuantStreamError, match="boom"):
        parse_event("error", json.dumps({"error": "boom"}))
