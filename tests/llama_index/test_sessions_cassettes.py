"""The main LlamaIndex conversation, agent and spend flow, replayed from a cassette.

Replay (default) needs no network; ``--record-mode=rewrite`` records it again from the
emulator (or from the real service with ``QUANT_API_KEY``/``QUANT_ORGANIZATION`` set)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.memory import ChatMemoryBuffer

from llama_index_quant import QuantAgent, QuantChatStore, QuantLLM, get_quant_usage_handler
from quant_ai.emulator import QuantEmulator
from tests.llama_index.test_durable import (
    CASSETTES,
    PLACEHOLDER_BASE,
    PLACEHOLDER_ORG,
    REAL_SERVICE,
    _scrub_request,
    _scrub_response,
)

NAME = "test_memory_agent_and_spend.yaml"


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "before_record_request": _scrub_request,
        "before_record_response": _scrub_response,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"],
        "allow_playback_repeats": False,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    if request.config.getoption("--record-mode") == "none":
        yield {"base_url": PLACEHOLDER_BASE, "organization": PLACEHOLDER_ORG, "api_key": "qc_r"}
    elif REAL_SERVICE["api_key"] and REAL_SERVICE["organization"]:
        yield {k: v for k, v in REAL_SERVICE.items() if v}
    else:
        with QuantEmulator() as emu:
            yield {"base_url": emu.base_url, "organization": "acme", "api_key": "qc_emulator"}


@pytest.mark.vcr
def test_memory_agent_and_spend(target: dict[str, Any]) -> None:
    with get_quant_usage_handler() as usage:
        store = QuantChatStore(user_id="ada", **target)
        key = store.create_session()
        memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=key)
        llm = QuantLLM(**target)
        costs: list[float] = []
        for question in ("Hi, I am Ada.", "What is 2 plus 2?", "Thank you!"):
            memory.put(ChatMessage(role=MessageRole.USER, content=question))
            answer = llm.chat(memory.get())
            costs.append(answer.additional_kwargs["cost_cents"])
            memory.put(answer.message)
        stored = QuantChatStore(**target).get_messages(key)
        assert [m.role for m in stored] == [MessageRole.USER, MessageRole.ASSISTANT] * 3
        assert stored[3].content == "The answer is 4."
        support = QuantAgent.from_agent(QuantAgent.list(**target)[0], **target)
        first = support.ask("What is 6 times 7?")
        second = support.ask("What is 1 plus 1?")
        costs += [first.cost_cents or 0.0, second.cost_cents or 0.0]
        assert second.text == "The answer is 2."
        assert second.session_id == first.session_id
    assert usage.total_cost_cents == pytest.approx(sum(costs))
    assert usage.requests == 5


def test_cassette_is_clean() -> None:
    text = (CASSETTES / NAME).read_text(encoding="utf-8")
    assert not re.search(r"(?i)authorization|bearer|qc_emulator|127\.0\.0\.1|/acme/", text)
