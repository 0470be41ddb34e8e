"""Cassette request matching shared by the LangChain and LlamaIndex replay tests."""

from __future__ import annotations

import json
from typing import Any


def json_of(body: Any) -> Any:
    """A recorded or live request body as JSON (text that is no JSON stays text)."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


def canonical(value: Any, seen: dict[str, str]) -> Any:
    """The parts of a request body that must match, in a comparable form.

    Tool-use ids are replaced by their order of appearance (``tool_example_to_messages`` and
    similar helpers make random uuids, which would otherwise never match a cassette), and
    the lines of descriptions are stripped: Python 3.13 strips docstring indentation at
    compile time, so tool descriptions taken from docstrings (alone, or after a signature
    line as LlamaIndex writes them) differ by indentation alone.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "toolUseId" and isinstance(item, str):
                out[key] = seen.setdefault(item, f"tool-id-{len(seen)}")
            elif key == "description" and isinstance(item, str):
                out[key] = "\n".join(line.strip() for line in item.splitlines())
            else:
                out[key] = canonical(item, seen)
        return out
    if isinstance(value, list):
        return [canonical(item, seen) for item in value]
    return value


def match_json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher ``json_body``: the same JSON body; key order, tool-use id spelling and
    the indentation of description lines ignored."""
    assert canonical(json_of(r1.body), {}) == canonical(json_of(r2.body), {})
