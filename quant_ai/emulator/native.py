"""Conversion of native Quant AI chat bodies into engine requests."""

from __future__ import annotations

import re
from typing import Any

from quant_ai.emulator.catalog import MODELS, Model
from quant_ai.emulator.engine import (
    BUILTIN_TOOLS,
    EngineRequest,
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


def chat_request_from_native(body: dict[str, Any]) -> EngineRequest:
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
    if not tools and any(m.tool_uses or m.tool_results for m in messages):
        # Bedrock's Converse API refuses tool blocks in a request that defines no tools.
        raise RequestError(
            "toolConfig", "must be defined when messages contain toolUse or toolResult blocks"
        )
    response_format = body.get("responseFormat")
    _check_capabilities(model, body)
    return EngineRequest(
        model=model,
        messages=messages,
        system=system,
        tools=tools,
        tool_choice=tool_choice_from_instructions(system, [t.name for t in tools]),
        auto_execute=auto,
        response_format=dict(response_format) if response_format is not None else None,
        max_tokens=body.get("maxTokens"),
        stop=list(body.get("stopSequences") or []),
    )


def _check_capabilities(model: Model, body: dict[str, Any]) -> None:
    """Refuse what the catalogue says the model cannot do (structured output, media)."""
    fmt = body.get("responseFormat")
    if isinstance(fmt, dict) and fmt.get("jsonSchema"):
        reason = model.refusal(json_schema=True)
        if reason:
            raise RequestError("responseFormat.jsonSchema", reason)
    for i, message in enumerate(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else []):
            for kind in ("image", "video", "document"):
                if isinstance(block, dict) and kind in block:
                    reason = model.refusal(media=kind)
                    if reason:
                        raise RequestError(f"messages.{i}.content.{j}.{kind}", reason)


_MUST_CALL_NAMED = re.compile(r"\bcall(?:ing)? the tool [`'\"]?([A-Za-z0-9_-]+)", re.IGNORECASE)
_MUST_CALL_ANY = re.compile(
    r"\b(?:must|answer by|always)\s+(?:answer by\s+)?call(?:ing)?\s+"
    r"(?:one of the |a |an |any )?(?:available |given )?tools?\b",
    re.IGNORECASE,
)
_MUST_NOT_CALL = re.compile(r"\b(?:do not|don't|never) call any tools?\b", re.IGNORECASE)


def tool_choice_from_instructions(system: str, tool_names: list[str]) -> str:
    """Follow a tool instruction in the system prompt, as an instruction-tuned model would.

    The native API has no toolChoice, so clients ask in words: "You must answer by calling the
    tool `X`" (or "Answer by calling the tool `X`") forces X, "You must call one of the
    available tools" (or "Answer by calling one of the available tools") forces some tool,
    "Do not call any tool" forbids them. Anything else is ``auto``.
    """
    if not system or not tool_names:
        return "auto"
    if _MUST_NOT_CALL.search(system):
        return "none"
    named = _MUST_CALL_NAMED.search(system)
    if named and named.group(1) in tool_names:
        return named.group(1)
    if _MUST_CALL_ANY.search(system):
        return "required"
    return "auto"
