"""Sessions in the core: the spec limits refused before sending (sessions and agents), wire
bodies, the 404 wording and the session-turn policy (requests contract-checked)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quant_ai import (
    QuantNotFoundError,
    QuantServerError,
    QuantValidationError,
    session_turn,
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


@pytest.mark.parametrize(
    ("call", "sends"),
    [
        (lambda c: c.sessions.create("ada"), 1),  # creates state: a 500 may have created it
        (lambda c: c.sessions.update(SID, new_messages=[("user", "x")]), 1),  # appends
        (lambda c: c.sessions.extend(SID, 5), 1),  # adds minutes
        (lambda c: c.agents.chat(AGENT, "hi"), 1),  # opens a session, costs money
        (lambda c: c.sessions.get(SID), 3),  # a read: retried
    ],
)
def test_state_changing_calls_are_not_replayed_after_a_500(
    make_client: MakeClient, call: Any, sends: int
) -> None:
    client, transport = make_client(
        lambda r: httpx.Response(500, json={"message": "boom"}), max_retries=2
    )
    with pytest.raises(QuantServerError):
        call(client)
    assert len(transport.requests) == sends
