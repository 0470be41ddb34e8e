"""quant_ai._history: tool history rewritten as text for requests that send no tools."""

from __future__ import annotations

from quant_ai import Message
from quant_ai._history import has_tool_blocks, tool_blocks_as_text

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
