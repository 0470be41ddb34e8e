"""``quant_ai.durable``: the one waiter the client and both adapters drive."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import pydantic
import pytest

from quant_ai import (
    RESUME_KWARG,
    DurableOptions,
    ExecutionStatus,
    ExecutionUpdate,
    ExecutionWaiter,
    LocalToolCall,
    PendingTool,
    PollSettings,
    QuantLocalToolMissingError,
    QuantValidationError,
    ToolOutcome,
    callback_result,
    execution_outcome,
    is_durable,
    poll_settings,
)

RUNNING = {"requestId": "r1", "status": "running"}
WAIT_1 = {
    "requestId": "r1",
    "status": "waiting_callback",
    "callbackId": "cb-1",
    "pendingTools": [{"name": "lookup", "toolUseId": "t1", "input": {"q": "a"}}],
}
WAIT_2 = {
    "requestId": "r1",
    "status": "waiting_callback",
    "callbackId": "cb-2",
    "pendingTools": [
        {"name": "lookup", "toolUseId": "t2", "input": {"q": "b"}},
        {"name": "clock", "toolUseId": "t3", "input": {}},
    ],
}
DONE = {
    "requestId": "r1",
    "status": "complete",
    "result": {
        "response": {"role": "assistant", "content": "All done."},
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
    },
}


class Durable:
    """A scripted execution: each GET returns the next status; callbacks are recorded."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses
        self.polls = 0
        self.callbacks: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            self.callbacks.append(body)
            return httpx.Response(
                200,
                json={"success": True, "message": "ok", "callbackId": body["callbackId"]},
            )
        status = self.statuses[min(self.polls, len(self.statuses) - 1)]
        self.polls += 1
        return httpx.Response(200, json=status)


def runner(calls: list[str]) -> Any:
    def run(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        calls.extend(p.name for p in pending)
        return [
            ToolOutcome(is_error=True, text="no clock")
            if p.name == "clock"
            else ToolOutcome(value={"answer": p.input["q"]}, text="ok")
            for p in pending
        ]

    return run


def test_call_options() -> None:
    assert is_durable({}, False) is False
    assert is_durable({"durable": True}, False) is True
    assert is_durable({"durable": False}, True) is False
    assert is_durable({RESUME_KWARG: "r1"}, False) is True
    default = PollSettings(1.0, 30.0, 900.0)
    assert poll_settings({}, default) == default
    assert poll_settings({"durable_poll_initial": 0.5, "durable_timeout": 5}, default) == (
        PollSettings(0.5, 30.0, 5.0)
    )


def test_waiter_reports_each_change_once_runs_tools_and_records_them(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([RUNNING, RUNNING, WAIT_1, WAIT_1, WAIT_2, DONE])
    client, _ = make_client(script)
    updates: list[ExecutionUpdate] = []
    local: list[LocalToolCall] = []
    waiter = ExecutionWaiter(
        client,
        "r1",
        settings=PollSettings(0.5, 1.0, 60.0),
        tool_names={"lookup", "clock"},
        on_update=updates.append,
        on_local_call=local.append,
    )
    queued = waiter.announce_queued("s1")
    assert queued.as_dict()["session_id"] == "s1"
    ran: list[str] = []
    status = waiter.wait(runner(ran))
    assert status.is_complete
    assert [(u.status, u.callback_id) for u in updates] == [
        ("running", None),
        ("waiting_callback", "cb-1"),
        ("waiting_callback", "cb-2"),
        ("complete", None),
    ]
    assert updates[1].pending_tool_calls == ({"name": "lookup", "id": "t1", "args": {"q": "a"}},)
    assert ran == ["lookup", "lookup", "clock"]
    assert [c["callbackId"] for c in script.callbacks] == ["cb-1", "cb-2"]
    assert script.callbacks[1]["toolResults"] == [
        {"toolUseId": "t2", "result": {"answer": "b"}},
        {"toolUseId": "t3", "result": {"error": "no clock"}},
    ]
    assert [c.as_dict() for c in waiter.local_calls] == [c.as_dict() for c in local]
    assert [(c.name, c.callback_id, c.is_error) for c in local] == [
        ("lookup", "cb-1", False),
        ("lookup", "cb-2", False),
        ("clock", "cb-2", True),
    ]
    assert client.sleeps == [0.5, 1.0, 0.5]  # backoff, reset after each answer
    assert client.usage.requests == 1


async def test_async_waiter_awaits_runners_and_reports(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([WAIT_1, DONE])
    client, _ = make_client(script)
    seen: list[str] = []

    async def on_update(update: ExecutionUpdate) -> None:
        seen.append(update.status)

    async def run(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        return [ToolOutcome(value="plain text") for _ in pending]

    waiter = ExecutionWaiter(client, "r1", tool_names=["lookup"], on_update=on_update)
    status = await waiter.await_(run)
    assert status.is_complete
    assert seen == ["waiting_callback", "complete"]
    assert script.callbacks[0]["toolResults"] == [
        {"toolUseId": "t1", "result": {"result": "plain text"}}
    ]


def test_missing_tool_is_refused_before_anything_is_submitted(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([WAIT_2])
    client, _ = make_client(script)
    waiter = ExecutionWaiter(client, "r1", tool_names=["lookup"], how_to_provide="Pass them.")
    with pytest.raises(QuantLocalToolMissingError, match="clock") as info:
        waiter.wait(runner([]))
    assert "Pass them." in str(info.value)
    assert script.callbacks == []


def test_sync_wait_refuses_an_async_runner_and_a_wrong_count(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(Durable([WAIT_1]))

    async def run(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        return []

    with pytest.raises(QuantValidationError, match="async"):
        ExecutionWaiter(client, "r1").wait(run)
    client2, _ = make_client(Durable([WAIT_1]))
    with pytest.raises(QuantValidationError, match="0 outcomes for 1 tools"):
        ExecutionWaiter(client2, "r1").wait(lambda pending: [])


def test_outcomes_and_callback_results() -> None:
    assert ToolOutcome(value={"a": 1}).result() == {"a": 1}
    assert ToolOutcome(value='{"a": 1}').result() == {"a": 1}
    assert ToolOutcome(value=[1, 2]).result() == {"result": [1, 2]}
    assert ToolOutcome(is_error=True, text="boom").result() == {"error": "boom"}
    assert callback_result(object).get("result", "").startswith("<class")


def test_execution_outcome_leaves_local_calls_out() -> None:
    status = ExecutionStatus.model_validate(
        {
            "requestId": "r9",
            "status": "complete",
            "result": {
                "response": {"role": "assistant", "content": "Done."},
                "toolExecutions": [
                    {"toolUseId": "s1", "name": "get_weather"},
                    {"toolUseId": "c1", "name": "lookup"},
                ],
            },
        }
    )
    local = [LocalToolCall(name="lookup", id="c1", args={}, callback_id="cb")]
    outcome = execution_outcome(status, "r1", local)
    assert (outcome.request_id, outcome.text, outcome.usage) == ("r9", "Done.", None)
    assert [(u.name, u.status) for u in outcome.server_tools] == [("get_weather", "complete")]
    assert len(outcome.tool_executions) == 2


def test_durable_options_are_one_pydantic_base() -> None:
    class Model(DurableOptions):
        pass

    model = Model(durable_poll_initial=0.25)
    assert model._is_durable({}) is False
    assert model._is_durable({"durable": True}) is True
    assert model._poll_settings({"durable_timeout": 3}) == PollSettings(0.25, 30.0, 3.0)
    with pytest.raises(pydantic.ValidationError):
        Model(durable_timeout=0)
