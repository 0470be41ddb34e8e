"""LangChain v1 agents with ChatQuant: ``create_agent`` with ``response_format`` (provider and
tool strategies, with and without tools, sync, async and streaming) and LangGraph's prebuilt
ReAct agent on the live emulator; the OpenAI-style ``response_format`` shapes over a
contract-checked transport; token estimates and ``trim_messages`` without any download."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypedDict

import httpx
import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.messages import (
    AIMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    trim_messages,
)
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel

from langchain_quant import ChatQuant
from quant_ai import QuantStructuredOutputError, QuantValidationError, estimate_tokens
from tests.langchain import _support


class Weather(BaseModel):
    """Weather report of a city."""

    city: str
    temperature: int


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"It is sunny and 22 degrees in {city}."


QUESTION = {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}


# ------------------------------------------------------------------ live on the emulator


class Recorder:
    """httpx event hooks keeping the JSON body of every chat request sent to the emulator."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def sync(self, request: httpx.Request) -> None:
        if request.url.path.endswith(("/ai/chat", "/ai/chat/stream")):
            self.bodies.append(json.loads(request.read()))

    async def asynchronous(self, request: httpx.Request) -> None:
        self.sync(request)


@pytest.fixture
def sync_recorder() -> Iterator[tuple[Recorder, httpx.Client]]:
    recorder = Recorder()
    with httpx.Client(event_hooks={"request": [recorder.sync]}) as http:
        yield recorder, http


@pytest.fixture
async def recorder(
    sync_recorder: tuple[Recorder, httpx.Client],
) -> AsyncIterator[tuple[Recorder, httpx.Client, httpx.AsyncClient]]:
    recorder, http = sync_recorder
    async with httpx.AsyncClient(event_hooks={"request": [recorder.asynchronous]}) as ahttp:
        yield recorder, http, ahttp


@pytest.fixture
def recorded(recorder: Any) -> tuple[ChatQuant, Recorder]:
    bodies, http, ahttp = recorder
    return ChatQuant(**_support.live_params(), http_client=http, async_http_client=ahttp), bodies


def paris(result: dict[str, Any]) -> Weather:
    report = result["structured_response"]
    assert isinstance(report, Weather)
    assert report.city == "Paris"
    return report


@pytest.mark.emulator
@pytest.mark.parametrize("tools", [[], [get_weather]], ids=["no-tools", "tools"])
def test_create_agent_provider_strategy(recorded: Any, tools: list[Any]) -> None:
    llm, recorder = recorded
    agent = create_agent(model=llm, tools=tools, response_format=Weather)
    result = agent.invoke(QUESTION)
    paris(result)
    final = recorder.bodies[-1]
    assert final["responseFormat"] == {"type": "json", "jsonSchema": Weather.model_json_schema()}
    assert json.loads(result["messages"][-1].content)["city"] == "Paris"
    if tools:
        assert [m.name for m in result["messages"] if isinstance(m, ToolMessage)] == ["get_weather"]
        assert len(recorder.bodies) == 2
        assert all("responseFormat" in body for body in recorder.bodies)
    else:
        assert len(recorder.bodies) == 1


@pytest.mark.emulator
@pytest.mark.parametrize("tools", [[], [get_weather]], ids=["no-tools", "tools"])
async def test_create_agent_provider_strategy_async_and_streaming(
    recorded: Any, tools: list[Any]
) -> None:
    llm, recorder = recorded
    agent = create_agent(model=llm, tools=tools, response_format=ProviderStrategy(Weather))
    paris(await agent.ainvoke(QUESTION))
    # stream_mode="messages" makes the model node stream tokens from /ai/chat/stream
    streamed = [chunk async for chunk, _meta in agent.astream(QUESTION, stream_mode="messages")]
    assert any(isinstance(c, AIMessage) and c.content for c in streamed)
    assert recorder.bodies[-1]["responseFormat"]["jsonSchema"] == Weather.model_json_schema()
    states = [s async for s in agent.astream(QUESTION, stream_mode="values")]
    paris(states[-1])


@pytest.mark.emulator
def test_create_agent_provider_strategy_sync_stream(recorded: Any) -> None:
    llm, _ = recorded
    agent = create_agent(model=llm, tools=[get_weather], response_format=Weather)
    tokens = [c for c, _m in agent.stream(QUESTION, stream_mode="messages") if c.content]
    assert len(tokens) > 3  # streamed piece by piece
    states = list(agent.stream(QUESTION, stream_mode="values"))
    paris(states[-1])


@pytest.mark.emulator
@pytest.mark.parametrize("tools", [[], [get_weather]], ids=["no-tools", "tools"])
def test_create_agent_tool_strategy(recorded: Any, tools: list[Any]) -> None:
    llm, recorder = recorded
    agent = create_agent(model=llm, tools=tools, response_format=ToolStrategy(Weather))
    result = agent.invoke(QUESTION)
    report = paris(result)
    if tools:  # the forced Weather call comes after get_weather and uses its answer
        assert report.temperature == 22
        names = [m.name for m in result["messages"] if isinstance(m, ToolMessage)]
        assert names == ["get_weather", "Weather"]
    assert all("responseFormat" not in body for body in recorder.bodies)
    assert "Weather" in [t["toolSpec"]["name"] for t in recorder.bodies[-1]["toolConfig"]["tools"]]


@pytest.mark.emulator
async def test_create_agent_tool_strategy_async(recorded: Any) -> None:
    llm, _ = recorded
    agent = create_agent(model=llm, tools=[get_weather], response_format=ToolStrategy(Weather))
    paris(await agent.ainvoke(QUESTION))
    states = [s async for s in agent.astream(QUESTION, stream_mode="values")]
    paris(states[-1])


@pytest.mark.emulator
def test_create_agent_without_native_structured_output_uses_tools(recorder: Any) -> None:
    recorder, http, ahttp = recorder
    micro = ChatQuant(
        **_support.live_params(),
        model="amazon.nova-micro-v1:0",
        http_client=http,
        async_http_client=ahttp,
    )
    assert micro.profile is not None
    assert micro.profile["structured_output"] is False
    agent = create_agent(model=micro, tools=[], response_format=Weather)
    paris(agent.invoke(QUESTION))
    assert "responseFormat" not in recorder.bodies[-1]
    assert [t["toolSpec"]["name"] for t in recorder.bodies[-1]["toolConfig"]["tools"]] == [
        "Weather"
    ]


@pytest.mark.emulator
def test_create_agent_with_tools_and_no_response_format() -> None:
    agent = create_agent(model=ChatQuant(**_support.live_params()), tools=[get_weather])
    result = agent.invoke(QUESTION)
    assert "structured_response" not in result
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.content for m in tool_messages] == ["It is sunny and 22 degrees in Paris."]
    assert "22" in result["messages"][-1].text


@pytest.mark.emulator
async def test_langgraph_prebuilt_react_agent() -> None:
    from langgraph.prebuilt import create_react_agent

    with pytest.warns(Warning, match="create_agent"):  # deprecated in LangGraph v1, still used
        agent = create_react_agent(ChatQuant(**_support.live_params()), [get_weather])
    for result in (agent.invoke(QUESTION), await agent.ainvoke(QUESTION)):
        names = [m.name for m in result["messages"] if isinstance(m, ToolMessage)]
        assert names == ["get_weather"]
        assert isinstance(result["messages"][-1], AIMessage)
        assert "22 degrees" in result["messages"][-1].text


@pytest.mark.emulator
@pytest.mark.parametrize("model", ["amazon.nova-lite-v1:0", "amazon.nova-micro-v1:0"])
def test_langgraph_prebuilt_react_agent_with_response_format(recorder: Any, model: str) -> None:
    from langgraph.prebuilt import create_react_agent

    bodies, http, ahttp = recorder
    llm = ChatQuant(
        **_support.live_params(), model=model, http_client=http, async_http_client=ahttp
    )
    with pytest.warns(Warning, match="create_agent"):
        agent = create_react_agent(llm, [get_weather], response_format=Weather)
    # LangGraph asks with_structured_output after the loop: native or a tool, per the profile
    assert agent.invoke(QUESTION)["structured_response"] == Weather(city="Paris", temperature=22)
    native = model == "amazon.nova-lite-v1:0"
    assert ("responseFormat" in bodies.bodies[-1]) is native


# ------------------------------------------------------------------ the wire shapes


def answer(text: str = "ok", tool_use: Any = None) -> dict[str, Any]:
    response: dict[str, Any] = {"role": "assistant", "content": text}
    if tool_use is not None:
        response["toolUse"] = tool_use
    return {
        "response": response,
        "model": "amazon.nova-lite-v1:0",
        "requestId": "req-1",
        "finishReason": "tool_use" if tool_use else "stop",
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
    }


WEATHER_JSON = '{"city": "Paris", "temperature": 22}'
OPENAI = {
    "type": "json_schema",
    "json_schema": {"name": "Weather", "schema": Weather.model_json_schema(), "strict": True},
}
NATIVE = {"type": "json", "jsonSchema": Weather.model_json_schema()}


class WeatherDict(TypedDict):
    """Weather report of a city."""

    city: str
    temperature: int


def chat(make_client: Any, text: str = WEATHER_JSON, **kwargs: Any) -> tuple[ChatQuant, Any]:
    client, transport = make_client(lambda r: httpx.Response(200, json=answer(text)))
    return ChatQuant(client=client, **kwargs), transport


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (OPENAI, NATIVE),
        ({"type": "json_object"}, {"type": "json"}),
        (NATIVE, NATIVE),
        (Weather, NATIVE),
        ({"type": "text"}, None),
        (WeatherDict, {"type": "json", "jsonSchema": convert_to_json_schema(WeatherDict)}),
    ],
)
def test_bind_response_format_shapes(make_client: Any, given: Any, sent: Any) -> None:
    llm, transport = chat(make_client)
    llm.bind(response_format=given).invoke("x")
    assert transport.requests[-1][1].get("responseFormat") == sent


def test_response_format_through_model_kwargs_and_field(make_client: Any) -> None:
    for kwargs in (
        {"model_kwargs": {"response_format": OPENAI}},
        {"model_kwargs": {"responseFormat": {"type": "json_object"}}},
        {"response_format": OPENAI},
    ):
        llm, transport = chat(make_client, **kwargs)
        llm.invoke("x")
        assert transport.requests[-1][1]["responseFormat"]["type"] == "json"
        assert "response_format" not in transport.requests[-1][1]


def test_response_format_refusals_before_sending(make_client: Any) -> None:
    llm, transport = chat(make_client, model_kwargs={"response_format": OPENAI})
    with pytest.raises(QuantValidationError, match="given twice") as info:
        llm.invoke("x", response_format=OPENAI)
    assert info.value.field == "model_kwargs.response_format"
    llm, transport = chat(make_client)
    with pytest.raises(QuantValidationError) as info:
        llm.invoke("x", response_format={"type": "json_schema", "json_schema": {"name": "W"}})
    assert info.value.field == "response_format.json_schema.schema"
    with pytest.raises(QuantValidationError) as info:
        llm.invoke("x", response_format={"type": "xml"})
    assert info.value.field == "response_format.type"
    assert transport.requests == []


async def test_bound_pydantic_class_is_parsed_like_langchain_openai(make_client: Any) -> None:
    llm, _ = chat(make_client)
    message = llm.bind(response_format=Weather).invoke("x")
    assert message.additional_kwargs["parsed"] == Weather(city="Paris", temperature=22)
    message = await llm.bind(response_format=Weather).ainvoke("x")
    assert message.additional_kwargs["parsed"] == Weather(city="Paris", temperature=22)
    assert "parsed" not in llm.bind(response_format=OPENAI).invoke("x").additional_kwargs
    bad, _ = chat(make_client, text='{"city": "Paris"}')
    with pytest.raises(QuantStructuredOutputError, match="temperature"):
        bad.bind(response_format=Weather).invoke("x")


def weather_stream(request: httpx.Request) -> httpx.Response:
    frames = [
        ("start", {"requestId": "req-2", "model": "amazon.nova-lite-v1:0", "streaming": True}),
        ("content", {"delta": '{"city": "Paris", ', "complete": False}),
        ("content", {"delta": '"temperature": 22}', "complete": False}),
        (
            "done",
            {"complete": True, "usage": {"inputTokens": 2, "outputTokens": 2, "totalTokens": 4}},
        ),
    ]
    text = "".join(f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in frames)
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


async def test_bound_pydantic_class_is_parsed_on_the_last_streamed_chunk(make_client: Any) -> None:
    client, transport = make_client(weather_stream)
    llm = ChatQuant(client=client).bind(response_format=Weather)
    chunks = list(llm.stream("x"))
    assert [c.additional_kwargs.get("parsed") for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    assert chunks[-1].additional_kwargs["parsed"] == Weather(city="Paris", temperature=22)
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert total.additional_kwargs["parsed"] == Weather(city="Paris", temperature=22)
    assert total.usage_metadata is not None
    achunks = [c async for c in llm.astream("x")]
    assert achunks[-1].additional_kwargs["parsed"] == Weather(city="Paris", temperature=22)
    assert transport.requests[-1][1]["responseFormat"] == NATIVE
    plain = [c async for c in ChatQuant(client=client).bind(response_format=OPENAI).astream("x")]
    assert all("parsed" not in c.additional_kwargs for c in plain)


@pytest.mark.parametrize(
    ("model", "native"),
    [
        ("amazon.nova-lite-v1:0", True),
        ("anthropic.claude-sonnet-4-5", True),
        ("amazon.nova-micro-v1:0", False),
        ("some.future-model-v9", False),
    ],
)
def test_with_structured_output_default_follows_the_profile(
    make_client: Any, model: str, native: bool
) -> None:
    use = {"toolUseId": "t1", "name": "Weather", "input": {"city": "Paris", "temperature": 22}}
    # the answer carries both the JSON text and the tool call, so either method can parse it
    client, transport = make_client(lambda r: httpx.Response(200, json=answer(WEATHER_JSON, use)))
    llm = ChatQuant(client=client, model=model)
    assert (llm.profile or {}).get("structured_output", False) is native
    assert llm.with_structured_output(Weather).invoke("x") == Weather(city="Paris", temperature=22)
    body = transport.requests[-1][1]
    assert ("responseFormat" in body) is native
    assert ("toolConfig" in body) is not native
    # an explicit method still wins over the profile
    other = "function_calling" if native else "json_schema"
    assert llm.with_structured_output(Weather, method=other).invoke("x") == Weather(
        city="Paris", temperature=22
    )
    body = transport.requests[-1][1]
    assert ("responseFormat" in body) is not native


def test_create_agent_tool_strategy_for_a_model_without_native_output(make_client: Any) -> None:
    use = {"toolUseId": "t1", "name": "Weather", "input": {"city": "Paris", "temperature": 22}}
    client, transport = make_client(lambda r: httpx.Response(200, json=answer("", use)))
    agent = create_agent(
        model=ChatQuant(client=client, model="amazon.nova-micro-v1:0"), response_format=Weather
    )
    assert agent.invoke(QUESTION)["structured_response"] == Weather(city="Paris", temperature=22)
    body = transport.requests[-1][1]
    assert "responseFormat" not in body
    assert "calling" in body["systemPrompt"]  # ToolStrategy forces its tool


# ------------------------------------------------------------------ token estimates


@pytest.fixture
def no_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if LangChain's GPT-2 fallback (transformers) is reached."""
    import langchain_core.language_models.base as base

    def refuse(text: str) -> list[int]:
        raise AssertionError("the transformers fallback was used")

    monkeypatch.setattr(base, "_get_token_ids_default_method", refuse)


CONVERSATION = [
    SystemMessage("You are a helpful assistant."),
    HumanMessage("Tell me about lighthouses."),
    AIMessage("Lighthouses guide ships along dangerous coasts at night."),
    HumanMessage("And who keeps them?"),
    AIMessage("Keepers did, until most of them were automated."),
    HumanMessage("What is the weather in Paris?"),
]


def test_get_num_tokens_is_the_core_estimate(no_tokenizer: None) -> None:
    llm = ChatQuant(api_key="qc_x", organization="acme")
    assert llm.get_num_tokens("Hello, world!") == estimate_tokens("Hello, world!") == 4
    assert llm.get_num_tokens("") == 0
    with pytest.raises(NotImplementedError, match="estimates"):
        llm.get_token_ids("Hello")
    counted = ChatQuant(
        api_key="qc_x", organization="acme", custom_get_token_ids=lambda t: [1] * len(t)
    )
    assert counted.get_num_tokens("Hello") == 5


def test_get_num_tokens_from_messages_counts_tools(no_tokenizer: None) -> None:
    llm = ChatQuant(api_key="qc_x", organization="acme")
    counts = [
        llm.get_num_tokens_from_messages(CONVERSATION[: n + 1]) for n in range(len(CONVERSATION))
    ]
    assert counts == sorted(counts)
    assert len(set(counts)) == len(counts)
    with_tools = llm.get_num_tokens_from_messages(CONVERSATION, tools=[get_weather, Weather])
    assert with_tools >= counts[-1] + estimate_tokens(get_weather.description) + 10
    history = [
        HumanMessage("What is the weather in Paris?"),
        AIMessage("", tool_calls=[{"id": "t1", "name": "get_weather", "args": {"city": "Paris"}}]),
        ToolMessage("It is sunny and 22 degrees in Paris.", tool_call_id="t1"),
    ]
    assert llm.get_num_tokens_from_messages(history, tools=[get_weather]) > with_tools // 10


def test_trim_messages_with_the_model_as_counter(no_tokenizer: None) -> None:
    llm = ChatQuant(api_key="qc_x", organization="acme")
    total = llm.get_num_tokens_from_messages(CONVERSATION)
    trimmed = trim_messages(
        CONVERSATION,
        max_tokens=total - 10,
        token_counter=llm,
        strategy="last",
        include_system=True,
        start_on="human",
    )
    assert trimmed[0] == CONVERSATION[0]
    assert trimmed[-1] == CONVERSATION[-1]
    assert len(trimmed) < len(CONVERSATION)
    assert llm.get_num_tokens_from_messages(trimmed) <= total - 10
    assert trim_messages(CONVERSATION, max_tokens=total, token_counter=llm) == CONVERSATION
    assert llm.get_num_tokens_from_messages([]) == 0
    assert trim_messages(CONVERSATION, max_tokens=5, token_counter=llm, strategy="last") == []


@pytest.mark.emulator
def test_estimate_is_close_to_the_usage_counted(no_tokenizer: None) -> None:
    llm = ChatQuant(**_support.live_params())
    for messages, tools in ((CONVERSATION, []), (CONVERSATION[-1:], [get_weather])):
        model = llm.bind_tools(tools) if tools else llm
        usage = model.invoke(messages).usage_metadata
        assert usage is not None
        estimate = llm.get_num_tokens_from_messages(messages, tools=tools or None)
        assert usage["input_tokens"] <= estimate <= 2 * usage["input_tokens"] + 20
