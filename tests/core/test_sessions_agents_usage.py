"""Sessions, agents and usage in the core: limits refused before sending, the budget rule,
totals by model, and the wire shapes (requests contract-checked by ``make_client``)."""

from __future__ import annotations

import json
import pickle
from typing import Any

import httpx
import pytest

from quant_ai import (
    QuantBudgetExceededError,
    QuantNotFoundError,
    QuantValidationError,
    Usage,
    UsageTotals,
    session_turn,
    track_usage,
)
from tests.conftest import MakeClient

SID = "6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b"
AGENT = "87087515-1285-5e52-9abe-c19771666409"


def _never(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"nothing should be sent, got {request.method} {request.url}")


LIMITS: list[tuple[str, Any, str]] = [
    (
        "expiration below 5",
        lambda c: c.sessions.create("u", expiration_minutes=4),
        "expirationMinutes",
    ),
    (
        "expiration above 1440",
        lambda c: c.sessions.create("u", expiration_minutes=1441),
        "expirationMinutes",
    ),
    ("empty user", lambda c: c.sessions.create(""), "userId"),
    (
        "tool role at create",
        lambda c: c.sessions.create("u", initial_messages=[("tool", "x")]),
        "initialMessages.0.role",
    ),
    (
        "system role at update",
        lambda c: c.sessions.update(SID, new_messages=[("system", "x")]),
        "newMessages.0.role",
    ),
    ("bad status", lambda c: c.sessions.update(SID, status="archived"), "status"),
    ("session id not a uuid", lambda c: c.sessions.get("abc"), "sessionId"),
    ("extend 0 minutes", lambda c: c.sessions.extend(SID, 0), "additionalMinutes"),
    ("extend 1441 minutes", lambda c: c.sessions.extend(SID, 1441), "additionalMinutes"),
    ("list limit 101", lambda c: c.sessions.list(limit=101), "limit"),
    (
        "agent iterations 0",
        lambda c: c.agents.chat(AGENT, "hi", max_tool_iterations=0),
        "maxToolIterations",
    ),
    (
        "agent iterations 1001",
        lambda c: c.agents.chat(AGENT, "hi", max_tool_iterations=1001),
        "maxToolIterations",
    ),
    (
        "agent session not a uuid",
        lambda c: c.agents.chat(AGENT, "hi", session_id="s-1"),
        "sessionId",
    ),
    ("agent empty message", lambda c: c.agents.chat(AGENT, "  "), "message"),
    ("agent empty id", lambda c: c.agents.chat("", "hi"), "agentId"),
    ("agent unknown field", lambda c: c.agents.chat(AGENT, "hi", colour="red"), "colour"),
    (
        "create temperature 1.5",
        lambda c: c.agents.create(
            name="a", description="d", system_prompt="p", model_id="m", temperature=1.5
        ),
        "temperature",
    ),
    (
        "create max tokens 0",
        lambda c: c.agents.create(
            name="a", description="d", system_prompt="p", model_id="m", max_tokens=0
        ),
        "maxTokens",
    ),
    (
        "create guardrail",
        lambda c: c.agents.create(
            name="a", description="d", system_prompt="p", model_id="m", guardrail_preset="secret"
        ),
        "guardrailPreset",
    ),
    (
        "create missing prompt",
        lambda c: c.agents.create(name="a", description="d", system_prompt="", model_id="m"),
        "systemPrompt",
    ),
]


@pytest.mark.parametrize(("case", "call", "field"), LIMITS, ids=[c[0] for c in LIMITS])
def test_limits_are_refused_before_sending(
    make_client: MakeClient, case: str, call: Any, field: str
) -> None:
    client, transport = make_client(_never)
    with pytest.raises(QuantValidationError) as info:
        call(client)
    assert info.value.field == field, (case, str(info.value))
    assert field in str(info.value)
    assert transport.requests == []


def test_session_create_and_update_bodies_follow_the_spec(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"sessionId": SID, "status": "active"})
        return httpx.Response(200, json={"sessionId": SID, "totalMessages": 3})

    client, transport = make_client(handler)
    created = client.sessions.create(
        "ada",
        initial_messages=[("system", "be brief"), {"role": "user", "content": "hi"}],
        expiration_minutes=5,
    )
    client.sessions.update(created.session_id, new_messages=[("assistant", "hello")])
    (op1, body1), (op2, body2) = transport.requests
    assert op1 == "createAISession"
    assert body1 == {
        "userId": "ada",
        "expirationMinutes": 5,
        "initialMessages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
    }
    assert op2 == "updateAISession"
    assert body2 == {"newMessages": [{"role": "assistant", "content": "hello"}]}


def test_a_missing_session_says_it_expired_or_was_deleted(make_client: MakeClient) -> None:
    client, _ = make_client(lambda r: httpx.Response(404, json={"message": "Session not found"}))
    with pytest.raises(QuantNotFoundError) as info:
        client.sessions.get(SID)
    assert info.value.status_code == 404
    assert "expired" in str(info.value)
    assert SID in str(info.value)


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


def test_budget_lets_the_reaching_call_return_and_stops_the_next(make_client: MakeClient) -> None:
    answer = {
        "response": {"role": "assistant", "content": "ok"},
        "model": "amazon.nova-lite-v1:0",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2, "costCents": 0.6},
    }
    client, transport = make_client(lambda r: httpx.Response(200, json=answer))
    msgs = [{"role": "user", "content": "hi"}]
    with track_usage(UsageTotals(max_cost_cents=1.0)) as spent:
        client.chat(messages=msgs)  # 0.6
        client.chat(messages=msgs)  # 1.2: reaches the budget, still returns
        with pytest.raises(QuantBudgetExceededError) as info:
            client.chat(messages=msgs)
        with pytest.raises(QuantBudgetExceededError):
            client.embed("not sent either")
    assert len(transport.requests) == 2
    assert spent.cost_cents == pytest.approx(1.2)
    assert info.value.max_cost_cents == 1.0
    assert info.value.spent_cents == pytest.approx(1.2)
    client.chat(messages=msgs)  # outside the block the budget no longer applies
    assert len(transport.requests) == 3


def test_nested_scopes_count_in_both_and_totals_by_model() -> None:
    outer, inner = UsageTotals(), UsageTotals()
    from quant_ai.usage import record_usage

    with track_usage(outer), track_usage(inner):
        record_usage(None, Usage(input_tokens=2, output_tokens=3, cost_cents=0.1), "m1")
    with track_usage(outer):
        record_usage(None, Usage(input_tokens=1, output_tokens=1, cost_cents=0.2), "m2")
    assert inner.requests == 1
    assert outer.requests == 2
    assert outer.total_tokens == 7
    assert outer.by_model["m2"]["cost_cents"] == pytest.approx(0.2)
    copy = pickle.loads(pickle.dumps(outer))
    assert copy.by_model == outer.by_model
    assert copy.cost_cents == outer.cost_cents


def test_negative_budget_is_refused() -> None:
    with pytest.raises(QuantValidationError):
        UsageTotals(max_cost_cents=-1)


@pytest.mark.parametrize(
    ("kwargs", "policy", "expected"),
    [
        (
            {"role": "tool", "text": "42", "tool_name": "f"},
            "text",
            ("user", "[tool result (f)] 42"),
        ),
        (
            {"role": "assistant", "text": "", "tool_calls": [("f", {"x": 1})]},
            "text",
            ("assistant", '[tool call] f({"x": 1})'),
        ),
        (
            {"role": "user", "text": "see", "media": 1},
            "text",
            ("user", "see\n[1 media block(s) not stored]"),
        ),
        ({"role": "system", "text": "rule"}, "text", ("user", "[system] rule")),
        ({"role": "system", "text": "rule", "created": False}, "text", ("system", "rule")),
        ({"role": "tool", "text": "42"}, "skip", None),
    ],
)
def test_session_turn_policy(kwargs: dict[str, Any], policy: str, expected: Any) -> None:
    turn, note = session_turn(policy=policy, **kwargs)
    if expected is None:
        assert turn is None
        assert note
        assert "not stored" in note
    else:
        assert turn is not None
        assert (turn.role, turn.content) == expected
        assert (note is None) == (kwargs.get("created") is False)


def test_session_turn_error_policy_names_the_message() -> None:
    with pytest.raises(QuantValidationError) as info:
        session_turn("tool", "x", index=3, policy="error")
    assert info.value.field == "messages.3"


def test_usage_reports_parse(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/usage/me"):
            return httpx.Response(200, json={"monthly": {"spendCents": 12, "requestCount": 3}})
        return httpx.Response(200, json={"orgTotal": {"spendCents": 40, "requestCount": 9}})

    client, _ = make_client(handler)
    assert client.usage.me().monthly.spend_cents == 12
    assert client.usage.spend().org_total.request_count == 9
    assert json.loads(json.dumps(client.usage.as_dict()))["requests"] == 0


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
