"""Conversations, hosted agents and spend from LangChain, live on the local emulator.

Every request goes to the emulator, which validates it against the spec."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory
from langchain_core.tools import tool

from langchain_quant import (
    ChatQuant,
    QuantAgent,
    QuantChatMessageHistory,
    QuantEmbeddings,
    QuantSessionWarning,
    QuantUsageCallbackHandler,
    get_quant_usage_callback,
)
from quant_ai import QuantBudgetExceededError, QuantNotFoundError, QuantValidationError
from quant_ai.emulator import QuantEmulator

pytestmark = [
    pytest.mark.emulator,
    pytest.mark.filterwarnings("ignore:.*RunnableWithMessageHistory.*:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::langchain_core._api.LangChainDeprecationWarning"),
]


@pytest.fixture(scope="module")
def emu() -> Iterator[QuantEmulator]:
    with QuantEmulator(execution_polls_per_state=0) as emulator:
        yield emulator


@pytest.fixture
def conn(emu: QuantEmulator) -> dict[str, Any]:
    return {"api_key": "qc-emulator", "organization": "acme", "base_url": emu.base_url}


@pytest.fixture
def agent_id(conn: dict[str, Any]) -> str:
    return QuantAgent.list(**conn)[0].agent_id


def _chain(conn: dict[str, Any]) -> RunnableWithMessageHistory:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{input}")]
    )
    return RunnableWithMessageHistory(
        prompt | ChatQuant(**conn),
        lambda sid: QuantChatMessageHistory(sid, user_id="ada", **conn),
        input_messages_key="input",
        history_messages_key="history",
    )


QUESTIONS = ["Hi, I am Ada.", "What is 2 plus 2?", "Thank you!"]


def test_three_turn_conversation_is_kept_by_the_service(conn: dict[str, Any]) -> None:
    sid = QuantChatMessageHistory(user_id="ada", **conn).start()
    chain = _chain(conn)
    answers = [
        chain.invoke({"input": q}, config={"configurable": {"session_id": sid}}).content
        for q in QUESTIONS
    ]
    assert answers[1] == "The answer is 4."
    fresh = QuantChatMessageHistory(sid, **conn)  # a new object: read from the service
    stored = fresh.messages
    assert [m.type for m in stored] == ["human", "ai"] * 3
    assert [m.content for m in stored[::2]] == QUESTIONS
    assert [m.content for m in stored[1::2]] == answers
    # A new process sees the same history.
    script = (
        "import json, sys\n"
        "from langchain_quant import QuantChatMessageHistory\n"
        "h = QuantChatMessageHistory(sys.argv[1], api_key='k', organization='acme', "
        "base_url=sys.argv[2])\n"
        "print(json.dumps([m.content for m in h.messages]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sid, conn["base_url"]],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert json.loads(out.stdout) == [m.content for m in stored]


async def test_async_conversation_and_clear_starts_a_new_session(conn: dict[str, Any]) -> None:
    history = QuantChatMessageHistory(user_id="bob", **conn)
    assert await history.aget_messages() == []
    assert history.session_id is None  # created lazily, on the first write
    await history.aadd_messages([SystemMessage("Be kind."), HumanMessage("hello")])
    first = history.session_id
    assert first is not None
    await history.aadd_messages([AIMessage("hi bob")])
    assert [m.type for m in await history.aget_messages()] == ["system", "human", "ai"]
    await history.aclear()
    assert history.session_id is None
    assert await history.aget_messages() == []
    with pytest.raises(QuantNotFoundError, match="expired"):
        await QuantChatMessageHistory(first, **conn).aget_messages()
    history.add_user_message("again")
    assert history.session_id not in (None, first)


def test_an_expired_session_is_a_clear_error(emu: QuantEmulator, conn: dict[str, Any]) -> None:
    sessions = emu.state.org.sessions
    real = sessions.clock
    now = [2_000_000_000.0]
    sessions.clock = lambda: now[0]
    try:
        history = QuantChatMessageHistory(user_id="eve", expiration_minutes=5, **conn)
        history.add_user_message("remember me")
        now[0] += 5 * 60
        with pytest.raises(QuantNotFoundError) as info:
            _ = history.messages
        assert "expired" in str(info.value)
        assert history.session_id in str(info.value)
    finally:
        sessions.clock = real


def test_what_a_session_cannot_keep_is_kept_as_text_with_a_warning(
    conn: dict[str, Any],
) -> None:
    history = QuantChatMessageHistory(user_id="ada", **conn)
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}
    image = {"type": "image", "base64": "iVBORw0KGgo=", "mime_type": "image/png"}
    with pytest.warns(QuantSessionWarning) as caught:
        history.add_messages(
            [
                HumanMessage(content=[{"type": "text", "text": "Look:"}, image]),
                AIMessage(content="", tool_calls=[call]),
                ToolMessage("sunny", tool_call_id="c1", name="get_weather"),
                SystemMessage("late rule"),
            ]
        )
    notes = [w for w in caught if w.category is QuantSessionWarning]
    assert len(notes) == 3  # the system message fits: the session is created with it
    assert [(m.type, m.content) for m in history.messages] == [
        ("human", "Look:\n[1 media block(s) not stored]"),
        ("ai", '[tool call] get_weather({"city": "Paris"})'),
        ("human", "[tool result (get_weather)] sunny"),
        ("system", "late rule"),
    ]
    with pytest.warns(QuantSessionWarning, match="after the session was created"):
        history.add_messages([SystemMessage("later")])
    assert history.messages[-1].content == "[system] later"


def test_skip_and_error_policies(conn: dict[str, Any]) -> None:
    skip = QuantChatMessageHistory(user_id="ada", on_unsupported="skip", **conn)
    with pytest.warns(QuantSessionWarning, match="not stored"):
        skip.add_messages([HumanMessage("q"), ToolMessage("42", tool_call_id="x")])
    assert [m.content for m in skip.messages] == ["q"]
    strict = QuantChatMessageHistory(user_id="ada", on_unsupported="error", **conn)
    with pytest.raises(QuantValidationError) as info:
        strict.add_messages([HumanMessage("q"), ToolMessage("42", tool_call_id="x")])
    assert info.value.field == "messages.1"
    assert strict.session_id is None  # nothing was sent


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"expiration_minutes": 2}, "expirationMinutes"),
        ({"expiration_minutes": 2000}, "expirationMinutes"),
        ({"user_id": ""}, "userId"),
    ],
)
def test_history_arguments_are_checked(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(QuantValidationError) as info:
        QuantChatMessageHistory(**kwargs)
    assert info.value.field == field


def test_history_refuses_a_non_uuid_and_unknown_arguments() -> None:
    with pytest.raises(ValueError, match="UUID"):
        QuantChatMessageHistory("not-a-uuid")
    with pytest.raises(ValueError, match="colour"):
        QuantChatMessageHistory(colour="red")  # type: ignore[call-arg]


def test_a_langgraph_agent_history(conn: dict[str, Any]) -> None:
    from langchain.agents import create_agent

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"It is sunny in {city}."

    graph = create_agent(ChatQuant(**conn), tools=[get_weather])
    history = QuantChatMessageHistory(user_id="ada", **conn)
    question = HumanMessage("What is the weather in Paris?")
    result = graph.invoke({"messages": [*history.messages, question]})
    new = result["messages"]
    assert isinstance(new[-1], AIMessage)
    with pytest.warns(QuantSessionWarning):
        history.add_messages(new)
    stored = QuantChatMessageHistory(history.session_id, **conn).messages
    assert stored[0].content == "What is the weather in Paris?"
    assert any(m.content == "[tool result (get_weather)] It is sunny in Paris." for m in stored)
    assert stored[-1].content == new[-1].content
    # The next turn starts from the stored history.
    follow = graph.invoke({"messages": [*stored, HumanMessage("What is 1 plus 1?")]})
    assert follow["messages"][-1].content == "The answer is 2."


# ------------------------------------------------------------------------------- agents


def test_agent_keeps_its_session_across_calls(conn: dict[str, Any], agent_id: str) -> None:
    agent = QuantAgent(agent_id=agent_id, user_id="ada", **conn)
    first = agent.invoke("What is the weather in Paris?")
    sid = agent.session_id
    assert sid is not None
    assert first.response_metadata["session_id"] == sid
    assert first.response_metadata["cost_cents"] > 0
    assert first.usage_metadata is not None
    assert first.usage_metadata["total_tokens"] > 0
    assert first.response_metadata["tool_results"][0]["name"] == "get_weather"
    second = agent.invoke(HumanMessage("What is 6 times 7?"))
    assert second.content == "The answer is 42."
    assert agent.session_id == sid
    later = QuantAgent(agent_id=agent_id, session_id=sid, **conn)  # e.g. another process
    later.invoke({"question": "Thanks"})
    turns = QuantChatMessageHistory(sid, **conn).messages
    assert [m.content for m in turns[::2]] == [
        "What is the weather in Paris?",
        "What is 6 times 7?",
        "Thanks",
    ]


async def test_agent_async_batch_stream_and_durable(conn: dict[str, Any], agent_id: str) -> None:
    agent = QuantAgent(agent_id=agent_id, **conn)
    one = await agent.ainvoke("What is 1 plus 2?")
    assert one.content == "The answer is 3."
    sid = agent.session_id
    answers = agent.batch(["What is 2 plus 2?", "What is 3 plus 3?"])
    assert [a.content for a in answers] == ["The answer is 4.", "The answer is 6."]
    answers = await agent.abatch(["What is 4 plus 4?"])
    assert answers[0].content == "The answer is 8."
    chunks = list(agent.stream("Hello there"))
    assert "".join(str(c.content) for c in chunks) == 'Emulated answer to "Hello there".'
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].response_metadata["cost_cents"] > 0
    achunks = [c async for c in agent.astream("Bye")]
    assert "".join(str(c.content) for c in achunks) == 'Emulated answer to "Bye".'
    durable = QuantAgent(agent_id=agent_id, session_id=sid, durable=True, **conn)
    done = await durable.ainvoke("What is 5 plus 5?")
    assert done.content == "The answer is 10."
    assert done.response_metadata["request_id"]
    assert durable.invoke("What is 6 plus 6?").content == "The answer is 12."
    assert agent.session_id == sid == durable.session_id
    turns = QuantChatMessageHistory(sid, **conn).messages
    assert len(turns) == 2 * 8  # 1 + 2 + 1 + 2 streamed + 2 durable turns
    assert [m.content for m in turns[1::2]][-2:] == ["The answer is 10.", "The answer is 12."]


def test_independent_calls_without_a_session(conn: dict[str, Any], agent_id: str) -> None:
    agent = QuantAgent(agent_id=agent_id, keep_session=False, **conn)
    answers = agent.batch(["What is 1 plus 1?", "What is 2 plus 1?"])
    sessions = {a.response_metadata["session_id"] for a in answers}
    assert len(sessions) == 2
    assert agent.session_id is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_tool_iterations": 0}, "maxToolIterations"),
        ({"max_tool_iterations": 1001}, "maxToolIterations"),
        ({"session_id": "s-1"}, "session_id"),
    ],
)
def test_agent_arguments_are_checked(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(QuantValidationError) as info:
        QuantAgent(agent_id="a", **kwargs)
    assert info.value.field == field


def test_agent_refuses_several_messages(conn: dict[str, Any], agent_id: str) -> None:
    agent = QuantAgent(agent_id=agent_id, **conn)
    with pytest.raises(QuantValidationError, match="one user message"):
        agent.invoke([HumanMessage("a"), HumanMessage("b")])
    assert agent.session_id is None


def test_agent_as_a_tool_of_a_langchain_agent(conn: dict[str, Any]) -> None:
    from langchain.agents import create_agent

    support = QuantAgent.from_agent(QuantAgent.list(**conn)[0], **conn)
    tool_ = support.as_tool()
    assert tool_.name == "Support_assistant"
    assert set(tool_.args) == {"question"}
    boss = create_agent(ChatQuant(**conn), tools=[tool_])
    result = boss.invoke(
        {"messages": [HumanMessage("Ask the support assistant about the weather in Paris")]}
    )
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1
    assert "get_weather" in str(tool_messages[0].content)
    assert support.session_id is not None  # the delegated turns are kept too
    assert "Based on the tool results" in str(result["messages"][-1].content)


# ------------------------------------------------------------------------------- spend


def test_totals_equal_the_sum_of_the_service_cost(
    emu: QuantEmulator, conn: dict[str, Any], agent_id: str
) -> None:
    ledger = emu.state.org.spend
    before = ledger.total_cents
    llm = ChatQuant(**conn)
    agent = QuantAgent(agent_id=agent_id, **conn)
    costs: list[float] = []
    with get_quant_usage_callback() as cb:
        costs.append(llm.invoke("Tell me about lighthouses").response_metadata["cost_cents"])
        full: Any = None
        for chunk in llm.stream("Tell me about rivers"):
            full = chunk if full is None else full + chunk
        costs.append(full.response_metadata["cost_cents"])
        QuantEmbeddings(**conn).embed_documents(["a", "b"])
        costs.append(agent.invoke("What is 2 plus 2?").response_metadata["cost_cents"])
    assert cb.total_cost_cents == pytest.approx(sum(costs))
    assert cb.total_cost_cents == pytest.approx(ledger.total_cents - before)
    assert cb.requests == 4  # the embeddings call counts (no cost reported)
    assert set(cb.by_model) == {
        "amazon.nova-lite-v1:0",
        "amazon.titan-embed-text-v2:0",
        f"agent:{agent_id}",
    }
    assert cb.by_model["amazon.titan-embed-text-v2:0"]["input_tokens"] > 0
    assert cb.total_tokens == sum(int(m["total_tokens"]) for m in cb.by_model.values())


def test_budget_stops_the_run_at_the_configured_spend(
    emu: QuantEmulator, conn: dict[str, Any]
) -> None:
    llm = ChatQuant(**conn)
    cost = llm.invoke("Same question").response_metadata["cost_cents"]
    sent_before = emu.requests
    with get_quant_usage_callback(max_cost_cents=cost * 1.5) as cb:
        llm.invoke("Same question")  # below the budget
        llm.invoke("Same question")  # reaches it: still answered
        with pytest.raises(QuantBudgetExceededError) as info:
            llm.invoke("Same question")
        with pytest.raises(QuantBudgetExceededError):
            list(llm.stream("Same question"))
    assert emu.requests - sent_before == 2  # the refused calls were never sent
    assert cb.total_cost_cents == pytest.approx(2 * cost)
    assert info.value.max_cost_cents == pytest.approx(cost * 1.5)


def test_handler_as_a_callback_counts_and_stops(
    emu: QuantEmulator, conn: dict[str, Any], agent_id: str
) -> None:
    llm = ChatQuant(**conn)
    agent = QuantAgent(agent_id=agent_id, **conn)
    handler = QuantUsageCallbackHandler(max_cost_cents=1e9)
    config: Any = {"callbacks": [handler]}
    reply = agent.invoke("What is 9 plus 1?", config=config)
    assert handler.total_cost_cents == pytest.approx(reply.response_metadata["cost_cents"])
    answer = llm.invoke("Budget me", config=config)
    assert handler.by_model["amazon.nova-lite-v1:0"]["cost_cents"] == pytest.approx(
        answer.response_metadata["cost_cents"]
    )
    assert handler.requests == 2
    handler.totals.max_cost_cents = handler.total_cost_cents  # reached now
    sent = emu.requests
    with pytest.raises(QuantBudgetExceededError):
        llm.invoke("Budget me", config=config)
    with pytest.raises(QuantBudgetExceededError):
        agent.invoke("again", config=config)
    assert emu.requests == sent


def test_warnings_are_not_raised_for_plain_turns(conn: dict[str, Any]) -> None:
    history = QuantChatMessageHistory(user_id="ada", **conn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history.add_messages([HumanMessage("plain"), AIMessage("text")])
    assert len(history.messages) == 2


async def test_agent_tool_async_in_a_langchain_agent(conn: dict[str, Any]) -> None:
    from langchain.agents import create_agent

    support = QuantAgent.from_agent(QuantAgent.list(**conn)[0], **conn)
    boss = create_agent(ChatQuant(**conn), tools=[support.as_tool(name="helpdesk")])
    result = await boss.ainvoke({"messages": [HumanMessage("Ask the helpdesk what is 7 times 6")]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_messages] == ["helpdesk"]
    assert "42" in str(tool_messages[0].content)


def test_agent_after_a_prompt(emu: QuantEmulator, conn: dict[str, Any], agent_id: str) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "Context: The office opens at 9am. Parking is free on Sundays."),
            ("human", "{question}"),
        ]
    )
    chain = prompt | QuantAgent(agent_id=agent_id, **conn)
    answer = chain.invoke({"question": "When does the office open?"})
    assert answer.content == "The office opens at 9am."  # the system text reached the agent
    stored = QuantChatMessageHistory(answer.response_metadata["session_id"], **conn).messages
    assert stored[0].content == "When does the office open?"
    with pytest.raises(QuantValidationError, match="one user message"):
        QuantAgent(agent_id=agent_id, **conn).invoke([AIMessage("earlier"), HumanMessage("now")])
