"""Wire models: camelCase requests with unset fields omitted, tolerant parsing of answers.

Every request goes through the contract-checked ``make_client`` transport.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from quant_ai import ChatRequest, Message
from tests.core.test_client import CHAT_OK, PNG, full_request, json_handler


def test_chat_sends_every_field_in_camel_case(make_client) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    client, transport = make_client(json_handler(CHAT_OK, record=sent))
    answer = client.chat(full_request())
    body = sent[0]
    assert transport.requests[0][0] == "chatInference"
    assert set(body) == {
        "messages",
        "modelId",
        "temperature",
        "maxTokens",
        "topP",
        "systemPrompt",
        "stopSequences",
        "responseFormat",
        "toolConfig",
        "allowedTools",
        "sessionId",
        "guardrails",
        "longContext",
    }
    assert body["messages"][1]["content"][0] == {
        "image": {"format": "png", "source": {"bytes": base64.b64encode(PNG).decode()}}
    }
    assert body["messages"][2]["content"][0]["toolUse"] == {
        "toolUseId": "t1",
        "name": "lookup",
        "input": {"q": "x"},
    }
    assert body["messages"][3]["content"][0]["toolResult"]["status"] == "success"
    assert answer.text == "The capital of Australia is Canberra."
    assert answer.usage is not None
    assert answer.usage.cost_cents == 0.18
    assert answer.finish_reason == "stop"
    assert answer.request_id == "req-abc123"


def test_unset_fields_are_omitted(make_client) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    client, _ = make_client(json_handler(CHAT_OK, record=sent))
    client.chat(messages=[{"role": "user", "content": "Hi"}])
    assert sent[0] == {
        "messages": [{"role": "user", "content": "Hi"}],
        "modelId": "amazon.nova-lite-v1:0",
    }


def test_extra_wire_fields_pass_through(make_client) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    client, _ = make_client(json_handler(CHAT_OK, record=sent), check=False)
    request = ChatRequest(messages=[Message(role="user", content="Hi")], stream=True)
    client.chat(request)
    assert sent[0]["stream"] is True


@pytest.mark.parametrize(
    "tool_use",
    [
        {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}},
        [
            {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}},
            {"toolUseId": "t2", "name": "get_weather", "input": {"city": "Rome"}},
        ],
    ],
)
def test_tool_use_as_object_or_list(make_client, tool_use: Any) -> None:  # type: ignore[no-untyped-def]
    body = {
        **CHAT_OK,
        "finishReason": "tool_use",
        "response": {"role": "assistant", "content": "", "toolUse": tool_use},
    }
    client, _ = make_client(json_handler(body))
    answer = client.chat(messages=[{"role": "user", "content": "Weather?"}])
    calls = answer.tool_calls
    assert [c.name for c in calls] == ["get_weather"] * len(calls)
    assert calls[0].input == {"city": "Paris"}
    assert answer.server_tool_calls == []


def test_server_executed_tools_are_not_client_calls(make_client) -> None:  # type: ignore[no-untyped-def]
    body = {
        **CHAT_OK,
        "response": {
            "role": "assistant",
            "content": "It is sunny.",
            "toolUse": [
                {
                    "toolUseId": "s1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                    "status": "complete",
                    "result": {"t": 20},
                },
                {"toolUseId": "c1", "name": "local", "input": {}},
            ],
        },
    }
    client, _ = make_client(json_handler(body))
    answer = client.chat(messages=[{"role": "user", "content": "x"}])
    assert [c.tool_use_id for c in answer.tool_calls] == ["c1"]
    assert [c.tool_use_id for c in answer.server_tool_calls] == ["s1"]


def test_unknown_response_fields_are_kept(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(json_handler({**CHAT_OK, "newField": {"a": 1}}))
    answer = client.chat(messages=[{"role": "user", "content": "x"}])
    assert answer.model_extra == {"newField": {"a": 1}}


def test_legacy_flat_chat_shape(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(json_handler({"text": "flat answer", "requestId": "r1"}), check=False)
    assert client.chat(messages=[{"role": "user", "content": "x"}]).text == "flat answer"
