"""Acceptance scenarios against a live local emulator: LCEL streaming, a manual tool loop and
structured output, sync and async."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_quant import ChatQuant, NovaCanvasTool, QuantEmbeddings
from tests.langchain import _support

pytestmark = pytest.mark.emulator


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"It is sunny and 22 degrees in {city}."


class Weather(BaseModel):
    """Weather report of a city."""

    city: str
    temperature: int


def llm() -> ChatQuant:
    return ChatQuant(**_support.live_params())


def chain():  # type: ignore[no-untyped-def]
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are terse."), ("human", "Tell me about {topic} in many words")]
    )
    return prompt | llm() | StrOutputParser()


def test_lcel_chain_streams_token_by_token() -> None:
    pieces = list(chain().stream({"topic": "lighthouses"}))
    assert len([p for p in pieces if p]) > 3
    assert "".join(pieces) == chain().invoke({"topic": "lighthouses"})


async def test_lcel_chain_astreams_token_by_token() -> None:
    pieces = [p async for p in chain().astream({"topic": "lighthouses"})]
    assert len([p for p in pieces if p]) > 3
    assert "".join(pieces) == await chain().ainvoke({"topic": "lighthouses"})


def test_manual_tool_loop() -> None:
    model = llm().bind_tools([get_weather])
    messages: list = [HumanMessage("What is the weather in Paris?")]
    ai = model.invoke(messages)
    assert [c["name"] for c in ai.tool_calls] == ["get_weather"]
    messages.append(ai)
    for call in ai.tool_calls:
        messages.append(get_weather.invoke(call))
    assert isinstance(messages[-1], ToolMessage)
    final = model.invoke(messages)
    assert final.tool_calls == []
    assert "sunny" in final.text


async def test_manual_tool_loop_async_streaming() -> None:
    model = llm().bind_tools([get_weather])
    messages: list = [HumanMessage("What is the weather in Paris?")]
    ai = None
    async for chunk in model.astream(messages):
        ai = chunk if ai is None else ai + chunk
    assert ai is not None
    assert [c["name"] for c in ai.tool_calls] == ["get_weather"]
    messages.append(ai)
    messages.extend([await get_weather.ainvoke(call) for call in ai.tool_calls])
    final = await model.ainvoke(messages)
    assert final.tool_calls == []
    assert "sunny" in final.text


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_structured_output_returns_instance(method: str) -> None:
    result = (
        llm()
        .with_structured_output(Weather, method=method)
        .invoke(  # type: ignore[arg-type]
            "The weather in Oslo is 12 degrees."
        )
    )
    assert isinstance(result, Weather)


async def test_structured_output_returns_instance_async() -> None:
    result = await llm().with_structured_output(Weather).ainvoke("Oslo, 12 degrees")
    assert isinstance(result, Weather)


def test_server_side_tool_is_not_a_client_tool_call() -> None:
    ai = llm().bind_tools(["get_weather"]).invoke("What is the weather in Paris?")
    assert ai.tool_calls == []
    assert any(b.get("type") == "server_tool_call" for b in ai.content if isinstance(b, dict))


def test_shared_client_across_chat_embeddings_and_tool() -> None:
    chat = llm()
    client = chat.quant_client
    emb = QuantEmbeddings(client=client, dimensions=256)
    assert len(emb.embed_query("hello")) == 256
    tool_message = NovaCanvasTool(client=client).invoke(
        {
            "name": "nova_canvas",
            "args": {"prompt": "a cat", "width": 64, "height": 64},
            "id": "1",
            "type": "tool_call",
        }
    )
    assert tool_message.artifact[0].data.startswith(b"\x89PNG")
