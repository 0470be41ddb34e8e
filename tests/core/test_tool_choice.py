"""``quant_ai.tool_choice``: one way, one wording, to carry out a tool choice."""

from __future__ import annotations

import pytest

from quant_ai import (
    FORBID_TOOLS,
    ONE_TOOL_AT_A_TIME,
    REQUIRE_A_TOOL,
    QuantValidationError,
    ToolChoicePlan,
    parse_tool_choice,
    plan_tool_choice,
    require_tool,
)

TOOLS = ("add", "multiply")


def test_auto_sends_every_tool_without_instruction() -> None:
    for choice in (None, "auto", "AUTO", {"type": "auto"}, {"auto": {}}):
        assert plan_tool_choice(TOOLS, choice) == ToolChoicePlan(TOOLS, None)


def test_none_sends_nothing_and_turns_server_execution_off() -> None:
    for choice in ("none", False, {"type": "none"}, {"none": {}}):
        assert plan_tool_choice(TOOLS, choice) == ToolChoicePlan((), None, server_tools=False)
    assert plan_tool_choice((), "none", history_has_tools=True).server_tools is False


def test_none_with_tool_history_keeps_the_tools_and_forbids_calls() -> None:
    plan = plan_tool_choice(TOOLS, "none", history_has_tools=True, parallel_tool_calls=False)
    assert plan == ToolChoicePlan(TOOLS, FORBID_TOOLS)


@pytest.mark.parametrize(
    "choice", ["any", "required", "Required", True, {"type": "any"}, {"any": {}}]
)
def test_required_in_every_spelling(choice: object) -> None:
    assert plan_tool_choice(TOOLS, choice) == ToolChoicePlan(TOOLS, REQUIRE_A_TOOL)


def test_tool_required_flag_turns_auto_into_required() -> None:
    assert plan_tool_choice(TOOLS, None, tool_required=True).instruction == REQUIRE_A_TOOL
    assert plan_tool_choice((), None, tool_required=True) == ToolChoicePlan((), None)


@pytest.mark.parametrize(
    "choice",
    [
        "multiply",
        {"type": "function", "function": {"name": "multiply"}},
        {"type": "tool", "name": "multiply"},
        {"tool": {"name": "multiply"}},
    ],
)
def test_named_tool_is_the_only_one_sent(choice: object) -> None:
    assert plan_tool_choice(TOOLS, choice) == ToolChoicePlan(
        ("multiply",), require_tool("multiply")
    )
    assert "`multiply`" in require_tool("multiply")


def test_parallel_calls_off_adds_one_sentence_after_the_choice() -> None:
    plan = plan_tool_choice(TOOLS, "required", parallel_tool_calls=False)
    assert plan.instruction == f"{REQUIRE_A_TOOL} {ONE_TOOL_AT_A_TIME}"
    assert plan_tool_choice(TOOLS, None, parallel_tool_calls=False).instruction == (
        ONE_TOOL_AT_A_TIME
    )
    assert plan_tool_choice((), None, parallel_tool_calls=False).instruction is None


def test_unknown_names_and_shapes_are_refused_naming_the_field() -> None:
    with pytest.raises(QuantValidationError, match="'divide' is not one of the tools") as info:
        plan_tool_choice(TOOLS, "divide")
    assert info.value.field == "tool_choice"
    for bad in ({"type": "function"}, 3, ""):
        with pytest.raises(QuantValidationError, match="unsupported tool_choice"):
            parse_tool_choice(bad)
