"""quant_ai.tokens: the documented estimate rule, monotonic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from quant_ai import ChatRequest, ImageBlock, estimate_request_tokens, estimate_tokens
from quant_ai.tokens import (
    MEDIA_BLOCK_TOKENS,
    MESSAGE_OVERHEAD,
    REPLY_OVERHEAD,
    estimate_message_tokens,
)


def request(*texts: str, **extra: object) -> ChatRequest:
    roles = ("user", "assistant")
    messages = [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)]
    return ChatRequest.model_validate({"messages": messages, **extra})


def test_rule_characters_over_four_rounded_up() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abc") == 1
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 400) == 100


def test_request_rule() -> None:
    req = request("abcd" * 10, systemPrompt="abcd" * 5)
    assert (
        estimate_request_tokens(req)
        == REPLY_OVERHEAD + MESSAGE_OVERHEAD + 10 + MESSAGE_OVERHEAD + 5
    )
    image = ImageBlock.from_bytes(b"\x89PNG" * 100, "png")
    with_image = ChatRequest(messages=[{"role": "user", "content": [{"text": "abcd"}, image]}])
    assert estimate_message_tokens(with_image.messages) == MESSAGE_OVERHEAD + 1 + MEDIA_BLOCK_TOKENS


def test_tools_tool_calls_and_schema_count() -> None:
    base = request("What is the weather in Paris?")
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "Weather of a city.",
                    "inputSchema": {
                        "json": {"type": "object", "properties": {"city": {"type": "string"}}}
                    },
                }
            }
        ]
    }
    with_tools = request("What is the weather in Paris?", toolConfig=tools)
    assert estimate_request_tokens(with_tools) > estimate_request_tokens(base) + 10
    schema = request(
        "What is the weather in Paris?",
        responseFormat={
            "type": "json",
            "jsonSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    )
    assert estimate_request_tokens(schema) > estimate_request_tokens(base)
    history = ChatRequest.model_validate(
        {
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "toolUse": {
                                "toolUseId": "t1",
                                "name": "get_weather",
                                "input": {"city": "Paris"},
                            }
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "toolResult": {
                                "toolUseId": "t1",
                                "content": [{"text": "Sunny, 22 degrees."}],
                            }
                        }
                    ],
                },
            ],
            "toolConfig": tools,
        }
    )
    short = ChatRequest.model_validate({"messages": history.messages[:1], "toolConfig": tools})
    assert (
        estimate_request_tokens(history)
        >= estimate_request_tokens(short) + 2 * MESSAGE_OVERHEAD + 8
    )


@given(st.lists(st.text(max_size=200), min_size=1, max_size=6), st.text(max_size=200))
def test_monotonic_in_added_text_and_messages(texts: list[str], more: str) -> None:
    before = estimate_request_tokens(request(*texts))
    longer = [*texts[:-1], texts[-1] + more]
    assert estimate_request_tokens(request(*longer)) >= before
    assert estimate_request_tokens(request(*texts, more)) > before
