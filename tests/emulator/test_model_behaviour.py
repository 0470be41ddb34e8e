"""The emulated model behaves like a careful model: right tools, exact arithmetic, forcing,
RAG follow-ups, and refusals of what the catalogue says a model cannot do."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import httpx
import jsonschema
import pydantic
import pytest

from quant_ai.emulator.arith import parse_steps, tool_operation
from quant_ai.emulator.engine import arithmetic_answer, standalone_question
from quant_ai.emulator.schema_fill import sample_for_pattern
from tests.emulator.helpers import MODEL, chat_body, checked


def chat(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/ai/chat", json=body)
    assert r.status_code == 200, r.text
    return checked("chatInference", r)


def _tool(name: str, description: str, props: dict[str, Any] | None = None) -> dict[str, Any]:
    props = props or {"a": {"type": "integer"}, "b": {"type": "integer"}}
    return {
        "toolSpec": {
            "name": name,
            "description": description,
            "inputSchema": {
                "json": {"type": "object", "properties": props, "required": list(props)}
            },
        }
    }


def _uses(body: dict[str, Any]) -> list[dict[str, Any]]:
    tool_use = body["response"].get("toolUse")
    if tool_use is None:
        return []
    return tool_use if isinstance(tool_use, list) else [tool_use]


def _run(
    client: httpx.Client,
    text: str,
    tools: list[dict[str, Any]],
    execute: dict[str, Any],
    *,
    system: str = "",
    rounds: int = 6,
) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """Play an agent loop against the emulator: run each requested tool, send the results."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    calls: list[tuple[str, dict[str, Any]]] = []
    for _ in range(rounds):
        body: dict[str, Any] = {
            "modelId": MODEL,
            "messages": messages,
            "toolConfig": {"tools": tools},
        }
        if system:
            body["systemPrompt"] = system
        answer = chat(client, body)
        uses = _uses(answer)
        if not uses:
            assert answer["finishReason"] == "stop"
            return calls, answer["response"]["content"]
        messages.append({"role": "assistant", "content": [{"toolUse": u} for u in uses]})
        results = []
        for use in uses:
            calls.append((use["name"], use["input"]))
            value = execute[use["name"]](**use["input"])
            results.append(
                {"toolResult": {"toolUseId": use["toolUseId"], "content": [{"text": str(value)}]}}
            )
        messages.append({"role": "user", "content": results})
    raise AssertionError(f"no final answer after {rounds} rounds: {calls}")


ARITH = {
    "multiply": lambda a, b: a * b,
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "sum_two": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
}


def test_chained_steps_use_the_previous_result_one_round_at_a_time(client: httpx.Client) -> None:
    tools = [
        _tool("multiply", "Multiply two integers and return the product."),
        _tool("add", "Add two integers."),
    ]
    calls, answer = _run(client, "Multiply 6 and 7, then add 3 to the result.", tools, ARITH)
    assert calls == [("multiply", {"a": 6, "b": 7}), ("add", {"a": 42, "b": 3})]
    assert answer == "The answer is 45."


def test_independent_steps_keep_their_own_numbers(client: httpx.Client) -> None:
    tools = [_tool("multiply", "Multiply two numbers."), _tool("add", "Add two numbers.")]
    calls, answer = _run(client, "multiply 6 and 7 then add 3 and 4", tools, ARITH)
    assert calls == [("multiply", {"a": 6, "b": 7}), ("add", {"a": 3, "b": 4})]
    assert "multiply returned 42" in answer
    assert "add returned 7" in answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the product of 6 and 7, then the sum of it and 3?", [42, 3]),
        ("6 times 7, then plus 3", [42, 3]),
        ("Multiply 6 by 7 and add 3 to it", [42, 3]),
    ],
)
def test_tools_match_by_meaning_not_by_shared_words(
    client: httpx.Client, text: str, expected: list[int]
) -> None:
    # Neither tool name shares a word with the prompt: "mul"/"sum_two" are matched by meaning.
    tools = [
        _tool("mul", "Returns x*y."),
        _tool("sum_two", "Returns a+b."),
    ]
    calls, answer = _run(client, text, tools, ARITH)
    assert [name for name, _ in calls] == ["mul", "sum_two"]
    assert calls[0][1] == {"a": 6, "b": 7}
    assert list(calls[1][1].values()) == expected
    assert answer == "The answer is 45."


def test_subtraction_keeps_operand_order(client: httpx.Client) -> None:
    tools = [_tool("multiply", "Multiply."), _tool("subtract", "Subtract b from a.")]
    calls, answer = _run(client, "Multiply 6 by 7, then subtract 2 from the result", tools, ARITH)
    assert calls == [("multiply", {"a": 6, "b": 7}), ("subtract", {"a": 42, "b": 2})]
    assert answer == "The answer is 40."


def test_one_tool_at_a_time_when_asked(client: httpx.Client) -> None:
    tools = [_tool("add", "Add."), _tool("multiply", "Multiply.")]
    calls, _answer = _run(
        client,
        "add 2 and 3 and multiply 4 by 5",
        tools,
        ARITH,
        system="Call at most one tool at a time.",
    )
    assert calls == [("add", {"a": 2, "b": 3}), ("multiply", {"a": 4, "b": 5})]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("multiply 6 and 7 then add 3 and 4", "6 * 7 = 42; 3 + 4 = 7."),
        ("Multiply 6 and 7, then add 3 to the result.", "The answer is 45."),
        ("What is 6 times 7?", "The answer is 42."),
        ("Subtract 3 from 10", "The answer is 7."),
        ("What is 1 / 8?", "The answer is 0.125."),
        ("Divide 1 by 0", "I cannot compute that: division by zero."),
    ],
)
def test_arithmetic_without_tools_is_exact(
    client: httpx.Client, question: str, answer: str
) -> None:
    assert chat(client, chat_body(question))["response"]["content"] == answer


def test_ambiguous_arithmetic_claims_no_number(client: httpx.Client) -> None:
    text = chat(client, chat_body("What is the sum of 3 and 4 multiplied by 2?"))
    assert text["response"]["content"].startswith("Emulated answer to")
    assert arithmetic_answer("add 3") is None  # one operand: nothing to add it to


def test_tool_operations_by_name_and_description() -> None:
    two = {"properties": {"x": {"type": "number"}, "y": {"type": "number"}}}
    assert tool_operation("mul", "", two) == "multiply"
    assert tool_operation("combine", "Return the product of x and y.", two) == "multiply"
    assert tool_operation("plus", "", two) == "add"
    assert tool_operation("calculator", "", {"properties": {"q": {"type": "string"}}}) == (
        "calculate"
    )
    assert (
        tool_operation("add_user", "Add a user", {"properties": {"n": {"type": "string"}}}) is None
    )
    assert parse_steps("Hello there") is None


FORECAST = _tool(
    "get_forecast",
    "Get the weather forecast for a city",
    {"city": {"type": "string"}},
)
REPORT = {
    "toolSpec": {
        "name": "WeatherReport",
        "description": "The final weather report.",
        "inputSchema": {
            "json": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "temperature": {"type": "number", "minimum": -90, "maximum": 60},
                    "sky": {"type": "string", "enum": ["sunny", "cloudy", "rainy"]},
                    "alerts": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                },
                "required": ["city", "temperature", "sky", "alerts"],
                "additionalProperties": False,
            }
        },
    }
}
FORCE_ANY = "You must answer by calling one of the available tools; do not answer in plain text."


def test_forced_tool_use_continues_with_the_tool_not_called_yet(client: httpx.Client) -> None:
    """LangChain's ToolStrategy: after the data tool ran, the structured-output tool is called."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather in Paris?"}]
    base = {
        "modelId": MODEL,
        "systemPrompt": FORCE_ANY,
        "toolConfig": {"tools": [FORECAST, REPORT]},
    }
    first = chat(client, {**base, "messages": messages})
    (use,) = _uses(first)
    assert use["name"] == "get_forecast"
    messages += [
        {"role": "assistant", "content": [{"toolUse": use}]},
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": use["toolUseId"],
                        "content": [{"text": "18 degrees and sunny in Paris"}],
                    }
                }
            ],
        },
    ]
    second = chat(client, {**base, "messages": messages})
    assert second["finishReason"] == "tool_use"
    (report,) = _uses(second)
    assert report["name"] == "WeatherReport"
    schema = REPORT["toolSpec"]["inputSchema"]["json"]
    jsonschema.validate(report["input"], schema)
    assert report["input"]["temperature"] == 18
    assert report["input"]["sky"] == "sunny"


@pytest.mark.parametrize(
    "system",
    [
        "You must answer by calling the tool `WeatherReport`; do not answer in plain text.",
        "Answer by calling the tool `WeatherReport`.",
        "Answer by calling one of the available tools; do not answer in text.",
    ],
)
def test_forcing_instructions_of_both_adapters_give_schema_valid_calls(
    client: httpx.Client, system: str
) -> None:
    body = chat(
        client,
        {
            **chat_body("Hi!"),
            "systemPrompt": system,
            "toolConfig": {"tools": [REPORT]},
        },
    )
    (use,) = _uses(body)
    assert use["name"] == "WeatherReport"
    jsonschema.validate(use["input"], REPORT["toolSpec"]["inputSchema"]["json"])


def test_condense_prompt_gets_a_standalone_question(client: httpx.Client) -> None:
    prompt = (
        "Given the following conversation between a user and an AI assistant and a follow up "
        "question from user, rephrase the follow up question to be a standalone question.\n\n"
        "Chat History:\nuser: What is the population of Tokyo?\nassistant: 14 million.\n"
        "user: When was it founded?\nassistant: In 1457.\n"
        "Follow Up Input: And what is its river called?\nStandalone question:"
    )
    body = chat(client, chat_body(prompt))
    assert body["response"]["content"] == "And what is Tokyo's river called?"
    assert standalone_question("What is the capital?", ["Tell me about France"]) == (
        "What is the capital?"
    )


def test_rag_follow_up_answers_from_the_system_context(client: httpx.Client) -> None:
    context = (
        "Here are the relevant documents for the context:\n\n"
        "Tokyo is the capital of Japan. Tokyo was founded as Edo in 1457. "
        "Osaka was founded in the fifth century. The Sumida River flows through Tokyo.\n\n"
        "Instruction: Based on the above documents, provide a detailed answer."
    )
    messages = [
        {"role": "user", "content": "Tell me about Tokyo."},
        {"role": "assistant", "content": "Tokyo is the capital of Japan."},
        {"role": "user", "content": "When was it founded?"},
    ]
    body = chat(client, {"modelId": MODEL, "systemPrompt": context, "messages": messages})
    assert body["response"]["content"] == "Tokyo was founded as Edo in 1457."


def test_structured_output_refused_where_the_catalogue_says_so(client: httpx.Client) -> None:
    fmt = {
        "type": "json",
        "jsonSchema": {"type": "object", "properties": {"a": {"type": "string"}}},
    }
    r = client.post(
        "/ai/chat", json=chat_body("hi", modelId="amazon.nova-micro-v1:0", responseFormat=fmt)
    )
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["responseFormat.jsonSchema"]
    assert "supportsStructuredOutput" in r.json()["message"]
    assert chat(client, chat_body("hi", responseFormat=fmt))["response"]["content"].startswith("{")
    models = client.get("/ai/models/amazon.nova-micro-v1:0").json()
    assert models["capabilities"]["supportsStructuredOutput"] is False


def test_media_refused_by_a_text_only_model(client: httpx.Client) -> None:
    from tests.emulator.helpers import b64, png

    block = {"image": {"format": "png", "source": {"bytes": b64(png(2, 2, (255, 0, 0)))}}}
    body = {
        "modelId": "amazon.nova-micro-v1:0",
        "messages": [{"role": "user", "content": [{"text": "what is this?"}, block]}],
    }
    r = client.post("/ai/chat", json=body)
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["messages.0.content.1.image"]


def test_openai_route_refuses_json_schema_on_nova_micro(oai: httpx.Client) -> None:
    r = oai.post(
        "/chat/completions",
        json={
            "model": "amazon.nova-micro-v1:0",
            "messages": [{"role": "user", "content": "hi"}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                },
            },
        },
    )
    assert r.status_code == 400
    assert "structured output" in r.text


def _rounds(
    client: httpx.Client, text: str, tools: list[dict[str, Any]], execute: dict[str, Any]
) -> tuple[list[list[tuple[str, dict[str, Any]]]], str]:
    """Like :func:`_run`, grouped by round."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    rounds: list[list[tuple[str, dict[str, Any]]]] = []
    for _ in range(6):
        body = {"modelId": MODEL, "messages": messages, "toolConfig": {"tools": tools}}
        answer = chat(client, body)
        uses = _uses(answer)
        if not uses:
            return rounds, answer["response"]["content"]
        rounds.append([(u["name"], u["input"]) for u in uses])
        messages.append({"role": "assistant", "content": [{"toolUse": u} for u in uses]})
        results = [
            {
                "toolResult": {
                    "toolUseId": u["toolUseId"],
                    "content": [{"text": str(execute[u["name"]](**u["input"]))}],
                }
            }
            for u in uses
        ]
        messages.append({"role": "user", "content": results})
    raise AssertionError("no final answer")


def test_an_expression_is_split_into_tool_calls_by_precedence(client: httpx.Client) -> None:
    tools = [_tool("multiply", "Multiply."), _tool("add", "Add.")]
    rounds, answer = _rounds(client, "What is 6 times 7 plus 3?", tools, ARITH)
    assert rounds == [[("multiply", {"a": 6, "b": 7})], [("add", {"a": 42, "b": 3})]]
    assert answer == "The answer is 45."
    rounds, answer = _rounds(client, "What is (1 + 2) * (3 + 4)?", tools, ARITH)
    assert rounds == [
        [("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4})],  # independent: one round
        [("multiply", {"a": 3, "b": 7})],
    ]
    assert answer == "The answer is 21."


def test_a_calculator_tool_gets_the_whole_expression(client: httpx.Client) -> None:
    calculator = _tool("calculator", "Evaluate arithmetic.", {"expression": {"type": "string"}})
    run = {"calculator": lambda expression: eval(expression, {"__builtins__": {}})}  # noqa: S307
    rounds, answer = _rounds(client, "What is (6*7)+3?", [calculator], run)
    assert rounds == [[("calculator", {"expression": "(6*7)+3"})]]
    assert answer == "The answer is 45."
    rounds, answer = _rounds(client, "Multiply 6 by 7, then add 3 to it", [calculator], run)
    assert rounds == [
        [("calculator", {"expression": "6 * 7"})],
        [("calculator", {"expression": "42 + 3"})],
    ]
    assert answer == "The answer is 45."


def test_an_operation_without_a_tool_is_computed_exactly(client: httpx.Client) -> None:
    rounds, answer = _rounds(
        client, "Multiply 6 by 7, then subtract 2 from the result", [_tool("mul", "x*y")], ARITH
    )
    assert rounds == [[("mul", {"a": 6, "b": 7})]]
    assert answer == "The answer is 40."


class _Address(pydantic.BaseModel):
    street: str
    zip: str = pydantic.Field(pattern=r"^\d{5}$")


class _Order(pydantic.BaseModel):
    """An order to place."""

    code: str = pydantic.Field(pattern=r"^[A-Z]{3}-\d{2}$")
    name: str = pydantic.Field(min_length=3, max_length=5)
    count: int = pydantic.Field(ge=10, le=20, multiple_of=5)
    ratio: float = pydantic.Field(gt=0, lt=1)
    mode: Literal["fast", "slow"]
    tags: list[str] = pydantic.Field(min_length=2, max_length=3)
    address: _Address
    backup: _Address | None = None


@pytest.mark.parametrize("text", ["Hi!", "Order 18 of them for Paris, ticker ACM-42, quickly"])
def test_forced_arguments_validate_against_demanding_schemas(
    client: httpx.Client, text: str
) -> None:
    schema = _Order.model_json_schema()
    tool = {"toolSpec": {"name": "place_order", "inputSchema": {"json": schema}}}
    body = chat(
        client,
        {
            **chat_body(text),
            "systemPrompt": "You must answer by calling the tool `place_order`.",
            "toolConfig": {"tools": [tool]},
        },
    )
    uses = _uses(body)
    assert uses
    for use in uses:
        assert use["name"] == "place_order"
        jsonschema.validate(use["input"], schema)
        _Order.model_validate(use["input"])


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[A-Z]{3}-\d{2}$",
        r"^\d{5}$",
        r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
        r"^(foo|bar)+$",
        r"^\w+\s\w+$",
    ],
)
def test_pattern_samples_match(pattern: str) -> None:
    sample = sample_for_pattern(pattern)
    assert sample is not None
    assert re.search(pattern, sample)


def test_openai_tool_choice_required_keeps_calling_after_the_results(oai: httpx.Client) -> None:
    def fn(name: str, description: str, props: dict[str, Any]) -> dict[str, Any]:
        schema = {"type": "object", "properties": props, "required": list(props)}
        return {
            "type": "function",
            "function": {"name": name, "description": description, "parameters": schema},
        }

    tools = [
        fn("get_forecast", "Get the weather forecast for a city", {"city": {"type": "string"}}),
        fn(
            "Report",
            "The final report",
            {"city": {"type": "string"}, "degrees": {"type": "number"}},
        ),
    ]
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Weather in Oslo?"}]
    body = {"model": MODEL, "messages": messages, "tools": tools, "tool_choice": "required"}
    first = oai.post("/chat/completions", json=body).json()["choices"][0]["message"]
    (call,) = first["tool_calls"]
    assert call["function"]["name"] == "get_forecast"
    messages += [
        first,
        {"role": "tool", "tool_call_id": call["id"], "content": "7 degrees, rain"},
    ]
    second = oai.post("/chat/completions", json=body).json()["choices"][0]["message"]
    (report,) = second["tool_calls"]
    assert report["function"]["name"] == "Report"
    assert json.loads(report["function"]["arguments"]) == {"city": "Oslo", "degrees": 7}


def test_context_chat_engine_template_and_names_missing_from_the_context(
    client: httpx.Client,
) -> None:
    system = (
        "Use the context information below to assist the user.\n--------------------\n"
        "Sydney was founded in 1788. Lisbon was founded before Rome.\n--------------------\n"
    )
    messages = [
        {"role": "user", "content": "Tell me about Tokyo."},
        {"role": "assistant", "content": "Tokyo is large."},
        {"role": "user", "content": "When was it founded?"},
    ]
    body = {"modelId": MODEL, "systemPrompt": system, "messages": messages}
    # the context is about other cities: no answer about Sydney passed off as one about Tokyo
    assert chat(client, body)["response"]["content"] == "I don't know based on the given context."
    messages[0]["content"] = "Tell me about Sydney."
    assert chat(client, body)["response"]["content"] == "Sydney was founded in 1788."
