"""Conversations, hosted agents and spend from LlamaIndex, live on the local emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.tools import FunctionTool

from llama_index_quant import (
    QuantAgent,
    QuantChatStore,
    QuantEmbedding,
    QuantLLM,
    QuantSessionWarning,
    QuantUsageHandler,
    get_quant_usage_handler,
)
from quant_ai import QuantBudgetExceededError, QuantNotFoundError, QuantValidationError
from quant_ai.emulator import QuantEmulator

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[QuantEmulator]:
    with QuantEmulator(execution_polls_per_state=0) as emulator:
        yield emulator


@pytest.fixture
def live(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": "qc_emulator"}


@pytest.fixture
def support(live: dict[str, Any]) -> QuantAgent:
    return QuantAgent.from_agent(QuantAgent.list(**live)[0], **live)


def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


def test_chat_store_with_a_memory_buffer(live: dict[str, Any]) -> None:
    store = QuantChatStore(user_id="ada", **live)
    key = store.create_session()
    memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=key)
    memory.put(ChatMessage(role=MessageRole.USER, content="Hi, I am Ada."))
    memory.put(ChatMessage(role=MessageRole.ASSISTANT, content="Hello Ada."))
    again = QuantChatStore(**live).get_messages(key)  # a new object reads the service
    assert [(m.role, m.content) for m in again] == [
        (MessageRole.USER, "Hi, I am Ada."),
        (MessageRole.ASSISTANT, "Hello Ada."),
    ]
    assert [m.content for m in memory.get()] == ["Hi, I am Ada.", "Hello Ada."]
    memory.set([*again, ChatMessage(role=MessageRole.USER, content="more")])  # extends
    assert len(store.get_messages(key)) == 3
    assert key in store.get_keys()
    with pytest.raises(NotImplementedError, match="rewritten"):
        store.set_messages(key, [ChatMessage(role=MessageRole.USER, content="other")])
    with pytest.raises(NotImplementedError, match="per-message delete"):
        store.delete_last_message(key)
    with pytest.raises(NotImplementedError, match="per-message delete"):
        store.delete_message(key, 0)
    held = store.delete_messages(key)
    assert held is not None
    assert len(held) == 3
    with pytest.raises(QuantNotFoundError, match="expired"):
        store.get_messages(key)
    assert store.delete_messages(key) is None
    with pytest.raises(QuantValidationError):
        store.get_messages("chat_history")


async def test_function_agent_memory_is_kept_in_a_session(live: dict[str, Any]) -> None:
    store = QuantChatStore(user_id="ada", **live)
    key = await store.acreate_session()
    memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=key)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=QuantLLM(**live))
    with pytest.warns(QuantSessionWarning):
        result = await agent.run(user_msg="multiply 9 and 4", memory=memory)
    assert "36" in str(result)
    stored = await QuantChatStore(**live).aget_messages(key)
    assert stored[0].content == "multiply 9 and 4"
    assert any("[tool call] multiply(" in str(m.content) for m in stored)
    assert any("[tool result" in str(m.content) and "36" in str(m.content) for m in stored)
    assert str(result) in [str(m.content) for m in stored]


def test_store_error_policy_sends_nothing(live: dict[str, Any]) -> None:
    store = QuantChatStore(on_unsupported="error", **live)
    key = store.create_session()
    with pytest.raises(QuantValidationError) as info:
        store.add_message(key, ChatMessage(role=MessageRole.TOOL, content="42"))
    assert info.value.field == "messages.0"
    assert store.get_messages(key) == []


def test_agent_keeps_its_session(support: QuantAgent, live: dict[str, Any]) -> None:
    assert support.name == "Support assistant"
    reply = support.ask("What is 6 times 7?")
    assert reply.text == "The answer is 42."
    assert reply.cost_cents is not None
    assert reply.cost_cents > 0
    sid = support.session_id
    assert support.chat("What is 1 plus 1?") == "The answer is 2."
    assert support.session_id == sid
    assert sid is not None
    assert len(QuantChatStore(**live).get_messages(sid)) == 4


async def test_agent_as_a_query_engine_and_durable(
    support: QuantAgent, live: dict[str, Any]
) -> None:
    engine = support.as_query_engine()
    answer = await engine.aquery("What is 2 plus 5?")
    assert str(answer) == "The answer is 7."
    assert answer.metadata is not None
    assert answer.metadata["cost_cents"] > 0
    assert answer.metadata["session_id"] == support.session_id
    durable = QuantAgent(agent_id=support.agent_id, durable=True, **live)
    assert await durable.achat("What is 3 plus 5?") == "The answer is 8."
    assert durable.session_id is not None


async def test_agent_as_a_tool_of_an_agent_workflow(
    support: QuantAgent, live: dict[str, Any]
) -> None:
    boss = FunctionAgent(
        name="boss",
        description="Delegates to the support assistant.",
        tools=[support.as_tool()],
        llm=QuantLLM(**live),
    )
    result = await AgentWorkflow(agents=[boss], root_agent="boss").run(
        user_msg="Ask the support assistant about the weather in Paris"
    )
    assert [t.tool_name for t in result.tool_calls] == ["Support_assistant"]
    assert "get_weather" in str(result.tool_calls[0].tool_output)
    assert support.session_id is not None


def test_budget_and_totals(emu: QuantEmulator, live: dict[str, Any], support: QuantAgent) -> None:
    llm = QuantLLM(**live)
    message = [ChatMessage(role=MessageRole.USER, content="Same question")]
    cost = llm.chat(message).additional_kwargs["cost_cents"]
    ledger = emu.state.org.spend
    before = ledger.total_cents
    with get_quant_usage_handler() as usage:
        costs = [llm.chat(message).additional_kwargs["cost_cents"]]
        QuantEmbedding(**live).get_text_embedding("hello")
        reply = support.ask("What is 2 plus 2?")
        costs.append(reply.cost_cents)
    assert usage.total_cost_cents == pytest.approx(sum(costs))
    assert usage.total_cost_cents == pytest.approx(ledger.total_cents - before)
    assert set(usage.by_model) == {
        "amazon.nova-lite-v1:0",
        "amazon.titan-embed-text-v2:0",
        f"agent:{support.agent_id}",
    }
    sent = emu.requests
    with get_quant_usage_handler(max_cost_cents=cost * 1.5) as budget:
        llm.chat(message)
        llm.chat(message)  # reaches the budget: still answered
        with pytest.raises(QuantBudgetExceededError):
            llm.chat(message)
        with pytest.raises(QuantBudgetExceededError):
            support.chat("not sent")
    assert emu.requests - sent == 2
    assert budget.total_cost_cents == pytest.approx(2 * cost)


def test_event_handler_counts_llm_answers(live: dict[str, Any]) -> None:
    from llama_index.core.instrumentation import get_dispatcher

    handler = QuantUsageHandler()
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        response = QuantLLM(**live).chat([ChatMessage(role=MessageRole.USER, content="Hi")])
    finally:
        root.event_handlers.remove(handler)
    assert handler.requests == 1
    assert handler.total_cost_cents == pytest.approx(response.additional_kwargs["cost_cents"])


def test_agent_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="maxToolIterations"):
        QuantAgent(agent_id="a", max_tool_iterations=0)
    with pytest.raises(ValueError, match="UUID"):
        QuantAgent(agent_id="a", session_id="s-1")
