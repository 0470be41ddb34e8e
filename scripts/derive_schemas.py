"""Derive JSON schemas for the Quant AI operations from the official OpenAPI spec.

Usage::

    python scripts/derive_schemas.py [path/to/openapi.yaml]

The spec defaults to ``../shared/spec/openapi.yaml`` next to this checkout. The result is
written to ``quant_ai/_contract/ai_schemas.json`` (committed; the emulator and the contract
tests load it).

What the derivation does, and nothing more:

* every ``$ref`` is inlined, ``description`` and ``example`` are stripped;
* request objects that list ``properties`` are closed (``additionalProperties: false``,
  marked ``x-quant-closed``) so that a misspelt field fails the contract check; objects the
  spec leaves free-form (``inputSchema.json``, ``jsonSchema``, ``virtualTryOnParams``) stay open;
* the chat message content blocks admit exactly two extensions used by QuantCDN's own
  clients (``toolUse`` and ``toolResult``, see docs/quant-api.md section 2.1), each marked
  ``x-quant-extension``; vector-db document metadata admits keys beyond the four the spec
  lists (QuantCDN's own vector-db client sends them), also marked. Response schemas are left as the spec has them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT.parent / "shared" / "spec" / "openapi.yaml"
OUT = ROOT / "quant_ai" / "_contract" / "ai_schemas.json"
PREFIX = "/api/v3/organizations/{organisation}/ai"

OPERATIONS = {
    "chatInference": ("post", "/chat"),
    "chatInferenceStream": ("post", "/chat/stream"),
    "embeddings": ("post", "/embeddings"),
    "imageGeneration": ("post", "/image-generation"),
    "getDurableExecutionStatus": ("get", "/chat/executions/{identifier}"),
    "submitToolCallback": ("post", "/chat/callback"),
    "listAIModels": ("get", "/models"),
    "getAIModel": ("get", "/models/{modelId}"),
    # The second wave: sessions, agents, usage and spend, the vector database, tools.
    "listAISessions": ("get", "/sessions"),
    "createAISession": ("post", "/sessions"),
    "deleteAISession": ("delete", "/sessions/{sessionId}"),
    "getAISession": ("get", "/sessions/{sessionId}"),
    "updateAISession": ("put", "/sessions/{sessionId}"),
    "extendAISession": ("put", "/sessions/{sessionId}/extend"),
    "getMyUsage": ("get", "/usage/me"),
    "getGovernanceSpend": ("get", "/governance/spend"),
    "getAIUsageStats": ("get", "/usage"),
    "listAIAgents": ("get", "/agents"),
    "createAIAgent": ("post", "/agents"),
    "deleteAIAgent": ("delete", "/agents/{agentId}"),
    "getAIAgent": ("get", "/agents/{agentId}"),
    "updateAIAgent": ("put", "/agents/{agentId}"),
    "chatWithAIAgent": ("post", "/agents/{agentId}/chat"),
    "listVectorCollections": ("get", "/vector-db/collections"),
    "createVectorCollection": ("post", "/vector-db/collections"),
    "deleteVectorCollection": ("delete", "/vector-db/collections/{collectionId}"),
    "getVectorCollection": ("get", "/vector-db/collections/{collectionId}"),
    "deleteVectorDocuments": ("delete", "/vector-db/collections/{collectionId}/documents"),
    "listVectorDocuments": ("get", "/vector-db/collections/{collectionId}/documents"),
    "uploadVectorDocuments": ("post", "/vector-db/collections/{collectionId}/documents"),
    "queryVectorCollection": ("post", "/vector-db/collections/{collectionId}/query"),
    "listAITools": ("get", "/tools"),
    "getAIToolExecutionStatus": ("get", "/tools/executions/{executionId}"),
    "getAIOrchestrationStatus": ("get", "/tools/orchestrations/{orchestrationId}"),
}

STRIP = {"description", "example", "examples", "xml", "externalDocs"}


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    """Inline ``$ref``s and strip annotations (a *property* named like one is kept)."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            return _resolve(components[name], components)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: _resolve(sub, components) for name, sub in value.items()}
            elif key not in STRIP:
                out[key] = _resolve(value, components)
        return out
    if isinstance(node, list):
        return [_resolve(v, components) for v in node]
    return node


def _close(node: Any) -> Any:
    """Close every object schema that lists its properties (requests only)."""
    if isinstance(node, dict):
        out = {k: _close(v) for k, v in node.items()}
        if out.get("type") == "object" and out.get("properties"):
            out["additionalProperties"] = False
            out["x-quant-closed"] = True
        return out
    if isinstance(node, list):
        return [_close(v) for v in node]
    return node


def _extension_blocks(media_blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text_block = media_blocks[0]
    tool_use = {
        "type": "object",
        "x-quant-extension": "toolUse block (QuantCDN clients, not in the spec)",
        "required": ["toolUse"],
        "additionalProperties": False,
        "properties": {
            "toolUse": {
                "type": "object",
                "required": ["toolUseId", "name", "input"],
                "additionalProperties": False,
                "properties": {
                    "toolUseId": {"type": "string", "minLength": 1},
                    "name": {"type": "string", "minLength": 1},
                    "input": {"type": "object"},
                },
            }
        },
    }
    tool_result = {
        "type": "object",
        "x-quant-extension": "toolResult block (QuantCDN clients, not in the spec)",
        "required": ["toolResult"],
        "additionalProperties": False,
        "properties": {
            "toolResult": {
                "type": "object",
                "required": ["toolUseId", "content"],
                "additionalProperties": False,
                "properties": {
                    "toolUseId": {"type": "string", "minLength": 1},
                    "content": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"oneOf": [text_block, *media_blocks[1:]]},
                    },
                    "status": {"type": "string", "enum": ["success", "error"]},
                },
            }
        },
    }
    return [tool_use, tool_result]


def derive(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec["components"]["schemas"]
    paths = spec["paths"]
    ops: dict[str, Any] = {}
    for op_id, (method, sub) in OPERATIONS.items():
        op = paths[PREFIX + sub][method]
        assert op["operationId"] == op_id, (op_id, op["operationId"])
        entry: dict[str, Any] = {"method": method.upper(), "path": "/ai" + sub}
        body = op.get("requestBody", {}).get("content", {}).get("application/json")
        if body:
            entry["request"] = _close(_resolve(body["schema"], components))
        responses: dict[str, Any] = {}
        for status, resp in op["responses"].items():
            for ctype, media in resp.get("content", {}).items():
                responses[status] = {
                    "contentType": ctype,
                    "schema": _resolve(media["schema"], components),
                }
        entry["responses"] = responses
        ops[op_id] = entry

    # The two block extensions on the chat content items (buffered chat only: the stream
    # request's items are already free-form objects in the spec).
    content = ops["chatInference"]["request"]["properties"]["messages"]["items"]["properties"][
        "content"
    ]
    items = content["oneOf"][1]["items"]
    items["oneOf"] = [*items["oneOf"], *_extension_blocks(items["oneOf"])]

    # Document metadata: the spec lists title, source_url, section and tags, and QuantCDN's own
    # vector-db client (the Drupal provider) also sends keys of its own (e.g. drupal_entity_id),
    # so the listed keys keep their types and other keys are admitted.
    metadata = ops["uploadVectorDocuments"]["request"]["properties"]["documents"]["items"][
        "properties"
    ]["metadata"]
    metadata["additionalProperties"] = True
    del metadata["x-quant-closed"]
    metadata["x-quant-extension"] = "metadata keys beyond the listed four (QuantCDN clients)"
    return ops


def main(argv: list[str]) -> int:
    spec_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC
    raw = spec_path.read_bytes()
    spec = yaml.safe_load(raw)
    doc = {
        "x-source": {
            "title": spec["info"]["title"],
            "version": spec["info"]["version"],
            "sha256": hashlib.sha256(raw).hexdigest(),
            "pathPrefix": PREFIX,
        },
        "operations": derive(spec),
    }
    OUT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} from spec {doc['x-source']['version']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
