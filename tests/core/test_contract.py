"""The spec-derived schemas are current, mark their extensions, and really catch violations."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from quant_ai._contract import (
    OPERATIONS,
    ContractViolation,
    load_schemas,
    operation_for,
    request_errors,
    response_errors,
    validate_request,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "spec" / "openapi.yaml"


def _derive_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "derive_schemas", ROOT / "scripts" / "derive_schemas.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_schemas_match_the_official_spec() -> None:
    import yaml

    assert SPEC.exists(), (
        "the shared spec must sit beside the checkout (../shared/spec/openapi.yaml)"
    )
    derived = _derive_module().derive(yaml.safe_load(SPEC.read_bytes()))
    assert derived == load_schemas()["operations"]
    assert load_schemas()["x-source"]["version"] == "4.19.0"


def test_every_ai_operation_is_covered() -> None:
    ops = load_schemas()["operations"]
    assert set(ops) == set(OPERATIONS)
    assert {op["path"] for op in ops.values()} == {
        "/ai/chat",
        "/ai/chat/stream",
        "/ai/embeddings",
        "/ai/image-generation",
        "/ai/chat/executions/{identifier}",
        "/ai/chat/callback",
        "/ai/models",
        "/ai/models/{modelId}",
        "/ai/sessions",
        "/ai/sessions/{sessionId}",
        "/ai/sessions/{sessionId}/extend",
        "/ai/usage/me",
        "/ai/governance/spend",
        "/ai/usage",
        "/ai/agents",
        "/ai/agents/{agentId}",
        "/ai/agents/{agentId}/chat",
        "/ai/vector-db/collections",
        "/ai/vector-db/collections/{collectionId}",
        "/ai/vector-db/collections/{collectionId}/documents",
        "/ai/vector-db/collections/{collectionId}/query",
        "/ai/tools",
        "/ai/tools/executions/{executionId}",
        "/ai/tools/orchestrations/{orchestrationId}",
    }


def test_no_descriptions_left_but_description_properties_kept() -> None:
    text = json.dumps(load_schemas()["operations"])
    assert '"example"' not in text
    tool_spec = load_schemas()["operations"]["chatInference"]["request"]["properties"][
        "toolConfig"
    ]["properties"]["tools"]["items"]["properties"]["toolSpec"]
    assert set(tool_spec["properties"]) == {"name", "description", "inputSchema"}


def test_exactly_three_marked_extensions() -> None:
    text = json.dumps(load_schemas())
    assert text.count("x-quant-extension") == 3
    metadata = load_schemas()["operations"]["uploadVectorDocuments"]["request"]["properties"][
        "documents"
    ]["items"]["properties"]["metadata"]
    assert metadata["additionalProperties"] is True
    assert "x-quant-extension" in metadata
    assert metadata["properties"]["tags"] == {"items": {"type": "string"}, "type": "array"}
    blocks = load_schemas()["operations"]["chatInference"]["request"]["properties"]["messages"][
        "items"
    ]["properties"]["content"]["oneOf"][1]["items"]["oneOf"]
    assert [sorted(b["properties"])[0] for b in blocks] == [
        "text",
        "image",
        "video",
        "document",
        "toolUse",
        "toolResult",
    ]


@pytest.mark.parametrize(
    ("op", "body", "where"),
    [
        ("chatInference", {"messages": [], "modelId": "m"}, "messages"),
        ("chatInference", {"messages": [{"role": "user", "content": "x"}]}, ""),
        (
            "chatInference",
            {"messages": [{"role": "user", "content": "x"}], "modelId": "m", "max_tokens": 1},
            "",
        ),
        (
            "chatInference",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "bmp", "source": {"bytes": "AA=="}}}],
                    }
                ],
                "modelId": "m",
            },
            "messages.0.content.0",
        ),
        (
            "chatInference",
            {"messages": [{"role": "user", "content": "x"}], "modelId": "m", "sessionId": "abc"},
            "sessionId",
        ),
        (
            "chatInferenceStream",
            {"messages": [{"role": "user", "content": "x"}], "modelId": "m", "stream": True},
            "",
        ),
        ("embeddings", {"input": "x", "dimensions": 300}, "dimensions"),
        (
            "imageGeneration",
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": ""}},
            "textToImageParams.text",
        ),
        (
            "imageGeneration",
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x", "conditionImage": "not base64!"},
            },
            "textToImageParams.conditionImage",
        ),
        (
            "submitToolCallback",
            {"callbackId": "c", "toolResults": [{"toolUseId": "t", "result": "str"}]},
            "toolResults.0.result",
        ),
    ],
)
def test_violations_are_caught(op: str, body: dict, where: str) -> None:  # type: ignore[type-arg]
    errors = request_errors(op, body)
    assert errors, body
    assert any(path.startswith(where) for path, _ in errors), errors
    with pytest.raises(ContractViolation):
        validate_request(op, body)


def test_responses_are_checked() -> None:
    assert (
        response_errors(
            "embeddings",
            200,
            {
                "embeddings": [0.1],
                "model": "m",
                "dimension": 1,
                "usage": {"inputTokens": 1, "totalTokens": 1},
            },
        )
        == []
    )
    assert response_errors("embeddings", 200, {"embeddings": [0.1]})
    assert response_errors(
        "chatInference", 202, {"requestId": "r", "status": "done", "pollUrl": "/x"}
    )
    assert response_errors("chatInferenceStream", 200, "event: done\n\n") == []
    assert response_errors("chatInference", 418, {})


def test_operation_routing() -> None:
    assert operation_for("POST", "/ai/chat") == "chatInference"
    assert operation_for("POST", "/ai/chat/stream") == "chatInferenceStream"
    assert operation_for("GET", "/ai/chat/executions/abc%3D") == "getDurableExecutionStatus"
    assert operation_for("GET", "/ai/models") == "listAIModels"
    assert operation_for("DELETE", "/ai/models") is None
    assert operation_for("POST", "/ai/unknown") is None
