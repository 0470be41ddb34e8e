"""Every constraint the spec puts on a request is enforced by the client before sending.

The rows are derived from ``quant_ai/_contract/ai_schemas.json`` (operations chatInference,
embeddings, imageGeneration, submitToolCallback): the schema is walked together with a valid
request holding every optional part, and each constraint met on the way (``enum``,
``minimum``/``maximum``, ``pattern``, ``format`` byte/uuid, ``required``,
``minItems``/``maxItems``, ``minLength``/``maxLength``, ``additionalProperties: false``) gives
one row: the request with that one constraint violated. The client must raise
:class:`QuantValidationError` naming the field, and send nothing (the transport fails the test
when called). A new constraint in the spec adds a row by itself.

Two rows are met by the client rather than refused, and are checked as such: a missing
``modelId`` (the client's default model is sent) and a missing ``toolUse.input`` (``{}`` is
sent). One is a documented exception: unknown top-level chat fields are sent as they are
(``ChatRequest`` forwards wire fields newer than the package, e.g. ChatQuant's
``model_kwargs``); the service (and the emulator) answer 400 for names it does not know.
"""

from __future__ import annotations

import base64
import copy
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema
import pytest

from quant_ai import QuantClient, QuantValidationError
from quant_ai._contract import load_schemas
from tests.conftest import MakeClient

PNG = base64.b64encode(
    base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
    )
).decode()
BLOCKS = [
    {"text": "hello"},
    {"image": {"format": "png", "source": {"bytes": PNG}}},
    {"video": {"format": "mp4", "source": {"bytes": PNG}}},
    {"document": {"format": "pdf", "name": "report", "source": {"bytes": PNG}}},
]
CHAT: dict[str, Any] = {
    "modelId": "amazon.nova-lite-v1:0",
    "messages": [
        {"role": "user", "content": copy.deepcopy(BLOCKS)},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "x"}}}],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "t1",
                        "status": "success",
                        "content": copy.deepcopy(BLOCKS),
                    }
                }
            ],
        },
    ],
    "temperature": 0.5,
    "maxTokens": 100,
    "topP": 0.9,
    "systemPrompt": "Be brief.",
    "stopSequences": ["END"],
    "responseFormat": {"type": "json", "jsonSchema": {"type": "object"}},
    "toolConfig": {
        "tools": [
            {
                "toolSpec": {
                    "name": "lookup",
                    "description": "Look something up",
                    "inputSchema": {"json": {"type": "object"}},
                }
            }
        ]
    },
    "sessionId": "3f1c7a52-2f4b-4c8e-9a1d-1b2c3d4e5f60",
    "guardrails": {"guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled"},
    "longContext": False,
}
EMBEDDINGS: dict[str, Any] = {
    "input": ["a text", "another"],
    "modelId": "amazon.titan-embed-text-v2:0",
    "dimensions": 256,
    "normalize": True,
}
CONFIG = {"width": 512, "height": 512, "quality": "standard", "cfgScale": 6.5, "seed": 7,
          "numberOfImages": 1}  # fmt: skip
IMAGES: list[dict[str, Any]] = [
    {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {
            "text": "a lighthouse",
            "negativeText": "fog",
            "style": "PHOTOREALISM",
            "conditionImage": PNG,
            "controlMode": "CANNY_EDGE",
            "controlStrength": 0.5,
        },
        "imageGenerationConfig": CONFIG,
        "region": "us-east-1",
    },
    {
        "taskType": "COLOR_GUIDED_GENERATION",
        "colorGuidedGenerationParams": {
            "colors": ["#FF0000"],
            "text": "a lighthouse",
            "negativeText": "fog",
            "referenceImage": PNG,
        },
    },
    {
        "taskType": "IMAGE_VARIATION",
        "imageVariationParams": {
            "images": [PNG],
            "text": "a lighthouse",
            "negativeText": "fog",
            "similarityStrength": 0.7,
        },
    },
    {
        "taskType": "INPAINTING",
        "inPaintingParams": {"image": PNG, "maskImage": PNG, "text": "a boat"},
    },
    {
        "taskType": "OUTPAINTING",
        "outPaintingParams": {
            "image": PNG,
            "maskImage": PNG,
            "text": "the sea",
            "outPaintingMode": "PRECISE",
        },
    },
    {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": PNG}},
]
CALLBACK: dict[str, Any] = {
    "callbackId": "cb-1",
    "toolResults": [{"toolUseId": "t1", "result": {"answer": 42}}],
}

SENDERS: dict[str, Callable[[QuantClient, dict[str, Any]], Any]] = {
    "chatInference": lambda c, body: c.chat(body),
    "embeddings": lambda c, body: c.embed(body),
    "imageGeneration": lambda c, body: c.generate_image(body),
    "submitToolCallback": lambda c, body: c.submit_tool_results(
        body.get("callbackId"), body.get("toolResults")
    ),
}
BASES: list[tuple[str, dict[str, Any]]] = [
    ("chatInference", CHAT),
    ("embeddings", EMBEDDINGS),
    *[("imageGeneration", image) for image in IMAGES],
    ("submitToolCallback", CALLBACK),
]
FILLED_BY_THE_CLIENT = {
    ("chatInference", "modelId"),
    ("chatInference", "messages.1.content.0.toolUse.input"),
}
SENT_AS_GIVEN = {("chatInference", "unexpectedField")}
"""Unknown top-level chat fields are forwarded (see the module docstring)."""
NOT_EXPRESSIBLE = {("submitToolCallback", "unexpectedField")}
"""``submit_tool_results(callback_id, results)`` has no way to pass another top-level field."""


@dataclass(frozen=True)
class Row:
    """One violated constraint: where, which keyword, the request, the field to be named."""

    operation: str
    keyword: str
    schema_path: str
    field: str
    body: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.operation}:{self.schema_path}:{self.keyword}"


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 16:
        target: Any = root
        for part in str(schema["$ref"]).lstrip("#/").split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _set(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target: Any = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


def _delete(body: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    target: Any = out
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return out


def _get(body: dict[str, Any], path: list[Any]) -> Any:
    target: Any = body
    for part in path:
        target = target[part]
    return target


def _dotted(path: list[Any]) -> str:
    return ".".join(str(p) for p in path)


def _below(value: float, typ: Any) -> float:
    return value - 1 if typ == "integer" else round(value - 0.05, 6)


def _above(value: float, typ: Any) -> float:
    return value + 1 if typ == "integer" else round(value + 0.05, 6)


def _violations(
    op: str, schema: dict[str, Any], root: dict[str, Any], base: dict[str, Any]
) -> Iterator[Row]:
    def walk(node: Any, spath: str, cpath: list[Any]) -> Iterator[Row]:
        node = _resolve(node, root)
        if not isinstance(node, dict):
            return
        value = _get(base, cpath) if cpath else base
        field = _dotted(cpath)

        def row(keyword: str, body: dict[str, Any], named: str = field) -> Row:
            return Row(op, keyword, spath or "(root)", named, body)

        typ = node.get("type")
        if "enum" in node:
            options = node["enum"]
            bad: Any = (
                max(options) + 44 if all(isinstance(o, int) for o in options) else "not-a-choice"
            )
            yield row("enum", _set(base, cpath, bad))
        if "minimum" in node:
            yield row("minimum", _set(base, cpath, _below(node["minimum"], typ)))
        if "maximum" in node:
            yield row("maximum", _set(base, cpath, _above(node["maximum"], typ)))
        if "pattern" in node:
            yield row("pattern", _set(base, cpath, "#GGGGGG"))
        if node.get("format") == "byte":
            yield row("format:byte", _set(base, cpath, "not base64!"))
        if node.get("format") == "uuid":
            yield row("format:uuid", _set(base, cpath, "not-a-uuid"))
        if "minLength" in node:
            yield row("minLength", _set(base, cpath, "x" * (node["minLength"] - 1)))
        if "maxLength" in node:
            yield row("maxLength", _set(base, cpath, "x" * (node["maxLength"] + 1)))
        if "minItems" in node:
            yield row("minItems", _set(base, cpath, value[: node["minItems"] - 1]))
        if "maxItems" in node:
            yield row("maxItems", _set(base, cpath, [value[0]] * (node["maxItems"] + 1)))
        if isinstance(value, dict):
            for key in node.get("required", []):
                if key in value:
                    # a content block reduced to {}: the block itself is named
                    only = len(value) == 1 and bool(cpath) and isinstance(cpath[-1], int)
                    named = field if only and cpath else _dotted([*cpath, key])
                    body = _delete(base, [*cpath, key]) if cpath else _delete(base, [key])
                    yield row(f"required:{key}", body, named)
            if node.get("additionalProperties") is False:
                path = [*cpath, "unexpectedField"]
                yield row("additionalProperties", _set(base, path, 1), _dotted(path))
        for key in ("oneOf", "anyOf"):
            for n, branch in enumerate(node.get(key, [])):
                resolved = _resolve(branch, root)
                checker = jsonschema.Draft202012Validator({**resolved, **_defs(root)})
                if checker.is_valid(value):
                    yield from walk(resolved, f"{spath}<{key}{n}>", cpath)
                    break
        for key, sub in (node.get("properties") or {}).items():
            if isinstance(value, dict) and key in value:
                yield from walk(sub, f"{spath}.{key}" if spath else key, [*cpath, key])
        items = node.get("items")
        if isinstance(items, dict) and isinstance(value, list):
            for i in range(len(value)):
                yield from walk(items, f"{spath}.N", [*cpath, i])

    yield from walk(schema, "", [])


def _defs(root: dict[str, Any]) -> dict[str, Any]:
    return {k: root[k] for k in ("$defs", "definitions", "components") if k in root}


def _rows() -> list[Row]:
    operations = load_schemas()["operations"]
    rows: dict[tuple[str, str, str], Row] = {}
    for op, base in BASES:
        schema = operations[op]["request"]
        for row in _violations(op, schema, schema, base):
            rows.setdefault((op, row.schema_path, row.keyword), row)
    return list(rows.values())


ROWS = _rows()


def _never_called(request: httpx.Request) -> httpx.Response:
    pytest.fail(f"a request was sent: {request.method} {request.url}")


def test_the_table_covers_every_kind_of_constraint() -> None:
    kinds = {row.keyword.split(":")[0] for row in ROWS}
    assert kinds >= {
        "enum",
        "minimum",
        "maximum",
        "pattern",
        "format",
        "required",
        "additionalProperties",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
    }
    assert {row.operation for row in ROWS} == set(SENDERS)
    byte_fields = {row.field for row in ROWS if row.keyword == "format:byte"}
    assert "messages.0.content.1.image.source.bytes" in byte_fields
    assert "inPaintingParams.maskImage" in byte_fields
    assert len(ROWS) > 100


@pytest.mark.parametrize(("op", "base"), BASES, ids=[b[0] for b in BASES])
def test_the_valid_requests_are_sent(
    make_client: MakeClient, op: str, base: dict[str, Any]
) -> None:
    answers = {
        "chatInference": {"response": {"role": "assistant", "content": "ok"}},
        "embeddings": {"embeddings": [[0.1], [0.2]], "model": "m", "dimension": 1},
        "imageGeneration": {"images": [PNG]},
        "submitToolCallback": {"success": True, "callbackId": "cb-1"},
    }
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json=answers[op])

    client, _ = make_client(handler, check=False)  # requests are still checked against the spec
    SENDERS[op](client, copy.deepcopy(base))
    assert len(sent) == 1


TESTED = [row for row in ROWS if (row.operation, row.field) not in NOT_EXPRESSIBLE]


def test_rows_left_out_cannot_be_expressed() -> None:
    left_out = {(row.operation, row.field) for row in ROWS} & NOT_EXPRESSIBLE
    assert left_out == NOT_EXPRESSIBLE
    params = list(inspect.signature(QuantClient.submit_tool_results).parameters)
    assert params == ["self", "callback_id", "results"]


@pytest.mark.parametrize("row", TESTED, ids=[row.id for row in TESTED])
def test_each_violation_is_refused_before_sending(make_client: MakeClient, row: Row) -> None:
    key = (row.operation, row.field)
    if key in FILLED_BY_THE_CLIENT or key in SENT_AS_GIVEN:
        sent: list[Any] = []

        def handler(request: httpx.Request) -> httpx.Response:
            sent.append(json.loads(request.content))
            return httpx.Response(200, json={"response": {"role": "assistant", "content": "ok"}})

        client, _ = make_client(handler, check=False)
        if key in SENT_AS_GIVEN:
            # The contract check of the test transport refuses it, as the service would.
            with pytest.raises(Exception, match="unexpectedField"):
                SENDERS[row.operation](client, row.body)
            return
        SENDERS[row.operation](client, row.body)
        (body,) = sent
        parent = _get(body, _path(row.field)[:-1])
        assert row.field.rsplit(".", 1)[-1] in parent  # the client filled it
        return
    client, _ = make_client(_never_called)
    with pytest.raises(QuantValidationError) as info:
        SENDERS[row.operation](client, row.body)
    assert info.value.field == row.field, str(info.value)
    assert row.field in str(info.value)


def _path(dotted: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in dotted.split(".")]
