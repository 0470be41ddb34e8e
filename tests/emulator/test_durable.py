"""Durable executions: 202, polling progression, callbacks (two rounds), failures, errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from quant_ai.emulator import QuantEmulator
from tests.emulator.conftest import AUTH
from tests.emulator.helpers import chat_body, checked
from tests.emulator.test_chat import TOOLS


def submit(client: httpx.Client, body: dict[str, Any], path: str = "/ai/chat") -> dict[str, Any]:
    r = client.post(path, json={**body, "async": True})
    assert r.status_code == 202, r.text
    return checked("chatInference" if path == "/ai/chat" else "chatInferenceStream", r)


def poll(client: httpx.Client, accepted: dict[str, Any]) -> dict[str, Any]:
    r = client.get(accepted["pollUrl"].lstrip("/"))
    assert r.status_code == 200, r.text
    return checked("getDurableExecutionStatus", r)


def test_accepted_shape_and_encoded_poll_url(client: httpx.Client) -> None:
    accepted = submit(client, chat_body("durable hello"))
    rid = accepted["requestId"]
    assert any(c in rid for c in "+/=")
    assert accepted["pollUrl"] == "/ai/chat/executions/" + quote(rid, safe="")
    assert accepted["status"] == "queued"
    assert accepted["sessionId"]
    assert accepted["message"]


def test_progression_to_complete(client: httpx.Client) -> None:
    accepted = submit(client, chat_body("durable hello"))
    statuses = [poll(client, accepted) for _ in range(4)]
    assert [s["status"] for s in statuses] == ["pending", "running", "complete", "complete"]
    result = statuses[2]["result"]
    assert result["response"] == {
        "role": "assistant",
        "content": 'Emulated answer to "durable hello".',
    }
    assert result["usage"]["costCents"] > 0
    assert result["toolExecutions"] == []
    assert statuses[2]["awsStatus"] == "SUCCEEDED"
    assert statuses[2]["requestId"] == accepted["requestId"]


def test_stream_route_async_and_session(client: httpx.Client) -> None:
    sid = "0b7d5f7e-1d2c-4e8a-9f00-123456789abc"
    accepted = submit(client, {**chat_body("via stream"), "sessionId": sid}, "/ai/chat/stream")
    assert accepted["sessionId"] == sid
    assert [poll(client, accepted)["status"] for _ in range(3)][-1] == "complete"


def _until(client: httpx.Client, accepted: dict[str, Any], status: str) -> dict[str, Any]:
    for _ in range(6):
        current = poll(client, accepted)
        if current["status"] == status:
            return current
    raise AssertionError(f"never reached {status}")


def test_callback_round_trip_and_single_use(client: httpx.Client) -> None:
    accepted = submit(client, {**chat_body("What's the weather in Sydney?"), "toolConfig": TOOLS})
    waiting = _until(client, accepted, "waiting_callback")
    assert waiting["pendingTools"] == [
        {
            "name": "get_weather",
            "toolUseId": waiting["pendingTools"][0]["toolUseId"],
            "input": {"city": "Sydney"},
        }
    ]
    callback = {
        "callbackId": waiting["callbackId"],
        "toolResults": [
            {"toolUseId": waiting["pendingTools"][0]["toolUseId"], "result": {"temperature": "24C"}}
        ],
    }
    r = client.post("/ai/chat/callback", json=callback)
    assert checked("submitToolCallback", r) == {
        "success": True,
        "message": "Callback submitted successfully",
        "callbackId": waiting["callbackId"],
    }
    again = client.post("/ai/chat/callback", json=callback)
    assert again.status_code == 404
    assert again.json()["message"] == "Callback not found or already processed"
    assert poll(client, accepted)["status"] == "running"
    done = poll(client, accepted)
    assert done["status"] == "complete"
    assert (
        done["result"]["response"]["content"]
        == 'Based on the tool results: get_weather returned {"temperature": "24C"}.'
    )


def test_two_callback_rounds(client: httpx.Client) -> None:
    accepted = submit(
        client, {**chat_body("Get the weather in Paris then multiply 6 by 7"), "toolConfig": TOOLS}
    )
    names = []
    for round_no in range(2):
        waiting = _until(client, accepted, "waiting_callback")
        tool = waiting["pendingTools"][0]
        names.append((tool["name"], tool["input"]))
        r = client.post(
            "/ai/chat/callback",
            json={
                "callbackId": waiting["callbackId"],
                "toolResults": [{"toolUseId": tool["toolUseId"], "result": {"value": round_no}}],
            },
        )
        assert r.status_code == 200
    assert names == [("get_weather", {"city": "Paris"}), ("multiply", {"a": 6, "b": 7})]
    done = _until(client, accepted, "complete")
    assert "multiply returned" in done["result"]["response"]["content"]


def test_auto_executed_tools_in_durable_result(client: httpx.Client) -> None:
    accepted = submit(
        client,
        {
            **chat_body("calculate 2 ** 10"),
            "toolConfig": {"autoExecute": True, "allowedTools": ["calculate"]},
        },
    )
    done = _until(client, accepted, "complete")
    assert done["result"]["toolExecutions"][0]["result"]["result"] == 1024


def test_failure_marker(client: httpx.Client) -> None:
    accepted = submit(client, chat_body("please [[fail]] now"))
    failed = _until(client, accepted, "failed")
    assert failed["error"]["ErrorType"] == "EmulatedFailure"
    assert failed["error"]["ErrorMessage"]
    assert failed["awsStatus"] == "FAILED"


def test_unknown_execution_is_404(client: httpx.Client) -> None:
    r = client.get("/ai/chat/executions/" + quote("nope+/=", safe=""))
    assert r.status_code == 404
    assert r.json() == {"message": "Execution not found"}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"toolResults": []}, 400, "callbackId"),
        ({"callbackId": "cb-x"}, 400, "toolResults"),
        ({"callbackId": "", "toolResults": [{"toolUseId": "a", "result": {}}]}, 400, "callbackId"),
        ({"callbackId": "cb-x", "toolResults": []}, 400, "toolResults"),
        (
            {"callbackId": "cb-unknown", "toolResults": [{"toolUseId": "a", "result": {}}]},
            404,
            None,
        ),
    ],
)
def test_callback_errors(
    client: httpx.Client, body: dict[str, Any], status: int, field: str | None
) -> None:
    r = client.post("/ai/chat/callback", json=body)
    assert r.status_code == status
    if field:
        assert field in r.json()["errors"]


def test_callback_must_answer_every_pending_tool(client: httpx.Client) -> None:
    accepted = submit(client, {**chat_body("weather in Paris and in Rome"), "toolConfig": TOOLS})
    waiting = _until(client, accepted, "waiting_callback")
    assert len(waiting["pendingTools"]) == 2
    r = client.post(
        "/ai/chat/callback",
        json={
            "callbackId": waiting["callbackId"],
            "toolResults": [{"toolUseId": waiting["pendingTools"][0]["toolUseId"], "result": {}}],
        },
    )
    assert r.status_code == 400
    assert "toolResults" in r.json()["errors"]
    assert poll(client, accepted)["status"] == "waiting_callback"


def test_invalid_async_body_is_400_up_front(client: httpx.Client) -> None:
    r = client.post("/ai/chat", json={**chat_body("x"), "modelId": "nope", "async": True})
    assert r.status_code == 400
    assert "modelId" in r.json()["errors"]


def test_zero_polls_per_state_and_arn_lookup() -> None:
    with (
        QuantEmulator(execution_polls_per_state=0) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as c,
    ):
        accepted = c.post("/ai/chat", json={**chat_body("fast"), "async": True}).json()
        first = checked("getDurableExecutionStatus", c.get(accepted["pollUrl"].lstrip("/")))
        assert first["status"] == "complete"
        by_arn = c.get("/ai/chat/executions/" + quote(first["executionArn"], safe=""))
        assert by_arn.json()["requestId"] == accepted["requestId"]


async def test_async_polling(aclient: httpx.AsyncClient) -> None:
    r = await aclient.post("/ai/chat", json={**chat_body("async durable"), "async": True})
    accepted = checked("chatInference", r)
    statuses = []
    for _ in range(3):
        statuses.append(
            checked(
                "getDurableExecutionStatus", await aclient.get(accepted["pollUrl"].lstrip("/"))
            )["status"]
        )
    assert statuses == ["pending", "running", "complete"]
