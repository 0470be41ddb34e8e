"""``quant_ai.chat_request``: one assembly of the chat request for both adapters."""

from __future__ import annotations

import pytest

from quant_ai import (
    ONE_TOOL_AT_A_TIME,
    REQUIRE_A_TOOL,
    Message,
    QuantValidationError,
    ResponseFormat,
    Tool,
    build_chat_request,
    request_fields,
)

USER = Message(role="user", content="hi")
ADD = Tool.model_validate(
    {"toolSpec": {"name": "add", "inputSchema": {"json": {"type": "object"}}}}
)
MUL = Tool.model_validate({"toolSpec": {"name": "mul"}})
HISTORY = [
    Message.model_validate({"role": "user", "content": "add"}),
    Message.model_validate(
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t", "name": "add", "input": {}}}],
        }
    ),
    Message.model_validate(
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "3"}]}}],
        }
    ),
]


def test_fields_by_either_name_and_none_left_out() -> None:
    request = build_chat_request(
        [USER], model_id="m", maxTokens=5, temperature=None, stop_sequences=["x"], agentId="a"
    )
    assert request.to_wire() == {
        "messages": [{"role": "user", "content": "hi"}],
        "modelId": "m",
        "maxTokens": 5,
        "stopSequences": ["x"],
        "agentId": "a",
    }
    assert request_fields({"maxTokens": 1, "async": True, "other": 2}) == {
        "max_tokens": 1,
        "async_": True,
        "other": 2,
    }


def test_system_parts_and_tool_instruction_are_joined() -> None:
    request = build_chat_request(
        [USER],
        system_prompt=["Base", None, " ", "S"],
        tools=[ADD, MUL],
        tool_choice="required",
        parallel_tool_calls=False,
    )
    assert request.system_prompt == f"Base\n\nS\n\n{REQUIRE_A_TOOL} {ONE_TOOL_AT_A_TIME}"
    assert request.tool_config is not None
    assert [t.tool_spec.name for t in request.tool_config.tools or []] == ["add", "mul"]


def test_named_choice_sends_one_tool_and_none_turns_server_tools_off() -> None:
    named = build_chat_request([USER], tools=[ADD, MUL], tool_choice="mul")
    assert named.tool_config is not None
    assert [t.tool_spec.name for t in named.tool_config.tools or []] == ["mul"]
    none = build_chat_request(
        [USER], tools=[ADD], tool_choice="none", auto_execute=True, executable_tools=["x"]
    )
    assert none.tool_config is None
    assert none.system_prompt is None


def test_server_tools_only_make_a_tool_config() -> None:
    request = build_chat_request([USER], auto_execute=True, executable_tools=["get_weather"])
    assert request.to_wire()["toolConfig"] == {
        "autoExecute": True,
        "allowedTools": ["get_weather"],
    }


def test_tool_history_is_text_without_tools_and_blocks_with_them() -> None:
    plain = build_chat_request(HISTORY).to_wire()["messages"]
    assert plain[1]["content"] == [{"text": "[called tool `add` with {}]"}]
    assert plain[2]["content"] == [{"text": "[result of tool `add`]: 3"}]
    kept = build_chat_request(HISTORY, tools=[ADD]).to_wire()["messages"]
    assert kept[1]["content"][0]["toolUse"]["name"] == "add"
    forbidden = build_chat_request(HISTORY, tools=[ADD], tool_choice="none")
    assert forbidden.tool_config is not None  # the service needs the definitions
    assert "Do not call any tool" in (forbidden.system_prompt or "")


def test_response_format_spellings() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    native = {"type": "json", "jsonSchema": schema}
    for given in (
        schema,
        native,
        {"type": "json", "json_schema": schema},
        ResponseFormat(json_schema=schema),
    ):
        sent = build_chat_request([USER], response_format=given).to_wire()
        assert sent["responseFormat"] == native
    plain = build_chat_request([USER], responseFormat={"type": "json"}).to_wire()
    assert plain["responseFormat"] == {"type": "json"}
    with pytest.raises(QuantValidationError, match="response_format"):
        build_chat_request([USER], response_format="json")


def test_bad_input_is_refused_naming_the_field() -> None:
    with pytest.raises(QuantValidationError, match="no message") as empty:
        build_chat_request([])
    assert empty.value.field == "messages"
    with pytest.raises(QuantValidationError) as bad:
        build_chat_request([USER], max_tokens="many")
    assert bad.value.field == "max_tokens"
    with pytest.raises(QuantValidationError, match="not one of the tools"):
        build_chat_request([USER], tools=[ADD], tool_choice="mul")
