"""LlamaIndex agents and chat engines on the emulator behave as with a careful model.

A new user trying ``FunctionAgent`` offline gets the tool calls a real model would make, one
round at a time with earlier results fed into later calls, and condense-plus-context chat
engines answer follow-ups ("when was it founded?") from the retrieved documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from llama_index_quant import QuantEmbedding, QuantLLM
from quant_ai.emulator import QuantEmulator

pytestmark = pytest.mark.emulator


def multiply(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    return a * b


def add(a: int, b: int) -> int:
    """Add two integers and return the sum."""
    return a + b


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        yield emu


def live(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": "qc_emulator"}


async def test_function_agent_chains_two_tool_calls(emulator: QuantEmulator) -> None:
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(multiply), FunctionTool.from_defaults(add)],
        llm=QuantLLM(**live(emulator)),
    )
    handler = agent.run("Multiply 6 and 7, then add 3 to the result.")
    seen: list[tuple[str, dict[str, Any], str]] = []
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            seen.append((event.tool_name, dict(event.tool_kwargs), event.tool_output.content))
    result = await handler
    assert seen == [("multiply", {"a": 6, "b": 7}, "42"), ("add", {"a": 42, "b": 3}, "45")]
    assert "45" in str(result)


async def test_function_agent_without_matching_tool_words(emulator: QuantEmulator) -> None:
    def mul(x: float, y: float) -> float:
        """Return x*y."""
        return x * y

    def total(x: float, y: float) -> float:
        """Return x+y."""
        return x + y

    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(mul), FunctionTool.from_defaults(total)],
        llm=QuantLLM(**live(emulator)),
    )
    result = await agent.run("What is 6 times 7, then plus 3?")
    assert [t.tool_name for t in result.tool_calls] == ["mul", "total"]
    assert "45" in str(result)


CITIES = ["Paris", "London", "Tokyo", "Sydney", "Oslo", "Rome", "Madrid", "Berlin", "Vienna",
          "Prague", "Lisbon", "Dublin", "Athens", "Cairo", "Lima", "Quito", "Seoul", "Hanoi",
          "Delhi", "Dubai", "Doha", "Riga", "Tallinn", "Vilnius", "Warsaw", "Kyiv", "Sofia",
          "Zagreb", "Bern", "Nairobi"]  # fmt: skip


def test_condense_plus_context_follow_ups_over_30_documents(emulator: QuantEmulator) -> None:
    docs = [
        Document(
            text=f"{city} has {i + 1} million inhabitants. {city} was founded in "
            f"{1000 + 13 * i}. The river of {city} is the River {city}."
        )
        for i, city in enumerate(CITIES)
    ]
    index = VectorStoreIndex.from_documents(docs, embed_model=QuantEmbedding(**live(emulator)))
    engine = index.as_chat_engine(chat_mode="condense_plus_context", llm=QuantLLM(**live(emulator)))
    assert str(engine.chat("How many inhabitants does Tokyo have?")) == (
        "Tokyo has 3 million inhabitants."
    )
    assert str(engine.chat("When was it founded?")) == "Tokyo was founded in 1026."
    assert str(engine.chat("And what is its river?")) == "The river of Tokyo is the River Tokyo."
