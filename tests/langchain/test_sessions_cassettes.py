"""The main conversation, agent and spend flows, replayed from cassettes.

Replay (default) needs no network; ``--record-mode=rewrite`` records them again from the
emulator (or from the real service with ``QUANT_API_KEY``/``QUANT_ORGANIZATION`` set)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from langchain_quant import (
    ChatQuant,
    QuantAgent,
    QuantChatMessageHistory,
    get_quant_usage_callback,
)
from tests.langchain import _support

pytestmark = pytest.mark.filterwarnings("ignore::langchain_core._api.LangChainDeprecationWarning")


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """As the package's cassettes, but each recorded answer plays once, in order (the same
    session is read several times and grows in between)."""
    return {
        "before_record_request": _support.scrub_request,
        "before_record_response": _support.scrub_response,
        "match_on": ["method", "quant_path", "json_body"],
        "allow_playback_repeats": False,
        "decode_compressed_response": True,
    }


@pytest.mark.vcr
def test_three_turn_history_agent_session_and_spend() -> None:
    conn = _support.cassette_params()
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{input}")]
    )
    chain = RunnableWithMessageHistory(
        prompt | ChatQuant(**conn),
        lambda sid: QuantChatMessageHistory(sid, user_id="ada", **conn),
        input_messages_key="input",
        history_messages_key="history",
    )
    costs: list[float] = []
    with get_quant_usage_callback() as cb:
        sid = QuantChatMessageHistory(user_id="ada", **conn).start()
        config: Any = {"configurable": {"session_id": sid}}
        for question in ("Hi, I am Ada.", "What is 2 plus 2?", "Thank you!"):
            costs.append(
                chain.invoke({"input": question}, config=config).response_metadata["cost_cents"]
            )
        stored = QuantChatMessageHistory(sid, **conn).messages
        assert [m.type for m in stored] == ["human", "ai"] * 3
        assert stored[3].content == "The answer is 4."

        support = QuantAgent.from_agent(QuantAgent.list(**conn)[0], user_id="ada", **conn)
        first = support.invoke("What is the weather in Paris?")
        second = support.invoke("What is 6 times 7?")
        costs += [first.response_metadata["cost_cents"], second.response_metadata["cost_cents"]]
        assert second.content == "The answer is 42."
        assert second.response_metadata["session_id"] == first.response_metadata["session_id"]
        assert support.session_id == first.response_metadata["session_id"]
    assert cb.total_cost_cents == pytest.approx(sum(costs))
    assert cb.requests == 5
