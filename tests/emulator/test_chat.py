"""Buffered chat: text answers, RAG, limits, usage, multimodal, tools, JSON output."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pydantic
import pytest

from tests.emulator.helpers import MODEL, b64, chat_body, checked, png

LLAMA_RAG = (
    "Context information is below.\n---------------------\n"
    "file_path: notes.txt\n\nThe Eiffel Tower is 330 metres tall. Paris is the capital of France. "
    "Berlin is the capital of Germany.\n---------------------\n"
    "Given the context information and not prior knowledge, answer the query.\n"
    "Query: How tall is the Eiffel Tower?\nAnswer: "
)


def chat(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/ai/chat", json=body)
    assert r.status_code == 200, r.text
    return checked("chatInference", r)


def test_text_answer_is_deterministic_and_consistent(client: httpx.Client) -> None:
    a = chat(client, chat_body("Tell me about CDNs"))
    b = chat(client, chat_body("Tell me about CDNs"))
    assert a == b
    assert a["response"]["role"] == "assistant"
    assert "Tell me about CDNs" in a["response"]["content"]
    assert a["finishReason"] == "stop"
    assert a["model"] == MODEL
    usage = a["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["inputTokens"] > 0
    assert usage["outputTokens"] > 0
    # nova-lite: 0.06 / 0.24 USD per million tokens
    expected = (usage["inputTokens"] * 0.06 + usage["outputTokens"] * 0.24) / 1e6 * 100
    assert usage["costCents"] == pytest.approx(expected, rel=1e-3)
    other = chat(client, chat_body("Something else entirely"))
    assert other["response"]["content"] != a["response"]["content"]


def test_pricing_depends_on_model(client: httpx.Client) -> None:
    cheap = chat(client, chat_body("price check"))
    dear = chat(client, {**chat_body("price check"), "modelId": "anthropic.claude-sonnet-4-6"})
    assert dear["usage"]["costCents"] > cheap["usage"]["costCents"] * 10


def test_arithmetic_question(client: httpx.Client) -> None:
    assert chat(client, chat_body("What is 6 * 7?"))["response"]["content"] == "The answer is 42."


def test_rag_llamaindex_template(client: httpx.Client) -> None:
    body = chat(client, chat_body(LLAMA_RAG))
    assert body["response"]["content"] == "The Eiffel Tower is 330 metres tall."


def test_rag_langchain_style_and_system_context(client: httpx.Client) -> None:
    text = "Context: Cats sleep a lot. Dogs bark at strangers.\n\nQuestion: Why do dogs bark?"
    assert chat(client, chat_body(text))["response"]["content"] == "Dogs bark at strangers."
    body = {
        **chat_body("Which city is the capital of Germany?"),
        "systemPrompt": "Answer from the context.\nContext: Paris is in France. Berlin is the capital of Germany.",
    }
    assert chat(client, body)["response"]["content"] == "Berlin is the capital of Germany."


def test_rag_skips_headings_and_weighs_rare_words(client: httpx.Client) -> None:
    context = (
        "# How Canberra became the capital\n\n"
        "Canberra was chosen as the site of the capital in 1908.\n"
        "The city was designed by Walter Burley Griffin.\n"
        "Parliament first sat in Canberra in 1927."
    )
    text = f"Context: {context}\n\nQuestion: Who designed Canberra?"
    answer = chat(client, chat_body(text))["response"]["content"]
    assert answer == "The city was designed by Walter Burley Griffin."


def test_rag_llamaindex_context_chat_engine_system_prompt(client: httpx.Client) -> None:
    system = (
        "The following is a friendly conversation between a user and an AI assistant.\n"
        "Here are the relevant documents for the context:\n\n"
        "The reef became a World Heritage Area in 1981. Corals expel algae when water is warm.\n"
        "\nInstruction: Based on the above documents, provide a detailed answer."
    )
    body = {**chat_body("When did the reef become a World Heritage Area?"), "systemPrompt": system}
    assert chat(client, body)["response"]["content"] == (
        "The reef became a World Heritage Area in 1981."
    )


def test_max_tokens_truncates_with_length(client: httpx.Client) -> None:
    full = chat(client, chat_body("Please write a long reply about oceans and ships"))
    cut = chat(
        client, {**chat_body("Please write a long reply about oceans and ships"), "maxTokens": 3}
    )
    assert cut["finishReason"] == "length"
    assert cut["usage"]["outputTokens"] == 3
    assert full["response"]["content"].startswith(cut["response"]["content"])
    assert len(cut["response"]["content"]) < len(full["response"]["content"])


def test_stop_sequences_cut_before_stop_text(client: httpx.Client) -> None:
    body = chat(client, {**chat_body("Tell me about oceans and ships"), "stopSequences": ["ships"]})
    assert body["response"]["content"] == 'Emulated answer to "Tell me about oceans and '
    assert body["finishReason"] == "stop"


def test_system_turn_and_multiturn(client: httpx.Client) -> None:
    body = {
        "modelId": MODEL,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"text": "second question"}]},
        ],
    }
    assert "second question" in chat(client, body)["response"]["content"]


@pytest.mark.parametrize(
    ("model_id", "status"),
    [
        ("anthropic.claude-unknown", 400),
        ("amazon.titan-embed-text-v2:0", 400),
        ("amazon.nova-canvas-v1:0", 400),
    ],
)
def test_chat_with_non_chat_model_is_400(client: httpx.Client, model_id: str, status: int) -> None:
    r = client.post("/ai/chat", json={**chat_body("x"), "modelId": model_id})
    assert r.status_code == status
    assert "modelId" in r.json()["errors"]


def test_every_catalogued_chat_model_answers(client: httpx.Client) -> None:
    models = client.get("/ai/models", params={"feature": "chat"}).json()["models"]
    for m in models:
        assert chat(client, {**chat_body("hi"), "modelId": m["id"]})["model"] == m["id"]


# -- multimodal ------------------------------------------------------------------------------


def test_image_is_described_with_colour(client: httpx.Client) -> None:
    image = png(8, 8, (230, 10, 10))
    content = [
        {"image": {"format": "png", "source": {"bytes": b64(image)}}},
        {"text": "What colour is this image?"},
    ]
    body = chat(client, {"modelId": MODEL, "messages": [{"role": "user", "content": content}]})
    assert body["response"]["content"] == (
        f"I received 1 image (png, {len(image)} bytes). The image is mostly red."
    )


def test_documents_videos_and_several_images(client: httpx.Client) -> None:
    blue, green = png(4, 4, (0, 0, 250)), png(4, 4, (0, 170, 0))
    content = [
        {"image": {"format": "png", "source": {"bytes": b64(blue)}}},
        {"image": {"format": "png", "source": {"bytes": b64(green)}}},
        {
            "document": {
                "format": "pdf",
                "name": "report",
                "source": {"bytes": b64(b"%PDF-1.4 fake")},
            }
        },
        {"video": {"format": "mp4", "source": {"bytes": b64(b"\x00\x00\x00\x18ftypmp42")}}},
        {"text": "What do the images show?"},
    ]
    text = chat(client, {"modelId": MODEL, "messages": [{"role": "user", "content": content}]})[
        "response"
    ]["content"]
    assert f"2 images (png, {len(blue)} bytes; png, {len(green)} bytes)" in text
    assert "1 document (pdf, 13 bytes, named report)" in text
    assert "1 video (mp4, 12 bytes)" in text
    assert "Image 1 is mostly blue, image 2 is mostly green." in text


def test_image_bytes_must_match_format(client: httpx.Client) -> None:
    content = [{"image": {"format": "jpeg", "source": {"bytes": b64(png(2, 2, (0, 0, 0)))}}}]
    r = client.post(
        "/ai/chat", json={"modelId": MODEL, "messages": [{"role": "user", "content": content}]}
    )
    assert r.status_code == 400
    assert "messages.0.content.0.image.source.bytes" in r.json()["errors"]
    content = [{"image": {"format": "png", "source": {"bytes": "not base64!"}}}]
    r = client.post(
        "/ai/chat", json={"modelId": MODEL, "messages": [{"role": "user", "content": content}]}
    )
    assert r.status_code == 400


def test_media_size_limits(client: httpx.Client) -> None:
    """25 MB of decoded media per block and per request, as the API documents."""
    limit = 25 * 1024 * 1024
    one_too_big = [{"video": {"format": "mp4", "source": {"bytes": b64(bytes(limit + 1))}}}]
    r = client.post(
        "/ai/chat", json={"modelId": MODEL, "messages": [{"role": "user", "content": one_too_big}]}
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "messages.0.content.0.video.source.bytes": ["must be at most 25 MB"]
    }
    half = b64(bytes(limit // 2 + 1))
    two_halves = [
        {"document": {"format": "pdf", "name": f"part{i}", "source": {"bytes": half}}}
        for i in (1, 2)
    ]
    r = client.post(
        "/ai/chat", json={"modelId": MODEL, "messages": [{"role": "user", "content": two_halves}]}
    )
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["messages"]
    assert "25 MB" in r.json()["errors"]["messages"][0]


# -- tools -----------------------------------------------------------------------------------

WEATHER = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            }
        },
    }
}


def _arith(name: str) -> dict[str, Any]:
    return {
        "toolSpec": {
            "name": name,
            "description": f"{name.capitalize()} two integers",
            "inputSchema": {
                "json": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                }
            },
        }
    }


TOOLS = {"tools": [WEATHER, _arith("add"), _arith("multiply")]}


def test_single_tool_request(client: httpx.Client) -> None:
    body = chat(
        client, {**chat_body("What's the weather in Paris in fahrenheit?"), "toolConfig": TOOLS}
    )
    assert body["finishReason"] == "tool_use"
    tool = body["response"]["toolUse"]
    assert isinstance(tool, dict)
    assert tool["name"] == "get_weather"
    assert tool["input"] == {"city": "Paris", "unit": "fahrenheit"}
    assert tool["toolUseId"].startswith("tooluse_")


def test_several_tools_at_once(client: httpx.Client) -> None:
    body = chat(
        client, {**chat_body("What is the weather in Paris and in London?"), "toolConfig": TOOLS}
    )
    assert [(t["name"], t["input"]) for t in body["response"]["toolUse"]] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "London"}),
    ]
    body = chat(client, {**chat_body("add 2 and 3 and multiply 4 by 5"), "toolConfig": TOOLS})
    assert [(t["name"], t["input"]) for t in body["response"]["toolUse"]] == [
        ("add", {"a": 2, "b": 3}),
        ("multiply", {"a": 4, "b": 5}),
    ]


def test_unrelated_text_with_tools_answers_in_text(client: httpx.Client) -> None:
    body = chat(client, {**chat_body("Hello there"), "toolConfig": TOOLS})
    assert body["finishReason"] == "stop"
    assert "toolUse" not in body["response"]


def test_nested_schema_arguments(client: httpx.Client) -> None:
    spec = {
        "toolSpec": {
            "name": "book_flight",
            "description": "Book a flight",
            "inputSchema": {
                "json": {
                    "type": "object",
                    "properties": {
                        "route": {
                            "type": "object",
                            "properties": {
                                "origin": {"type": "string"},
                                "destination": {"type": "string"},
                            },
                            "required": ["origin", "destination"],
                        },
                        "passengers": {"type": "integer", "minimum": 1},
                        "window_seat": {"type": "boolean"},
                        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    },
                    "required": ["route", "passengers", "tags"],
                }
            },
        }
    }
    body = chat(
        client,
        {
            **chat_body("Book a flight from Sydney to Tokyo for 2 people with a window seat"),
            "toolConfig": {"tools": [spec]},
        },
    )
    args = body["response"]["toolUse"]["input"]
    assert args["route"] == {"origin": "Sydney", "destination": "Tokyo"}
    assert args["passengers"] == 2
    assert args["window_seat"] is True
    assert isinstance(args["tags"], list)
    assert args["tags"]


def _tool_turns(
    request_text: str, tool_use: list[dict[str, Any]], results: list[str]
) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": request_text},
        {"role": "assistant", "content": [{"toolUse": t} for t in tool_use]},
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": t["toolUseId"], "content": [{"text": r}]}}
                for t, r in zip(tool_use, results, strict=False)
            ],
        },
    ]


def test_tool_result_turn_gives_text_answer(client: httpx.Client) -> None:
    first = chat(client, {**chat_body("What's the weather in Oslo?"), "toolConfig": TOOLS})
    tool = first["response"]["toolUse"]
    messages = _tool_turns("What's the weather in Oslo?", [tool], ["12C and rainy"])
    final = chat(client, {"modelId": MODEL, "messages": messages, "toolConfig": TOOLS})
    assert final["finishReason"] == "stop"
    assert (
        final["response"]["content"]
        == "Based on the tool results: get_weather returned 12C and rainy."
    )


def test_tool_blocks_without_tool_config_are_refused(client: httpx.Client) -> None:
    first = chat(client, {**chat_body("What's the weather in Oslo?"), "toolConfig": TOOLS})
    messages = _tool_turns("What's the weather in Oslo?", [first["response"]["toolUse"]], ["12C"])
    r = client.post("/ai/chat", json={"modelId": MODEL, "messages": messages})
    assert r.status_code == 400
    assert "toolConfig" in r.json()["errors"]
    # built-in tools made available by autoExecute count as a tool configuration
    auto = {"autoExecute": True, "allowedTools": ["get_weather"]}
    ok = client.post("/ai/chat", json={"modelId": MODEL, "messages": messages, "toolConfig": auto})
    assert ok.status_code == 200


def test_two_rounds_with_then(client: httpx.Client) -> None:
    text = "Get the weather in Paris then add 2 and 3"
    first = chat(client, {**chat_body(text), "toolConfig": TOOLS})
    assert first["response"]["toolUse"]["name"] == "get_weather"
    messages = _tool_turns(text, [first["response"]["toolUse"]], ["sunny"])
    second = chat(client, {"modelId": MODEL, "messages": messages, "toolConfig": TOOLS})
    assert second["finishReason"] == "tool_use"
    tool = second["response"]["toolUse"]
    assert (tool["name"], tool["input"]) == ("add", {"a": 2, "b": 3})
    messages += [
        {"role": "assistant", "content": [{"toolUse": tool}]},
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": tool["toolUseId"],
                        "content": [{"text": "5"}],
                        "status": "success",
                    }
                }
            ],
        },
    ]
    third = chat(client, {"modelId": MODEL, "messages": messages, "toolConfig": TOOLS})
    assert third["finishReason"] == "stop"
    assert "get_weather returned sunny" in third["response"]["content"]
    assert "add returned 5" in third["response"]["content"]


def test_auto_execute_server_tools(client: httpx.Client) -> None:
    body = chat(
        client,
        {
            **chat_body("What is the weather in Paris?"),
            "toolConfig": {"autoExecute": True, "allowedTools": ["get_weather"]},
        },
    )
    assert body["finishReason"] == "stop"
    executed = body["response"]["toolUse"]
    assert executed["status"] == "complete"
    assert executed["name"] == "get_weather"
    assert executed["result"]["location"] == "Paris"
    assert executed["result"]["temperature"] in body["response"]["content"]


def test_auto_execute_calculate_is_real_arithmetic(client: httpx.Client) -> None:
    body = chat(
        client,
        {
            **chat_body("calculate 12 * (3 + 4)"),
            "allowedTools": ["calculate"],
            "toolConfig": {"autoExecute": True},
        },
    )
    assert body["response"]["toolUse"]["result"] == {"expression": "12 * (3 + 4)", "result": 84}
    assert body["response"]["content"] == "The answer is 84."


def test_auto_execute_mixed_returns_client_tools(client: httpx.Client) -> None:
    body = chat(
        client,
        {
            **chat_body("search the web for museums and add 2 and 3"),
            "toolConfig": {
                "tools": [_arith("add")],
                "autoExecute": True,
                "allowedTools": ["search_web", "add"],
            },
        },
    )
    assert body["finishReason"] == "tool_use"
    items = body["response"]["toolUse"]
    assert [(i["name"], i.get("status")) for i in items] == [
        ("search_web", "complete"),
        ("add", None),
    ]
    assert items[0]["result"]["query"] == "museums"
    assert items[1]["input"] == {"a": 2, "b": 3}


def test_auto_execute_needs_allow_list(client: httpx.Client) -> None:
    r = client.post(
        "/ai/chat", json={**chat_body("weather in Rome"), "toolConfig": {"autoExecute": True}}
    )
    assert r.status_code == 400
    assert "toolConfig.allowedTools" in r.json()["errors"]


def test_not_allowed_server_tool_goes_to_client(client: httpx.Client) -> None:
    body = chat(
        client,
        {
            **chat_body("weather in Rome"),
            "toolConfig": {"tools": [WEATHER], "autoExecute": True, "allowedTools": ["calculate"]},
        },
    )
    assert body["finishReason"] == "tool_use"
    assert "status" not in body["response"]["toolUse"]


# -- JSON output -----------------------------------------------------------------------------


class Pet(pydantic.BaseModel):
    kind: str
    legs: int


class Person(pydantic.BaseModel):
    name: str
    age: int
    email: str | None = None
    role: str = pydantic.Field(json_schema_extra={"enum": ["admin", "user"]})
    active: bool
    pets: list[Pet]
    scores: list[float] = []


def test_response_format_with_pydantic_schema(client: httpx.Client) -> None:
    schema = Person.model_json_schema()
    assert "$defs" in schema
    body = chat(
        client,
        {
            **chat_body("Anna is 31 years old, an active user with 2 pets"),
            "responseFormat": {"type": "json", "jsonSchema": schema},
        },
    )
    person = Person.model_validate_json(body["response"]["content"])
    assert person.name == "Anna"
    assert person.age == 31
    assert person.role == "user"
    assert person.active


def test_response_format_without_schema_is_json_object(client: httpx.Client) -> None:
    body = chat(client, {**chat_body("Give me JSON"), "responseFormat": {"type": "json"}})
    assert isinstance(json.loads(body["response"]["content"]), dict)


async def test_async_client_chat(aclient: httpx.AsyncClient) -> None:
    r = await aclient.post("/ai/chat", json=chat_body("async hello"))
    assert "async hello" in checked("chatInference", r)["response"]["content"]


def test_builtin_weather_reads_location_or_city() -> None:
    from quant_ai.emulator.engine import execute_builtin

    by_location = execute_builtin("get_weather", {"location": "Paris"})
    assert by_location["location"] == "Paris"
    assert execute_builtin("get_weather", {"city": "Paris"}) == by_location
    assert execute_builtin("get_weather", {})["location"] == "Unknown"


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        (
            "You must answer by calling the tool `get_weather`; do not answer in plain text.",
            "get_weather",
        ),
        (
            "You must answer by calling one of the available tools; do not answer in plain text.",
            "required",
        ),
        ("Do not call any tool in this turn; answer in plain text.", "none"),
        ("You are helpful.", "auto"),
        ("You must answer by calling the tool `unknown_tool`.", "auto"),
    ],
)
def test_tool_instructions_in_the_system_prompt(system: str, expected: str) -> None:
    from quant_ai.emulator.native import tool_choice_from_instructions

    assert tool_choice_from_instructions(system, ["get_weather", "calculate"]) == expected


def test_forced_tool_is_called_even_for_small_talk(client: httpx.Client) -> None:
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "magic_function",
                    "description": "Applies a magic function to an input.",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {"input": {"type": "integer"}},
                            "required": ["input"],
                        }
                    },
                }
            }
        ]
    }
    body = {**chat_body("Hello!"), "toolConfig": tools}
    assert chat(client, body)["finishReason"] == "stop"
    forced = {**body, "systemPrompt": "You must answer by calling the tool `magic_function`."}
    answer = chat(client, forced)
    assert answer["finishReason"] == "tool_use"
    use = answer["response"]["toolUse"]
    assert (use if isinstance(use, dict) else use[0])["name"] == "magic_function"


def test_quoted_phrases_fill_string_arguments() -> None:
    from quant_ai.emulator.schema_fill import Filler

    schema = {
        "type": "object",
        "properties": {"customer_name": {"type": "string"}},
        "required": ["customer_name"],
    }
    text = "Create a customer named '你好啊集团' (Hello Group) - a Chinese technology company"
    assert Filler(text, schema).fill(schema) == {"customer_name": "你好啊集团"}
    assert Filler('Rename it to "Blue Whale"', schema).fill(schema) == {
        "customer_name": "Blue Whale"
    }
