"""The cassette body matcher ignores only what may differ between runs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.cassette_match import match_json_body


def request(body: object) -> SimpleNamespace:
    return SimpleNamespace(body=json.dumps(body).encode())


def tool(description: str, use_id: str = "a") -> dict[str, object]:
    return {
        "toolConfig": {"tools": [{"toolSpec": {"name": "add", "description": description}}]},
        "messages": [{"role": "assistant", "content": [{"toolUse": {"toolUseId": use_id}}]}],
    }


def test_ignores_key_order_id_spelling_and_description_indentation() -> None:
    indented = "sig(a, b)\nAdd two numbers.\n\n        Args:\n            a: first"
    dedented = "sig(a, b)\nAdd two numbers.\n\nArgs:\n    a: first"
    match_json_body(request(tool(indented, "uuid-1")), request(tool(dedented, "uuid-2")))
    match_json_body(request({"a": 1, "b": 2}), request({"b": 2, "a": 1}))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (tool("Add two numbers."), tool("Multiply two numbers.")),
        (tool("Add.\n  Args: a"), tool("Add. Args: a")),  # line breaks still count
        ({"modelId": "amazon.nova-lite-v1:0"}, {"modelId": "amazon.nova-pro-v1:0"}),
        ({"messages": [1, 2]}, {"messages": [2, 1]}),
    ],
)
def test_catches_real_differences(left: object, right: object) -> None:
    with pytest.raises(AssertionError):
        match_json_body(request(left), request(right))
