"""``quant_ai._wire``: request models built from models, mappings or keywords; response bodies
read into models, with typed errors."""

from __future__ import annotations

import httpx
import pytest

from quant_ai import QuantAPIError, QuantValidationError
from quant_ai._wire import coerce_request, parse_response
from quant_ai.agents import AgentChatRequest, AgentChatResponse


def test_coerce_from_a_mapping_keywords_or_a_model() -> None:
    built = coerce_request(AgentChatRequest, {"message": "hi"}, {"user_id": "ada"})
    assert built.to_wire() == {"message": "hi", "userId": "ada"}
    again = coerce_request(AgentChatRequest, built, {"system": "brief"})
    assert again.to_wire() == {"message": "hi", "userId": "ada", "system": "brief"}
    assert coerce_request(AgentChatRequest, None, {"message": "x"}).message == "x"


def test_coerce_names_the_field_and_refuses_other_types() -> None:
    with pytest.raises(QuantValidationError) as info:
        coerce_request(AgentChatRequest, {"message": "hi"}, {"colour": "red"})
    assert info.value.field == "colour"
    with pytest.raises(QuantValidationError, match="mapping"):
        coerce_request(AgentChatRequest, ["hi"], {})


def test_parse_reads_a_body_or_raises_with_the_status() -> None:
    ok = httpx.Response(200, json={"sessionId": "s", "response": {"text": "Hi"}})
    assert parse_response(AgentChatResponse, ok).text == "Hi"
    bad = httpx.Response(200, content=b"not json")
    with pytest.raises(QuantAPIError) as info:
        parse_response(AgentChatResponse, bad)
    assert info.value.status_code == 200
    assert info.value.body == "not json"
