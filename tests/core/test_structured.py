"""quant_ai.structured: every accepted structured-output shape, the refusals, the parser."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from quant_ai import (
    ChatRequest,
    QuantStructuredOutputError,
    QuantValidationError,
    ResponseFormat,
    extract_json_text,
    parse_structured,
    to_response_format,
)

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


class Weather(BaseModel):
    """Weather report of a city."""

    city: str
    temperature: int


def wire(value: Any) -> dict[str, Any] | None:
    fmt = to_response_format(value)
    return None if fmt is None else fmt.to_wire()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ({"type": "text"}, None),
        ({"type": "json"}, {"type": "json"}),
        ({"type": "json", "jsonSchema": SCHEMA}, {"type": "json", "jsonSchema": SCHEMA}),
        ({"type": "json", "json_schema": SCHEMA}, {"type": "json", "jsonSchema": SCHEMA}),
        ({"jsonSchema": SCHEMA}, {"type": "json", "jsonSchema": SCHEMA}),
        ({"type": "json", "jsonSchema": None}, {"type": "json"}),
        ({"type": "json_object"}, {"type": "json"}),
        (
            {"type": "json_schema", "json_schema": {"name": "W", "schema": SCHEMA}},
            {"type": "json", "jsonSchema": {**SCHEMA, "title": "W"}},
        ),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "W",
                    "schema": {**SCHEMA, "title": "Own"},
                    "strict": True,
                    "description": "A report.",
                },
            },
            {"type": "json", "jsonSchema": {**SCHEMA, "title": "Own", "description": "A report."}},
        ),
        ({"name": "W", "schema": SCHEMA}, {"type": "json", "jsonSchema": {**SCHEMA, "title": "W"}}),
        (SCHEMA, {"type": "json", "jsonSchema": SCHEMA}),
        ({"properties": {"a": {}}}, {"type": "json", "jsonSchema": {"properties": {"a": {}}}}),
        (ResponseFormat(json_schema=SCHEMA), {"type": "json", "jsonSchema": SCHEMA}),
    ],
)
def test_every_accepted_shape(given: Any, expected: dict[str, Any] | None) -> None:
    assert wire(given) == expected


def test_pydantic_class_and_openai_shape_of_langchain_provider_strategy() -> None:
    # exactly what langchain's ProviderStrategy(Weather).to_model_kwargs() binds
    openai = {
        "type": "json_schema",
        "json_schema": {"name": "Weather", "schema": Weather.model_json_schema()},
    }
    assert (
        wire(openai)
        == wire(Weather)
        == {
            "type": "json",
            "jsonSchema": Weather.model_json_schema(),
        }
    )


def test_mapping_does_not_change_its_input() -> None:
    spec = {"name": "W", "schema": dict(SCHEMA)}
    to_response_format({"type": "json_schema", "json_schema": spec})
    assert spec["schema"] == SCHEMA


def test_mapped_format_goes_into_a_chat_request() -> None:
    fmt = to_response_format({"type": "json_object"})
    request = ChatRequest(messages=[{"role": "user", "content": "x"}], response_format=fmt)
    assert request.to_wire()["responseFormat"] == {"type": "json"}


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"type": "xml"}, "response_format.type", "'xml' is not supported"),
        ({"type": "array", "items": {}}, "response_format.type", "'array' is not supported"),
        ({"type": "json_schema"}, "response_format.json_schema", "missing"),
        (
            {"type": "json_schema", "json_schema": {"name": "W"}},
            "response_format.json_schema.schema",
            "missing",
        ),
        ({"type": "json_schema", "json_schema": "W"}, "response_format.json_schema", "mapping"),
        (
            {"type": "json_schema", "json_schema": {"schema": SCHEMA, "strict": "yes"}},
            "response_format.json_schema.strict",
            "true or false",
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": SCHEMA, "name": 3}},
            "response_format.json_schema.name",
            "string",
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": SCHEMA, "format": "x"}},
            "response_format.json_schema.format",
            "unknown key",
        ),
        (
            {"type": "json_schema", "json_schema": {"schema": [1]}},
            "response_format.json_schema.schema",
            "mapping",
        ),
        ({"type": "json", "schema": SCHEMA}, "response_format.schema", "unknown key"),
        ({"type": "json", "jsonSchema": "x"}, "response_format.jsonSchema", "mapping"),
        (
            {"type": "json", "jsonSchema": SCHEMA, "json_schema": SCHEMA},
            "response_format.jsonSchema",
            "not both",
        ),
        ({"type": "json_object", "schema": SCHEMA}, "response_format.schema", "unknown key"),
        ("json", "response_format", "not str"),
        (ResponseFormat(type="xml"), "response_format.type", "'xml' is not supported"),
    ],
)
def test_refusals_name_the_field(given: Any, field: str, words: str) -> None:
    with pytest.raises(QuantValidationError, match=words) as info:
        to_response_format(given)
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_refusal_uses_the_callers_name_for_the_field() -> None:
    with pytest.raises(QuantValidationError) as info:
        to_response_format({"type": "xml"}, field="model_kwargs.response_format")
    assert info.value.field == "model_kwargs.response_format.type"


def test_extract_json_text() -> None:
    assert extract_json_text('```json\n{"a": 1}\n```') == '{"a": 1}'
    assert extract_json_text("```\n[1, 2]\n```") == "[1, 2]"
    assert extract_json_text('Here it is: {"a": 1}') == '{"a": 1}'
    assert extract_json_text(" [1] ") == "[1]"
    assert extract_json_text("no json") == "no json"


def test_parse_structured() -> None:
    text = '```json\n{"city": "Paris", "temperature": 22}\n```'
    assert parse_structured(text) == {"city": "Paris", "temperature": 22}
    assert parse_structured(text, Weather) == Weather(city="Paris", temperature=22)


def test_parse_structured_errors_keep_the_answer() -> None:
    with pytest.raises(QuantStructuredOutputError, match="not JSON") as info:
        parse_structured("It is sunny.")
    assert info.value.text == "It is sunny."
    with pytest.raises(
        QuantStructuredOutputError, match=r"not a valid Weather: temperature"
    ) as info:
        parse_structured('{"city": "Paris"}', Weather)
    assert isinstance(info.value, ValueError)
