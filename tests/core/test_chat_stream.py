"""``quant_ai.chat_stream``: the one stream state machine both adapters feed."""

from __future__ import annotations

import json

import pytest

from quant_ai import (
    ChatStreamAccumulator,
    ContentEvent,
    DoneEvent,
    SessionEvent,
    StartEvent,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolRequestEvent,
    ToolStartEvent,
    ToolUse,
    Usage,
    parse_tool_arguments,
)
from quant_ai._sse import parse_event


def done(**kwargs: object) -> DoneEvent:
    fields: dict[str, object] = {
        "complete": True,
        "finish_reason": None,
        "usage": None,
        "tool_uses": [],
        "content": None,
        "orchestration": None,
    }
    fields.update(kwargs)
    return DoneEvent(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('{"a": 1, "b', {"a": 1}),
        ('{"a": "x', {"a": "x"}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"a": {"b": 1}, ', {"a": {"b": 1}}),
        ("", {}),
        ("[1, 2]", {}),
        ("not json", {}),
    ],
)
def test_parse_tool_arguments_is_tolerant(text: str, expected: dict[str, object]) -> None:
    assert parse_tool_arguments(text) == expected


def test_text_deltas_then_done_metadata() -> None:
    acc = ChatStreamAccumulator()
    assert not acc.add(StartEvent("r1", "m1")).visible
    assert not acc.add(SessionEvent("s1")).visible
    assert acc.add(ContentEvent("Hel")).text == "Hel"
    assert acc.add(ContentEvent("")).visible is False
    acc.add(ContentEvent("lo"))
    last = acc.add(done(usage=Usage(input_tokens=2, output_tokens=1)))
    assert (last.done, last.visible, last.text) == (True, True, "")
    assert (acc.text, acc.request_id, acc.model, acc.session_id) == ("Hello", "r1", "m1", "s1")
    assert acc.finish_reason == "stop"
    assert acc.response().usage == Usage(input_tokens=2, output_tokens=1)


def test_done_content_counts_only_without_deltas() -> None:
    acc = ChatStreamAccumulator()
    assert acc.add(done(content="whole")).text == "whole"
    acc2 = ChatStreamAccumulator()
    acc2.add(ContentEvent("part"))
    assert acc2.add(done(content="whole")).text == ""
    assert acc2.text == "part"


def test_fragments_of_arguments_are_joined_per_call() -> None:
    acc = ChatStreamAccumulator()
    events = [
        parse_event("tool_request", json.dumps({"toolUse": [{"toolUseId": "a", "name": "add", "input": '{"a": 1, '}]})),
        parse_event("tool_request", json.dumps({"toolUse": [{"toolUseId": "b", "name": "mul", "input": '{"a": 3'}]})),
        parse_event("tool_request", json.dumps({"toolUse": [{"toolUseId": "a", "name": "add", "input": '"b": 2}'}]})),
        parse_event("tool_input_progress", json.dumps({"name": "mul", "toolUseId": "b", "delta": ', "b": 4}'})),
    ]  # fmt: skip
    updates = [acc.add(events[0])]  # type: ignore[arg-type]
    assert updates[0].new_tool_calls[0].input == {"a": 1}  # partial, parsed tolerantly
    updates += [acc.add(e) for e in events[1:]]  # type: ignore[arg-type]
    assert [len(u.new_tool_calls) for u in updates] == [1, 1, 0, 0]
    assert all(u.tool_calls_changed for u in updates)
    acc.add(done(complete=False))
    assert [(c.tool_use_id, c.name, c.input) for c in acc.calls()] == [
        ("a", "add", {"a": 1, "b": 2}),
        ("b", "mul", {"a": 3, "b": 4}),
    ]
    assert acc.finish_reason == "tool_use"
    assert [u.name for u in acc.response().tool_calls] == ["add", "mul"]


def test_object_input_in_done_replaces_and_repeats_are_not_new() -> None:
    acc = ChatStreamAccumulator()
    first = acc.add(ToolRequestEvent([ToolUse(tool_use_id="x", name="add", input={"a": 1})]))
    assert [c.tool_use_id for c in first.new_tool_calls] == ["x"]
    last = acc.add(done(tool_uses=[ToolUse(tool_use_id="x", name="add", input={"a": 1, "b": 5})]))
    assert last.new_tool_calls == []
    assert acc.calls()[0].input == {"a": 1, "b": 5}


def test_calls_without_id_get_one_and_are_deduplicated_by_arguments() -> None:
    acc = ChatStreamAccumulator()
    use = ToolUse(name="add", input={"a": 1})
    assert len(acc.add(ToolRequestEvent([use])).new_tool_calls) == 1
    assert acc.add(done(tool_uses=[use])).new_tool_calls == []
    assert [c.tool_use_id for c in acc.calls()] == ["call_add_0"]


def test_progress_without_fragment_changes_nothing() -> None:
    acc = ChatStreamAccumulator()
    assert acc.add(ToolInputProgressEvent("add")).visible is False
    assert acc.calls() == []


def test_server_tools_are_kept_apart_from_client_calls() -> None:
    acc = ChatStreamAccumulator()
    start = acc.add(ToolStartEvent("get_weather", "s1", {"city": "Paris"}))
    assert [(u.kind, u.tool_use_id) for u in start.server_tools] == [("start", "s1")]
    assert not start.visible
    complete = acc.add(ToolCompleteEvent("get_weather", None, {"temp": 20}))
    assert [(u.kind, u.tool_use_id, u.result) for u in complete.server_tools] == [
        ("complete", "s1", {"temp": 20})
    ]
    reported = acc.add(
        done(tool_uses=[ToolUse(tool_use_id="s2", name="search_web", status="complete")])
    )
    assert [(u.kind, u.name) for u in reported.server_tools] == [("reported", "search_web")]
    assert acc.calls() == []
    assert [(u.name, u.status) for u in acc.server_tool_uses()] == [
        ("get_weather", "complete"),
        ("search_web", "complete"),
    ]
    assert acc.response().tool_calls == []


def test_a_known_server_tool_reported_again_without_result_is_not_repeated() -> None:
    acc = ChatStreamAccumulator()
    acc.add(ToolStartEvent("calculate", "c1", {"expression": "1+1"}))
    again = acc.add(
        ToolRequestEvent([ToolUse(tool_use_id="c1", name="calculate", status="running")])
    )
    assert again.server_tools == []
    final = acc.add(ToolRequestEvent([ToolUse(tool_use_id="c1", name="calculate", result=2)]))
    assert [u.result for u in final.server_tools] == [2]
