"""Agents in the core: answers, usage under the agent, streams answered as JSON, loose
answer shapes (requests contract-checked by ``make_client``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import MakeClient

SID = "6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b"
AGENT = "87087515-1285-5e52-9abe-c19771666409"


def test_agent_answer_records_usage_under_the_agent(make_client: MakeClient) -> None:
    answer = {
        "sessionId": SID,
        "response": {
            "text": "Hi",
            "stopReason": "end_turn",
            "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5, "costCents": 0.25},
        },
    }
    client, transport = make_client(lambda r: httpx.Response(200, json=answer))
    reply = client.agents.chat(AGENT, "hello", user_id="ada", max_tool_iterations=3)
    assert reply.text == "Hi"
    assert reply.session_id == SID
    assert transport.requests == [
        ("chatWithAIAgent", {"message": "hello", "userId": "ada", "maxToolIterations": 3})
    ]
    assert client.usage.cost_cents == 0.25
    assert client.usage.by_model[f"agent:{AGENT}"]["total_tokens"] == 5


def test_agent_stream_json_answer_becomes_events(make_client: MakeClient) -> None:
    from quant_ai import ContentEvent, DoneEvent, SessionEvent

    answer = {"sessionId": SID, "response": {"text": "Hi", "usage": {"costCents": 0.5}}}
    client, transport = make_client(lambda r: httpx.Response(200, json=answer))
    events = list(client.agents.stream(AGENT, "hello"))
    assert transport.requests[0][1] == {"message": "hello", "stream": True}
    assert [type(e) for e in events[1:]] == [SessionEvent, ContentEvent, DoneEvent]
    assert client.usage.cost_cents == 0.5


@pytest.mark.parametrize(
    "body",
    [
        {"success": True, "agent": {"agentId": AGENT, "name": "A"}},
        {"agentId": AGENT, "name": "A"},  # a bare agent object is read too
    ],
)
def test_agent_answers_wrapped_or_bare(make_client: MakeClient, body: dict[str, Any]) -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json=body), check=False)
    agent = client.agents.get(AGENT)
    assert (agent.agent_id, agent.name) == (AGENT, "A")
