"""Conversion of native Quant AI chat bodies into engine requests."""

from __future__ import annotations

from typing import Any

from quant_ai.emulator.catalog import MODELS, Model
from quant_ai.emulator.engine import (
    BUILTIN_TOOLS,
    ChatRequest,
    RequestError,
    ToolDef,
    parse_native_messages,
)

__all__ = ["FAIL_MARKER", "chat_model", "chat_request_from_native"]

FAIL_MARKER = "[[fail]]"
"""A durable execution whose user text contains this marker ends ``failed``."""


def chat_model(model_id: object, field: str = "modelId") -> Model:
    """Return the chat model, or raise :class:`RequestError` naming ``field``."""
    model = MODELS.get(str(model_id))
    if model is None:
        raise RequestError(field, f"unknown model {model_id!r}; see GET /ai/models")
    if model.kind != "chat":
        raise RequestError(field, f"model {model_id!r} does not support chat")
    return model


def chat_request_from_native(body: dict[str, Any]) -> ChatRequest:
    """Build an engine request from a schema-valid native chat body.

    Raises:
        RequestError: For semantic errors (unknown model, bad media, tool settings).
    """
    model = chat_model(body.get("modelId"))
    messages, system_turns = parse_native_messages(body["messages"])
    system = "\n".join(s for s in (body.get("systemPrompt", ""), system_turns) if s)
    tool_config = body.get("toolConfig") or {}
    tools: list[ToolDef] = []
    for i, entry in enumerate(tool_config.get("tools") or []):
        spec = entry.get("toolSpec") if isinstance(entry, dict) else None
        if not isinstance(spec, dict) or not spec.get("name"):
            raise RequestError(f"toolConfig.tools.{i}.toolSpec.name", "is required")
        schema = (spec.get("inputSchema") or {}).get("json") or {"type": "object"}
        tools.append(ToolDef(str(spec["name"]), str(spec.get("description", "")), schema))
    auto: set[str] = set()
    allowed = list(tool_config.get("allowedTools") or []) + list(body.get("allowedTools") or [])
    if tool_config.get("autoExecute"):
        if not allowed:
            raise RequestError("toolConfig.allowedTools", "is required when autoExecute is true")
        auto = {name for name in allowed if name in BUILTIN_TOOLS}
        known = {t.name for t in tools}
        tools += [BUILTIN_TOOLS[name] for name in sorted(auto) if name not in known]
    response_format = body.get("responseFormat")
    return ChatRequest(
        model=model,
        messages=messages,
        system=system,
        tools=tools,
        auto_execute=auto,
        response_format=dict(response_format) if response_format is not None else None,
        max_tokens=body.get("maxTokens"),
        stop=list(body.get("stopSequences") or []),
    )
