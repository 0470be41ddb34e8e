"""``quant_ai.history``: turns, empty content, and tool history as text."""

from __future__ import annotations

from quant_ai import (
    EMPTY_TOOL_RESULT_TEXT,
    EMPTY_TURN_TEXT,
    Message,
    TextBlock,
    Turns,
    has_tool_blocks,
    text_block,
    tool_blocks_as_text,
    tool_result_block,
    tool_use_block,
)

PNG_B64 = "iVBORw0KGgo="


def history() -> list[Message]:
    return [
        Message.model_validate({"role": "user", "content": "add 1 and 2, then draw"}),
        Message.model_validate(
            {
                "role": "assistant",
                "content": [
                    {"text": "Calling tools."},
                    {"toolUse": {"toolUseId": "t1", "name": "add", "input": {"b": 2, "a": 1}}},
                    {"toolUse": {"toolUseId": "t2", "name": "draw", "input": {"what": "été"}}},
                ],
            }
        ),
        Message.model_validate(
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"text": "3"}]}},
                    {
                        "toolResult": {
                            "toolUseId": "t2",
                            "status": "error",
                            "content": [
                                {"text": "too dark"},
                                {"image": {"format": "png", "source": {"bytes": PNG_B64}}},
                            ],
                        }
                    },
                    {"toolResult": {"toolUseId": "t9", "content": []}},
                    {"text": "and now?"},
                ],
            }
        ),
    ]


def test_has_tool_blocks() -> None:
    assert has_tool_blocks(history())
    assert not has_tool_blocks([Message(role="user", content="hi")])
    assert not has_tool_blocks(tool_blocks_as_text(history()))


def test_tool_blocks_become_text_and_media_stay() -> None:
    original = history()
    before = [m.to_wire() for m in original]
    out = [m.to_wire() for m in tool_blocks_as_text(original)]
    assert out[0] == {"role": "user", "content": "add 1 and 2, then draw"}
    assert out[1]["content"] == [
        {"text": "Calling tools."},
        {"text": '[called tool `add` with {"a": 1, "b": 2}]'},
        {"text": '[called tool `draw` with {"what": "été"}]'},
    ]
    assert out[2]["content"] == [
        {"text": "[result of tool `add`]: 3"},
        {"text": "[error from tool `draw`]: too dark"},
        {"image": {"format": "png", "source": {"bytes": PNG_B64}}},
        {"text": "[result of tool `t9`]"},
        {"text": "and now?"},
    ]
    assert [m.to_wire() for m in original] == before  # the input is left alone


# --------------------------------------------------------------------------- turns and empty content


def test_turns_merge_same_roles_and_send_lone_text_as_a_string() -> None:
    turns = Turns()
    turns.add("user", [TextBlock(text="a")])
    turns.add("user", [TextBlock(text="  "), TextBlock(text="b")])
    turns.add("assistant", [TextBlock(text="c")])
    assert [m.to_wire() for m in turns.messages()] == [
        {"role": "user", "content": [{"text": "a"}, {"text": "b"}]},
        {"role": "assistant", "content": "c"},
    ]


def test_an_empty_turn_keeps_its_place_with_the_placeholder() -> None:
    turns = Turns()
    turns.add("user", [])
    turns.add("assistant", [TextBlock(text=" ")])
    turns.add("user", [TextBlock(text="go on")])
    assert [m.to_wire() for m in turns.messages()] == [
        {"role": "user", "content": EMPTY_TURN_TEXT},
        {"role": "assistant", "content": EMPTY_TURN_TEXT},
        {"role": "user", "content": "go on"},
    ]
    assert Turns().messages() == []


def test_tool_results_always_carry_a_status_and_some_content() -> None:
    empty = tool_result_block("t1", [TextBlock(text="")])
    assert empty.to_wire() == {
        "toolResult": {
            "toolUseId": "t1",
            "content": [{"text": EMPTY_TOOL_RESULT_TEXT}],
            "status": "success",
        }
    }
    failed = tool_result_block("t2", [TextBlock(text="boom")], error=True)
    assert failed.tool_result.status == "error"
    assert tool_use_block("t1", "add", {"a": 1}).to_wire() == {
        "toolUse": {"toolUseId": "t1", "name": "add", "input": {"a": 1}}
    }
    assert text_block(" \n") is None
    assert text_block("x") == TextBlock(text="x")
