"""QuantLLM against contract-checked mock transports (every request validated against the spec)."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatStartEvent, LLMCompletionStartEvent
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_quant import QuantLLM
from quant_ai import QuantAPIError, QuantStreamError, QuantValidationError

KEY = "qc_super_secret_key_123"


class Pet(BaseModel):
    """A pet."""

    name: str
    age: int


def answer(
    text: str = "Hello", tool_use: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    response: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_use:
        response["toolUse"] = tool_use
    return {
        "response": response,
        "model": "amazon.nova-lite-v1:0",
        "requestId": "req-1",
        "finishReason": "tool_use" if tool_use else "stop",
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15, "costCents": 0.002},
        **extra,
    }


def sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


STREAM = sse(
    ("start", {"requestId": "req-s", "model": "amazon.nova-lite-v1:0"}),
    ("content", {"delta": "Hel"}),
    ("content", {"delta": "lo"}),
    ("done", {"complete": True, "usage": {"inputTokens": 4, "outputTokens": 2, "totalTokens": 6}}),
)


def handler_for(body: dict[str, Any] | None = None, stream: bytes = STREAM):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/chat/stream"):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=stream
            )
        return httpx.Response(200, json=body or answer())

    return handler


@pytest.fixture
def llm_for(make_client):  # type: ignore[no-untyped-def]
    def factory(handler: Any, **fields: Any) -> tuple[QuantLLM, Any]:
        client, transport = make_client(handler)
        return QuantLLM(client=client, **fields), transport

    return factory


class Recorder(BaseEventHandler):
    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "Recorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    dispatcher = get_dispatcher()
    rec = Recorder(events=[])
    dispatcher.add_event_handler(rec)
    yield rec
    dispatcher.event_handlers.remove(rec)


# ------------------------------------------------------------------ requests and entry points


def test_chat_sends_every_field(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(
        handler_for(),
        model="anthropic.claude-3-5-sonnet-20240620-v1:0",
        temperature=0.2,
        top_p=0.9,
        stop=["END"],
        guardrails={"guardrail_identifier": "g1", "guardrail_version": "1", "trace": "enabled"},
        long_context=True,
        session_id="5f0c7e3a-8d2b-4c1e-9a6f-0b1c2d3e4f50",
        additional_kwargs={"allowed_tools": ["get_weather"]},
    )
    resp = llm.chat(
        [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi")]
    )
    assert resp.message.content == "Hello"
    op, body = transport.requests[0]
    assert op == "chatInference"
    assert body == {
        "messages": [{"role": "user", "content": "Hi"}],
        "modelId": "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "temperature": 0.2,
        "maxTokens": 4096,
        "topP": 0.9,
        "systemPrompt": "Be brief.",
        "stopSequences": ["END"],
        "sessionId": "5f0c7e3a-8d2b-4c1e-9a6f-0b1c2d3e4f50",
        "allowedTools": ["get_weather"],
        "guardrails": {"guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled"},
        "longContext": True,
    }
    assert resp.additional_kwargs["prompt_tokens"] == 10
    assert resp.additional_kwargs["cost_cents"] == 0.002


def test_per_call_overrides(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for())
    llm.chat([ChatMessage(role="user", content="Hi")], temperature=0.0, max_tokens=10, stop=["x"])
    body = transport.requests[0][1]
    assert (body["temperature"], body["maxTokens"], body["stopSequences"]) == (0.0, 10, ["x"])


async def test_all_eight_entry_points_one_event_each(llm_for, recorder) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for())
    msgs = [ChatMessage(role="user", content="Hi")]
    assert llm.chat(msgs).message.content == "Hello"
    assert llm.complete("Hi").text == "Hello"
    assert [c.delta for c in llm.stream_chat(msgs)] == ["Hel", "lo", ""]
    assert [c.text for c in llm.stream_complete("Hi")][-1] == "Hello"
    assert (await llm.achat(msgs)).message.content == "Hello"
    assert (await llm.acomplete("Hi")).text == "Hello"
    assert [c.delta async for c in await llm.astream_chat(msgs)] == ["Hel", "lo", ""]
    chunks = [c async for c in await llm.astream_complete("Hi")]
    assert chunks[-1].text == "Hello"
    assert chunks[-1].additional_kwargs["prompt_tokens"] == 4
    starts = [
        e for e in recorder.events if isinstance(e, (LLMChatStartEvent, LLMCompletionStartEvent))
    ]
    assert [type(e).__name__ for e in starts] == [
        "LLMChatStartEvent",
        "LLMCompletionStartEvent",
        "LLMChatStartEvent",
        "LLMCompletionStartEvent",
    ] * 2
    assert [op for op, _ in transport.requests] == [
        "chatInference",
        "chatInference",
        "chatInferenceStream",
        "chatInferenceStream",
    ] * 2


def test_stream_starts_eagerly_and_errors_raise(llm_for) -> None:  # type: ignore[no-untyped-def]
    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "bad model"})

    llm, _ = llm_for(failing)
    with pytest.raises(QuantAPIError, match="bad model"):
        llm.stream_chat([ChatMessage(role="user", content="Hi")])  # raises before iteration


async def test_mid_stream_error_raises(llm_for) -> None:  # type: ignore[no-untyped-def]
    broken = sse(
        ("start", {"requestId": "r"}),
        ("content", {"delta": "Hi"}),
        ("error", {"error": "model overloaded"}),
    )
    llm, _ = llm_for(handler_for(stream=broken))
    msgs = [ChatMessage(role="user", content="Hi")]
    with pytest.raises(QuantStreamError, match="overloaded"):
        list(llm.stream_chat(msgs))
    gen = await llm.astream_chat(msgs)
    with pytest.raises(QuantStreamError, match="overloaded"):
        [c async for c in gen]


def test_bad_input_is_refused_before_sending(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for())
    with pytest.raises(QuantValidationError):
        llm.chat([ChatMessage(role="user", content="Hi")], temperature=5)
    with pytest.raises(QuantValidationError, match=r"unknown_field|extra"):
        llm.chat([ChatMessage(role="user", content="Hi")], guardrails={"unknown_field": 1})
    assert transport.requests == []


# ------------------------------------------------------------------ tools


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def mul(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


TOOLS = [FunctionTool.from_defaults(add), FunctionTool.from_defaults(mul)]
TWO_CALLS = [
    {"toolUseId": "t1", "name": "add", "input": {"a": 1, "b": 2}},
    {"toolUseId": "t2", "name": "mul", "input": {"a": 3, "b": 4}},
]


def test_chat_with_tools_parallel_and_single(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for(answer("", TWO_CALLS)))
    resp = llm.chat_with_tools(TOOLS, user_msg="add and multiply", allow_parallel_tool_calls=True)
    calls = llm.get_tool_calls_from_response(resp)
    assert [(c.tool_id, c.tool_name, c.tool_kwargs) for c in calls] == [
        ("t1", "add", {"a": 1, "b": 2}),
        ("t2", "mul", {"a": 3, "b": 4}),
    ]
    body = transport.requests[0][1]
    assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["add", "mul"]
    assert "systemPrompt" not in body
    single = llm.chat_with_tools(TOOLS, user_msg="add and multiply")
    assert len(llm.get_tool_calls_from_response(single)) == 1
    assert "at most one" in transport.requests[1][1]["systemPrompt"]


def test_tool_required_named_choice_and_empty_tools(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for())
    llm.chat_with_tools(TOOLS, user_msg="x", tool_required=True)
    llm.chat_with_tools(TOOLS, user_msg="x", tool_choice="mul")
    llm.chat_with_tools([], user_msg="x")
    required, named, empty = (b for _, b in transport.requests)
    assert "calling one of the available tools" in required["systemPrompt"]
    assert [t["toolSpec"]["name"] for t in named["toolConfig"]["tools"]] == ["mul"]
    assert "toolConfig" not in empty
    with pytest.raises(ValueError, match="at least one tool call"):
        llm.predict_and_call(TOOLS, user_msg="x")


def test_predict_and_call_runs_the_tool(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, _ = llm_for(handler_for(answer("", TWO_CALLS[:1])))
    assert llm.predict_and_call(TOOLS, user_msg="add 1 and 2").response == "3"


def test_tool_round_trip_history(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for(answer("The sum is 3.")))
    history = [
        ChatMessage(role="user", content="add 1 and 2"),
        ChatMessage(
            role="assistant",
            blocks=[
                ToolCallBlock(tool_call_id="t1", tool_name="add", tool_kwargs={"a": 1, "b": 2})
            ],
        ),
        ChatMessage(role="tool", content="3", additional_kwargs={"tool_call_id": "t1"}),
    ]
    resp = llm.chat_with_tools(TOOLS, chat_history=history)
    assert resp.message.content == "The sum is 3."
    messages = transport.requests[0][1]["messages"]
    assert messages[1]["content"][0]["toolUse"]["toolUseId"] == "t1"
    assert messages[2]["content"][0]["toolResult"]["toolUseId"] == "t1"


def test_server_side_tools_pass_through_and_are_not_client_calls(llm_for) -> None:  # type: ignore[no-untyped-def]
    server_call = {
        "toolUseId": "s1",
        "name": "get_weather",
        "input": {"city": "Paris"},
        "status": "complete",
        "result": {"temp": 21},
    }
    llm, transport = llm_for(
        handler_for(answer("21 degrees", [server_call])),
        auto_execute=True,
        allowed_tools=["get_weather"],
    )
    resp = llm.chat_with_tools(TOOLS, user_msg="weather in Paris")
    config = transport.requests[0][1]["toolConfig"]
    assert config["autoExecute"] is True
    assert config["allowedTools"] == ["get_weather"]
    assert llm.get_tool_calls_from_response(resp, error_on_no_tool_call=False) == []
    assert resp.additional_kwargs["server_tool_calls"][0]["result"] == {"temp": 21}
    assert resp.raw is not None
    assert resp.raw["server_tool_calls"][0]["name"] == "get_weather"
    llm.chat([ChatMessage(role="user", content="weather")])  # without client tools
    assert transport.requests[1][1]["toolConfig"] == {
        "autoExecute": True,
        "allowedTools": ["get_weather"],
    }


def test_streamed_tool_calls_in_chunks(llm_for) -> None:  # type: ignore[no-untyped-def]
    stream = sse(
        ("start", {"requestId": "r"}),
        ("tool_request", {"toolUse": TWO_CALLS}),
        (
            "done",
            {
                "complete": False,
                "stopReason": "tool_request",
                "usage": {"inputTokens": 3, "outputTokens": 1},
            },
        ),
    )
    llm, _ = llm_for(handler_for(stream=stream))
    chunks = list(
        llm.stream_chat_with_tools(TOOLS, user_msg="add and mul", allow_parallel_tool_calls=True)
    )
    calls = llm.get_tool_calls_from_response(chunks[-1])
    assert [c.tool_name for c in calls] == ["add", "mul"]
    assert chunks[-1].additional_kwargs["completion_tokens"] == 1


# ------------------------------------------------------------------ structured output

PET = answer(json.dumps({"name": "Rex", "age": 3}))


async def test_structured_predict_native_json_schema(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(
        handler_for(
            PET,
            stream=sse(
                ("content", {"delta": '{"name": "Re'}),
                ("content", {"delta": 'x", "age": 3}'}),
                ("done", {"complete": True}),
            ),
        )
    )
    prompt = PromptTemplate("Make a pet named {name}")
    assert llm.structured_predict(Pet, prompt, name="Rex") == Pet(name="Rex", age=3)
    body = transport.requests[0][1]
    assert body["responseFormat"]["type"] == "json"
    assert body["responseFormat"]["jsonSchema"]["properties"]["age"]["type"] == "integer"
    assert body["messages"][0]["content"] == "Make a pet named Rex"
    assert await llm.astructured_predict(Pet, prompt, name="Rex") == Pet(name="Rex", age=3)
    partials = list(llm.stream_structured_predict(Pet, prompt, name="Rex"))
    assert len(partials) == 3  # one partial object per content chunk, then the final object
    assert type(partials[0]).__name__ == "FlexiblePet"
    assert partials[-1] == Pet(name="Rex", age=3)
    apartials = [p async for p in await llm.astream_structured_predict(Pet, prompt, name="Rex")]
    assert apartials[-1] == Pet(name="Rex", age=3)


def test_as_structured_llm(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(handler_for(PET))
    resp = llm.as_structured_llm(Pet).chat([ChatMessage(role="user", content="a pet")])
    assert resp.raw == Pet(name="Rex", age=3)
    assert "responseFormat" in transport.requests[0][1]


def test_structured_predict_invalid_answer_is_explained(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, _ = llm_for(handler_for(answer('{"name": "Rex"}')))
    with pytest.raises(ValueError, match="not a valid Pet"):
        llm.structured_predict(Pet, PromptTemplate("x"))


def test_structured_predict_function_calling_fallback(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, transport = llm_for(
        handler_for(
            answer("", [{"toolUseId": "p", "name": "Pet", "input": {"name": "Rex", "age": 3}}])
        ),
        structured_output_method="function_calling",
    )
    assert llm.structured_predict(Pet, PromptTemplate("a pet")) == Pet(name="Rex", age=3)
    body = transport.requests[0][1]
    assert "responseFormat" not in body
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "Pet"
    assert "calling" in body["systemPrompt"]


# ------------------------------------------------------------------ metadata, config, secrets


def test_metadata_never_raises_and_overrides() -> None:
    assert QuantLLM().metadata.context_window == 300_000
    assert (
        QuantLLM(model="us.anthropic.claude-sonnet-4-20250514-v1:0").metadata.context_window
        == 200_000
    )
    unknown = QuantLLM(model="vendor.brand-new-model-v9").metadata
    assert unknown.context_window == 128_000
    assert unknown.is_function_calling_model is True
    custom = QuantLLM(model="x", context_window=5000, is_function_calling_model=False).metadata
    assert (custom.context_window, custom.is_function_calling_model, custom.num_output) == (
        5000,
        False,
        4096,
    )


def test_metadata_from_the_models_endpoint(llm_for) -> None:  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if "/models/" in request.url.path:
            return httpx.Response(
                200,
                json={"id": "m", "contextWindow": 4242, "capabilities": {"supportsTools": False}},
            )
        return httpx.Response(404, json={"error": "no"})

    llm, transport = llm_for(handler, model="m", fetch_model_info=True)
    assert llm.metadata.context_window == 4242
    assert llm.metadata.is_function_calling_model is False
    assert len(transport.requests) == 1  # read once
    missing, _ = llm_for(
        lambda r: httpx.Response(404, json={"error": "unknown model"}),
        model="m",
        fetch_model_info=True,
    )
    assert missing.metadata.context_window == 128_000  # falls back


def test_environment_variables(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("QUANT_API_KEY", KEY)
    monkeypatch.setenv("QUANT_ORGANIZATION", "acme")
    monkeypatch.setenv("QUANT_BASE_URL", "https://quant.example")
    config = QuantLLM().client.config
    assert config.api_key is not None
    assert config.api_key.get_secret_value() == KEY
    assert (config.organization, config.base_url) == ("acme", "https://quant.example")


def test_invalid_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="UUID"):
        QuantLLM(session_id="not-a-uuid")
    with pytest.raises(ValueError, match="at most 4"):
        QuantLLM(stop=["a", "b", "c", "d", "e"])
    with pytest.raises(ValueError):
        QuantLLM(max_tokens=0)


def test_key_is_never_serialized_but_survives_pickle(recorder) -> None:  # type: ignore[no-untyped-def]
    llm = QuantLLM(api_key=KEY, organization="acme", timeout=30, max_retries=1)
    texts = [
        llm.to_json(),
        json.dumps(llm.to_dict()),
        repr(llm),
        json.dumps(llm.model_dump(mode="json")),
    ]
    if hasattr(llm, "to_payload"):  # llama-index-core >= 0.14.23; earlier cores emit to_dict()
        texts.append(str(llm.to_payload()))
    for text in texts:
        assert KEY not in text
    # What the installed core really emits about the model (to_dict or to_payload) keeps it out.
    with httpx.Client(transport=httpx.MockTransport(handler_for())) as http:
        used = QuantLLM(api_key=KEY, organization="acme", http_client=http)
        assert used.chat([ChatMessage(role="user", content="Hi")]).message.content == "Hello"
    emitted = [e.model_dict for e in recorder.events if isinstance(e, LLMChatStartEvent)]
    assert len(emitted) == 1
    payload = json.dumps(emitted[0], default=str)
    assert used.model in payload
    assert KEY not in payload
    assert llm._client is None  # lazy
    before = pickle.loads(pickle.dumps(llm))
    _ = llm.client  # first use
    after = pickle.loads(pickle.dumps(llm))
    for copy in (before, after):
        assert copy._client is None  # a private client is re-created in the copy
        assert copy.client.config.api_key is not None
        assert copy.client.config.api_key.get_secret_value() == KEY
        assert copy.client.max_retries == 1


def test_error_messages_do_not_carry_the_key(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(
        lambda r: httpx.Response(401, json={"error": "invalid token"}), api_key=KEY
    )
    llm = QuantLLM(client=client)
    with pytest.raises(QuantAPIError) as info:
        llm.chat([ChatMessage(role="user", content="Hi")])
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


def test_safe_across_event_loops(llm_for) -> None:  # type: ignore[no-untyped-def]
    llm, _ = llm_for(handler_for())

    async def ask() -> str:
        return (await llm.achat([ChatMessage(role="user", content="Hi")])).message.content or ""

    assert asyncio.run(ask()) == "Hello"
    assert asyncio.run(ask()) == "Hello"
