"""ChatQuant over a contract-checked MockTransport: every request is validated against the spec."""

from __future__ import annotations

import json
import pickle
from typing import Any

import httpx
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAuthenticationError,
    ModelRateLimitError,
    OutputParserException,
)
from langchain_core.load import dumpd, dumps
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from langchain_quant import ChatQuant
from langchain_quant.errors import QuantModelStreamError
from quant_ai import QuantError, QuantRateLimitError, QuantValidationError

SECRET = "qc_super_secret_value_123"


def answer(text: str = "ok", tool_use: Any = None, finish: str = "stop") -> dict[str, Any]:
    response: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_use is not None:
        response["toolUse"] = tool_use
    return {
        "response": response,
        "model": "amazon.nova-lite-v1:0",
        "requestId": "req-1",
        "finishReason": finish,
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8, "costCents": 0.02},
    }


def sse(*frames: tuple[str, dict[str, Any]]) -> httpx.Response:
    text = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in frames)
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


STREAM = (
    ("start", {"requestId": "req-2", "model": "amazon.nova-lite-v1:0", "streaming": True}),
    ("content", {"delta": "Hel", "complete": False}),
    ("content", {"delta": "lo", "complete": False}),
    ("done", {"complete": True, "usage": {"inputTokens": 2, "outputTokens": 2, "totalTokens": 4}}),
)


def chat(make_client: Any, handler: Any, **kwargs: Any) -> tuple[ChatQuant, Any]:
    client, transport = make_client(handler, max_retries=kwargs.pop("max_retries", 2))
    return ChatQuant(client=client, **kwargs), transport


def body_of(transport: Any, n: int = -1) -> dict[str, Any]:
    return transport.requests[n][1]


def test_invoke_sends_every_field(make_client: Any) -> None:
    llm, transport = chat(
        make_client,
        lambda r: httpx.Response(200, json=answer()),
        model="anthropic.claude-sonnet-4-5",
        temperature=0.2,
        max_tokens=50,
        top_p=0.9,
        stop_sequences=["END"],
        guardrails={"guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled"},
        long_context=True,
        session_id="5b2a3b0e-8a9c-4f6e-9d3c-1a2b3c4d5e6f",
        model_kwargs={"allowedTools": ["calculate"]},
    )
    msg = llm.invoke([SystemMessage("Be brief."), HumanMessage("Hi")])
    assert msg.text == "ok"
    assert body_of(transport) == {
        "messages": [{"role": "user", "content": "Hi"}],
        "modelId": "anthropic.claude-sonnet-4-5",
        "systemPrompt": "Be brief.",
        "temperature": 0.2,
        "maxTokens": 50,
        "topP": 0.9,
        "stopSequences": ["END"],
        "guardrails": {"guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled"},
        "longContext": True,
        "sessionId": "5b2a3b0e-8a9c-4f6e-9d3c-1a2b3c4d5e6f",
        "allowedTools": ["calculate"],
    }
    assert msg.response_metadata["cost_cents"] == 0.02
    assert msg.usage_metadata == {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}


def test_per_call_overrides_and_ls_params(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    llm.invoke("Hi", model="amazon.nova-pro-v1:0", stop=["x"], temperature=1.0, max_tokens=7)
    body = body_of(transport)
    assert (body["modelId"], body["stopSequences"], body["temperature"], body["maxTokens"]) == (
        "amazon.nova-pro-v1:0",
        ["x"],
        1.0,
        7,
    )
    params = llm._get_ls_params(stop=["x"], model="amazon.nova-pro-v1:0", max_tokens=7)
    assert params == {
        "ls_provider": "quant",
        "ls_model_name": "amazon.nova-pro-v1:0",
        "ls_model_type": "chat",
        "ls_temperature": None,
        "ls_max_tokens": 7,
        "ls_stop": ["x"],
    }


def test_init_wire_fields_go_to_model_kwargs_and_unknown_ones_are_refused() -> None:
    with pytest.warns(UserWarning, match="allowedTools"):
        llm = ChatQuant(allowed_tools=["calculate"])
    assert llm.model_kwargs == {"allowedTools": ["calculate"]}
    with pytest.raises(QuantValidationError, match="'topK'") as info:
        ChatQuant(topK=5)  # no wire field of the chat request: refused, not sent
    assert info.value.field == "topK"


def test_aliases_model_id_and_stop_sequences() -> None:
    llm = ChatQuant(model_id="amazon.nova-pro-v1:0", stop_sequences=["a"])
    assert (llm.model, llm.stop) == ("amazon.nova-pro-v1:0", ["a"])


class Recorder(BaseCallbackHandler):
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.log.append(f"token:{token}")


def test_stream_fires_callback_before_each_chunk(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: sse(*STREAM))
    log: list[str] = []
    chunks = []
    for chunk in llm.stream("Hi", config={"callbacks": [Recorder(log)]}):
        log.append(f"chunk:{chunk.text}")
        chunks.append(chunk)
    assert log[:4] == ["token:Hel", "chunk:Hel", "token:lo", "chunk:lo"]
    assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
    assert transport.requests[0][0] == "chatInferenceStream"


async def test_astream_fires_callback_before_each_chunk(make_client: Any) -> None:
    llm, _ = chat(make_client, lambda r: sse(*STREAM))
    log: list[str] = []
    full = None
    async for chunk in llm.astream("Hi", config={"callbacks": [Recorder(log)]}):
        log.append(f"chunk:{chunk.text}")
        full = chunk if full is None else full + chunk
    assert log[:4] == ["token:Hel", "chunk:Hel", "token:lo", "chunk:lo"]
    assert full is not None
    assert full.text == "Hello"
    assert full.response_metadata["request_id"] == "req-2"


def test_streaming_true_routes_invoke_through_stream(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: sse(*STREAM), streaming=True)
    assert llm.invoke("Hi").text == "Hello"
    assert transport.requests[0][0] == "chatInferenceStream"


async def test_ainvoke_uses_the_async_client(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer("async")))
    assert (await llm.ainvoke("Hi")).text == "async"
    assert transport.requests[0][0] == "chatInference"


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_bind_tools_server_side_names(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    llm.bind_tools([add, "get_weather", "calculate"]).invoke("weather?")
    config = body_of(transport)["toolConfig"]
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["add", "get_weather", "calculate"]
    assert config["autoExecute"] is True
    assert config["allowedTools"] == ["get_weather", "calculate"]


def test_bind_tools_tool_choice_none_drops_tools(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    llm.bind_tools([add], tool_choice="none").invoke("hi")
    assert "toolConfig" not in body_of(transport)


def test_bind_tools_named_choice_restricts_and_instructs(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))

    def mul(a: int, b: int) -> int:
        """Multiply."""
        return a * b

    llm.bind_tools([add, mul], tool_choice="mul").invoke([SystemMessage("S"), HumanMessage("x")])
    body = body_of(transport)
    assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["mul"]
    assert body["systemPrompt"].startswith("S\n\nYou must answer by calling the tool `mul`")


def test_bind_tools_unknown_choice_fails_early() -> None:
    with pytest.raises(ValueError, match="is not one of the tools"):
        ChatQuant().bind_tools([add], tool_choice="nope")


def test_unicode_tool_arguments_round_trip(make_client: Any) -> None:
    use = {"toolUseId": "t1", "name": "add", "input": {"name": "你好啊集团"}}
    llm, transport = chat(
        make_client,
        lambda r: httpx.Response(200, json=answer("", use, "tool_use")),
    )
    msg = llm.bind_tools([add]).invoke("Create 你好啊集团")
    assert msg.tool_calls[0]["args"] == {"name": "你好啊集团"}
    llm.bind_tools([add]).invoke([HumanMessage("x"), msg])
    assert body_of(transport)["messages"][1]["content"][0]["toolUse"]["input"] == {
        "name": "你好啊集团"
    }
    llm.invoke([HumanMessage("x"), msg])  # no tools: the history is text, still unmangled
    assert body_of(transport)["messages"][1]["content"] == [
        {"text": '[called tool `add` with {"name": "你好啊集团"}]'}
    ]


def test_server_tool_calls_are_content_blocks_not_tool_calls(make_client: Any) -> None:
    use = [
        {
            "toolUseId": "s1",
            "name": "get_weather",
            "input": {},
            "status": "complete",
            "result": {"t": 1},
        }
    ]
    llm, _ = chat(make_client, lambda r: httpx.Response(200, json=answer("Sunny", use)))
    msg = llm.bind_tools(["get_weather"]).invoke("weather?")
    assert msg.tool_calls == []
    assert msg.content[0]["type"] == "server_tool_call"


class Person(BaseModel):
    name: str
    age: int


def test_structured_output_json_schema_uses_response_format(make_client: Any) -> None:
    llm, transport = chat(
        make_client, lambda r: httpx.Response(200, json=answer('{"name": "Ann", "age": 3}'))
    )
    assert llm.with_structured_output(Person).invoke("x") == Person(name="Ann", age=3)
    fmt = body_of(transport)["responseFormat"]
    assert fmt["type"] == "json"
    assert fmt["jsonSchema"]["properties"].keys() == {"name", "age"}


def test_structured_output_bad_json_raises(make_client: Any) -> None:
    llm, _ = chat(make_client, lambda r: httpx.Response(200, json=answer("not json")))
    with pytest.raises(OutputParserException):
        llm.with_structured_output(Person).invoke("x")
    raw = llm.with_structured_output(Person, include_raw=True).invoke("x")
    assert raw["parsed"] is None
    assert isinstance(raw["parsing_error"], OutputParserException)


def test_structured_output_function_calling_without_call_raises(make_client: Any) -> None:
    llm, _ = chat(make_client, lambda r: httpx.Response(200, json=answer("no tool")))
    for schema in (Person, Person.model_json_schema()):
        with pytest.raises(OutputParserException):
            llm.with_structured_output(schema, method="function_calling").invoke("x")


def test_structured_output_function_calling(make_client: Any) -> None:
    use = {"toolUseId": "t1", "name": "Person", "input": {"name": "Bo", "age": 4}}
    llm, transport = chat(
        make_client, lambda r: httpx.Response(200, json=answer("", use, "tool_use"))
    )
    assert llm.with_structured_output(Person, method="function_calling").invoke("x") == Person(
        name="Bo", age=4
    )
    assert [t["toolSpec"]["name"] for t in body_of(transport)["toolConfig"]["tools"]] == ["Person"]


def test_json_mode_without_schema(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer('{"a": 1}')))
    assert llm.with_structured_output(None, method="json_mode").invoke("x") == {"a": 1}
    assert body_of(transport)["responseFormat"] == {"type": "json"}


def error(status: int, message: str) -> Any:
    return lambda r: httpx.Response(status, json={"message": message})


def test_errors_are_dual_classes(make_client: Any) -> None:
    llm, _ = chat(make_client, error(429, "slow down"), max_retries=0)
    with pytest.raises(ModelRateLimitError) as info:
        llm.invoke("x")
    assert isinstance(info.value, QuantRateLimitError)
    assert info.value.status_code == 429
    assert isinstance(info.value.__cause__, QuantRateLimitError)

    llm, _ = chat(make_client, error(401, "bad token"), max_retries=0)
    with pytest.raises(ModelAuthenticationError):
        llm.invoke("x")

    llm, _ = chat(make_client, error(400, "Input is too long for the context window"))
    with pytest.raises(ContextOverflowError):
        llm.invoke("x")


async def test_stream_errors_are_dual_classes(make_client: Any) -> None:
    llm, _ = chat(
        make_client,
        lambda r: sse(STREAM[0], STREAM[1], ("error", {"error": "model overloaded"})),
    )
    with pytest.raises(QuantModelStreamError, match="overloaded"):
        async for _ in llm.astream("x"):
            pass


def test_validation_errors_stay_value_errors(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    with pytest.raises(QuantValidationError, match="sessionId"):
        llm.invoke("x", session_id="not-a-uuid")
    assert transport.requests == []


def test_construction_needs_no_key_and_does_no_io() -> None:
    llm = ChatQuant()
    assert llm._quant_client is None
    with pytest.raises(QuantError, match="QUANT_API_KEY"):
        llm.invoke("x")


def test_client_is_lazy_cached_and_picklable() -> None:
    llm = ChatQuant(api_key=SECRET, organization="acme")
    clone = pickle.loads(pickle.dumps(llm))
    assert clone.api_key is not None
    assert clone.api_key.get_secret_value() == SECRET
    first = llm.quant_client
    assert llm.quant_client is first
    again = pickle.loads(pickle.dumps(llm))
    assert again._quant_client is None


def test_key_never_shown(make_client: Any) -> None:
    llm = ChatQuant(api_key=SECRET, organization="acme")
    assert SECRET not in repr(llm)
    assert SECRET not in str(llm)
    assert SECRET not in dumps(llm)
    assert SECRET not in json.dumps(llm._identifying_params, default=str)
    assert SECRET not in repr(llm.quant_client)


def test_dumpd_keeps_the_key_out() -> None:
    data = dumpd(ChatQuant(api_key=SECRET))
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["QUANT_API_KEY"]}
    assert ChatQuant(api_key=SECRET).lc_secrets == {"api_key": "QUANT_API_KEY"}


def test_errors_do_not_carry_the_key(make_client: Any) -> None:
    client, _ = make_client(error(403, "denied"), api_key=SECRET, max_retries=0)
    with pytest.raises(QuantError) as info:
        ChatQuant(client=client).invoke("x")
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.__dict__)


PROFILE_KEYS = (
    "max_input_tokens",
    "max_output_tokens",
    "image_inputs",
    "pdf_inputs",
    "video_inputs",
    "audio_inputs",
    "tool_calling",
    "tool_choice",
    "structured_output",
)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "amazon.nova-micro-v1:0",
            (128_000, 10_000, False, False, False, False, True, True, False),
        ),
        ("amazon.nova-lite-v1:0", (300_000, 10_000, True, True, True, False, True, True, True)),
        ("amazon.nova-pro-v1:0", (300_000, 10_000, True, True, True, False, True, True, True)),
        (
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            (200_000, 8_192, True, True, False, False, True, True, True),
        ),
        (
            "anthropic.claude-sonnet-4-5",
            (200_000, 64_000, True, True, False, False, True, True, True),
        ),
        (
            "anthropic.claude-sonnet-4-6",
            (200_000, 64_000, True, True, False, False, True, True, True),
        ),
    ],
)
def test_profile(model: str, expected: tuple[Any, ...]) -> None:
    profile = ChatQuant(model=model).profile
    assert profile is not None
    assert tuple(profile[key] for key in PROFILE_KEYS) == expected  # type: ignore[literal-required]


def test_profiles_agree_with_the_emulator_catalogue() -> None:
    """Context window, output limit and native structured output match the model catalogue."""
    from quant_ai.emulator.catalog import MODELS

    for model in (
        "amazon.nova-micro-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "anthropic.claude-sonnet-4-5",
    ):
        profile = ChatQuant(model=model).profile
        info = MODELS[model]
        assert profile is not None
        assert profile["max_input_tokens"] == info.context_window
        assert profile["max_output_tokens"] == info.max_output_tokens
        assert profile["structured_output"] is info.structured


def test_profile_unknown_model() -> None:
    assert ChatQuant(model="some.unknown-model").profile is None


def test_identity() -> None:
    llm = ChatQuant(temperature=0.5)
    assert llm._llm_type == "quant-chat"
    assert llm._identifying_params["temperature"] == 0.5
    assert ChatQuant.is_lc_serializable()


def test_history_with_tool_messages(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    history = [
        HumanMessage("add 1 and 2"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "t1"}]),
    ]
    from langchain_core.messages import ToolMessage

    llm.bind_tools([add], tool_choice="none").invoke(
        [*history, ToolMessage("3", tool_call_id="t1")]
    )
    body = body_of(transport)
    assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "add"  # kept for the history
    assert "Do not call any tool" in body["systemPrompt"]


# ------------------------------------------------------------------ audit of issue 4


def test_tool_history_without_tools_is_sent_as_text(make_client: Any) -> None:
    """A tool loop's history sent to a model without tools: no toolUse/toolResult blocks
    (the service refuses them without toolConfig), the facts kept as text."""
    from langchain_core.messages import ToolMessage

    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer("3 it is")))
    history = [
        HumanMessage("add 1 and 2"),
        AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "t1"}]),
        ToolMessage("3", tool_call_id="t1"),
        HumanMessage("Summarise."),
    ]
    assert llm.invoke(history).text == "3 it is"
    body = body_of(transport)
    assert "toolConfig" not in body
    assert body["messages"] == [
        {"role": "user", "content": "add 1 and 2"},
        {"role": "assistant", "content": [{"text": '[called tool `add` with {"a": 1, "b": 2}]'}]},
        {
            "role": "user",
            "content": [{"text": "[result of tool `add`]: 3"}, {"text": "Summarise."}],
        },
    ]
    llm.bind_tools([add]).invoke(history)  # with tools bound the blocks stay native
    assert body_of(transport)["messages"][1]["content"][0]["toolUse"]["name"] == "add"


def test_tool_choice_none_turns_server_side_execution_off(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    llm.bind_tools(["get_weather", add], tool_choice="none").invoke("weather in Paris?")
    assert "toolConfig" not in body_of(transport)
    llm.bind_tools(["get_weather", add]).invoke("weather in Paris?")
    config = body_of(transport)["toolConfig"]
    assert (config["autoExecute"], config["allowedTools"]) == (True, ["get_weather"])


def test_client_settings_reach_the_core() -> None:
    """key, organisation, base URL, timeout, max_retries, headers and the injected httpx
    clients (sync and async) are the ones the requests use."""
    from langchain_core.exceptions import ModelRateLimitError

    from tests.contract import ContractTransport

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, json={"message": "slow down"}, headers={"Retry-After": "0"})

    transport = ContractTransport(handler)
    settings: dict[str, Any] = {
        "api_key": "qc_settings_key",
        "organization": "settings-org",
        "base_url": "https://quant.settings.test",
        "timeout": httpx.Timeout(7.0, connect=2.0),
        "default_headers": {"X-Trace-Id": "trace-1"},
        "http_client": httpx.Client(transport=transport),
        "async_http_client": httpx.AsyncClient(transport=transport),
    }
    llm = ChatQuant(max_retries=0, **settings)
    assert llm.quant_client.transport.timeout == httpx.Timeout(7.0, connect=2.0)
    with pytest.raises(ModelRateLimitError):
        llm.invoke("x")
    assert len(seen) == 1  # max_retries=0: no retry
    request = seen[0]
    assert str(request.url).startswith(
        "https://quant.settings.test/api/v3/organizations/settings-org/ai/chat"
    )
    assert request.headers["authorization"] == "Bearer qc_settings_key"
    assert request.headers["x-trace-id"] == "trace-1"
    with pytest.raises(ModelRateLimitError):
        ChatQuant(max_retries=1, **settings).invoke("x")
    assert len(seen) == 3  # one retry (Retry-After: 0)

    async def run() -> None:
        with pytest.raises(ModelRateLimitError):
            await llm.ainvoke("x")

    import asyncio

    asyncio.run(run())
    assert len(seen) == 4  # the injected async client carried it


@pytest.mark.parametrize(
    ("status", "core", "langchain_cls"),
    [
        (400, "QuantBadRequestError", "ModelInvalidRequestError"),
        (401, "QuantAuthenticationError", "ModelAuthenticationError"),
        (403, "QuantPermissionDeniedError", "ModelPermissionDeniedError"),
        (404, "QuantNotFoundError", "ModelNotFoundError"),
        (409, "QuantConflictError", "ModelAPIError"),
        (429, "QuantRateLimitError", "ModelRateLimitError"),
        (500, "QuantServerError", "ModelAPIError"),
        (503, "QuantServerError", "ModelAPIError"),
        (418, "QuantAPIError", "ModelAPIError"),
        ("connect", "QuantConnectionError", "ModelConnectionError"),
        ("timeout", "QuantTimeoutError", "ModelTimeoutError"),
    ],
)
def test_every_error_is_a_core_and_langchain_error(
    make_client: Any, status: int | str, core: str, langchain_cls: str
) -> None:
    import langchain_core.exceptions as lc_errors

    import quant_ai

    def handler(request: httpx.Request) -> httpx.Response:
        if status == "connect":
            raise httpx.ConnectError("refused", request=request)
        if status == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(int(status), json={"message": "nope"})

    llm, transport = chat(make_client, handler, max_retries=0)
    for call in (lambda: llm.invoke("x"), lambda: list(llm.stream("x"))):
        with pytest.raises(getattr(lc_errors, langchain_cls)) as info:
            call()
        assert isinstance(info.value, getattr(quant_ai, core))
        assert type(info.value).__module__ == "langchain_quant.errors"
    assert len(transport.requests) == 2


def test_stream_usage_off_end_to_end(make_client: Any) -> None:
    llm, _ = chat(make_client, lambda r: sse(*STREAM), stream_usage=False)
    assert all(c.usage_metadata is None for c in llm.stream("Hi"))
    chunks = list(ChatQuant(client=llm.client).stream("Hi", stream_usage=False))
    assert all(c.usage_metadata is None for c in chunks)
    assert chunks[-1].response_metadata["model_name"] == "amazon.nova-lite-v1:0"
    assert sum(c.usage_metadata is not None for c in ChatQuant(client=llm.client).stream("x")) == 1


def test_with_structured_output_refuses_bad_arguments() -> None:
    llm = ChatQuant()
    with pytest.raises(ValueError, match="schema is required"):
        llm.with_structured_output(None)
    with pytest.raises(ValueError, match="schema is required"):
        llm.with_structured_output(None, method="function_calling")
    with pytest.raises(ValueError, match="method must be"):
        llm.with_structured_output(Person, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported arguments"):
        llm.with_structured_output(Person, tool_choice="any")


async def test_structured_output_streams_and_raises_async(make_client: Any) -> None:
    good = sse(
        ("content", {"delta": '{"name": "A'}),
        ("content", {"delta": 'nn", "age": 3}'}),
        ("done", {"complete": True}),
    )
    llm, _ = chat(make_client, lambda r: good)
    chunks = [c async for c in llm.with_structured_output(Person).astream("x")]
    assert chunks[-1] == Person(name="Ann", age=3)
    bad, _ = chat(make_client, lambda r: httpx.Response(200, json=answer('{"name": "Ann"}')))
    with pytest.raises(OutputParserException):
        await bad.with_structured_output(Person).ainvoke("x")  # valid JSON, wrong shape
    with pytest.raises(OutputParserException):
        await bad.with_structured_output(Person, method="function_calling").ainvoke("x")


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_dumpd_load_round_trip_with_an_explicit_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """What test_serdes cannot do with allowed_objects="all" works with an explicit allowlist:
    the key comes back from the environment, never from the payload."""
    from langchain_core.load import load

    llm = ChatQuant(api_key=SECRET, model="amazon.nova-pro-v1:0", temperature=0.1, max_tokens=9)
    data = dumpd(llm)
    assert SECRET not in json.dumps(data)
    monkeypatch.setenv("QUANT_API_KEY", "qc_from_env")
    clone = load(
        data,
        allowed_objects=[ChatQuant],
        valid_namespaces=["langchain_quant"],
        secrets_from_env=True,
    )
    assert isinstance(clone, ChatQuant)
    assert (clone.model, clone.temperature, clone.max_tokens) == ("amazon.nova-pro-v1:0", 0.1, 9)
    assert clone.api_key is not None
    assert clone.api_key.get_secret_value() == "qc_from_env"
    with pytest.raises(ValueError, match="not allowed"):
        load(data, allowed_objects="all", valid_namespaces=["langchain_quant"])


async def test_async_methods_use_the_async_client_only() -> None:
    """The injected sync client fails every request: each async method must go through the
    AsyncClient (no executor fallback onto the sync path) for chat, embeddings and images."""
    from langchain_quant import NovaCanvasTool, QuantEmbeddings
    from tests.contract import ContractTransport
    from tests.langchain._support import b64, tiny_png

    def sync_forbidden(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the sync client was used by an async method")

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/chat/stream"):
            return sse(*STREAM)
        if path.endswith("/embeddings"):
            texts = json.loads(request.content)["input"]
            return httpx.Response(
                200,
                json={
                    "embeddings": [[0.5, 0.5]] * len(texts),
                    "model": "amazon.titan-embed-text-v2:0",
                    "dimension": 2,
                    "usage": {"inputTokens": 1, "totalTokens": 1},
                },
            )
        if path.endswith("/image-generation"):
            return httpx.Response(200, json={"images": [b64(tiny_png())]})
        return httpx.Response(200, json=answer("async"))

    transport = ContractTransport(handler)
    settings: dict[str, Any] = {
        "api_key": "qc_async_key",
        "organization": "acme",
        "base_url": "https://quant.test",
        "http_client": httpx.Client(transport=httpx.MockTransport(sync_forbidden)),
        "async_http_client": httpx.AsyncClient(transport=transport),
    }
    llm = ChatQuant(**settings)
    assert (await llm.ainvoke("Hi")).text == "async"
    assert [m.text for m in await llm.abatch(["a", "b"])] == ["async", "async"]
    assert "".join([c.text async for c in llm.astream("Hi")]) == "Hello"
    emb = QuantEmbeddings(**settings, batch_size=1, max_concurrency=2)
    assert await emb.aembed_documents(["a", "b"]) == [[0.5, 0.5], [0.5, 0.5]]
    tool = NovaCanvasTool(**settings)
    message = await tool.ainvoke(
        {"name": "nova_canvas", "args": {"prompt": "x"}, "id": "1", "type": "tool_call"}
    )
    assert message.artifact[0].data.startswith(b"\x89PNG")
    assert [op for op, _ in transport.requests] == [
        "chatInference",
        "chatInference",
        "chatInference",
        "chatInferenceStream",
        "embeddings",
        "embeddings",
        "imageGeneration",
    ]
    with pytest.raises(AssertionError, match="sync client"):
        llm.invoke("Hi")  # the sync path really is the other client


def test_bind_tools_explicit_server_side_options(make_client: Any) -> None:
    llm, transport = chat(make_client, lambda r: httpx.Response(200, json=answer()))
    llm.bind_tools([add], auto_execute=True, allowed_tools=["org_lookup"]).invoke("x")
    config = body_of(transport)["toolConfig"]
    assert (config["autoExecute"], config["allowedTools"]) == (True, ["org_lookup"])
    assert [t["toolSpec"]["name"] for t in config["tools"]] == ["add"]
    llm.bind_tools(["get_weather"], auto_execute=False).invoke("x")
    config = body_of(transport)["toolConfig"]
    assert (config["autoExecute"], config["allowedTools"]) == (False, ["get_weather"])
