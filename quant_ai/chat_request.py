"""Assembling a :class:`~quant_ai.types.ChatRequest` (pure, no I/O).

Both adapters convert their framework's messages and tools to core models and call
:func:`build_chat_request`, which applies the request-level rules once:

* the system prompt parts (the model's own, the conversation's system messages, the tool
  choice instruction) are joined by blank lines;
* the tool choice is carried out by :func:`quant_ai.tool_choice.plan_tool_choice`;
* a request that sends no ``toolConfig`` carries its tool history as text
  (:func:`quant_ai.history.tool_blocks_as_text`): the service refuses tool blocks without
  tool definitions;
* request fields are given by their snake_case name or their wire (camelCase) name; unset
  (None) fields are left out; names the model does not know are sent as given;
* structured output (``responseFormat``) is read by
  :func:`quant_ai.structured.to_response_format` (the native and the OpenAI shapes, a bare
  JSON schema, a pydantic class; anything else refused naming the field).

A field value the spec refuses raises :class:`~quant_ai.errors.QuantValidationError` naming
the field, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic

from quant_ai.errors import QuantValidationError
from quant_ai.history import has_tool_blocks, tool_blocks_as_text
from quant_ai.structured import to_response_format
from quant_ai.tool_choice import plan_tool_choice
from quant_ai.types import ChatRequest, Message, Tool, ToolConfig

__all__ = ["build_chat_request", "request_fields"]


def _field_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name, info in ChatRequest.model_fields.items():
        names[name] = name
        alias = info.alias or info.serialization_alias
        if alias:
            names[alias] = name
    names["async"] = "async_"
    return names


def request_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    """Request fields by their model name: wire (camelCase) names are translated.

    Args:
        values: Fields by snake_case or camelCase name; unknown names are kept as they are
            (sent as extra wire fields).

    Returns:
        A new dict; a later spelling of the same field wins.
    """
    names = _field_names()
    return {names.get(key, key): value for key, value in values.items()}


def _validation_error(exc: pydantic.ValidationError) -> QuantValidationError:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"])
    return QuantValidationError(f"{field}: {first['msg']}", field=field)


def build_chat_request(
    messages: Sequence[Message],
    *,
    system_prompt: Sequence[str | None] | str | None = None,
    tools: Sequence[Tool] = (),
    tool_choice: Any = None,
    tool_required: bool = False,
    parallel_tool_calls: bool = True,
    auto_execute: bool | None = None,
    executable_tools: Sequence[str] | None = None,
    **fields: Any,
) -> ChatRequest:
    """Assemble the request of one chat call.

    Args:
        messages: The wire messages (from :class:`quant_ai.history.Turns`).
        system_prompt: The system prompt, or its parts (blank ones left out).
        tools: The client and server tools on offer.
        tool_choice: Any spelling :func:`quant_ai.tool_choice.parse_tool_choice` reads.
        tool_required: Require a tool call when the choice is ``auto``.
        parallel_tool_calls: Whether the model may call several tools at once.
        auto_execute: ``toolConfig.autoExecute``.
        executable_tools: ``toolConfig.allowedTools`` (the tools the service may run; the
            top-level ``allowed_tools`` field is a separate request field).
        **fields: Other :class:`~quant_ai.types.ChatRequest` fields by snake_case or wire
            name (``model_id``, ``temperature``, ``stop_sequences``, ``response_format``...);
            None values are left out.

    Returns:
        The validated request.

    Raises:
        QuantValidationError: For no message, a bad tool choice or a field value the spec
            refuses, naming the field.
    """
    if not messages:
        raise QuantValidationError("no message to send", field="messages")
    values = {k: v for k, v in request_fields(fields).items() if v is not None}
    parts: list[str | None] = (
        [system_prompt] if isinstance(system_prompt, str) else list(system_prompt or [])
    )
    history_has_tools = has_tool_blocks(messages)
    plan = plan_tool_choice(
        [t.tool_spec.name for t in tools],
        tool_choice,
        history_has_tools=history_has_tools,
        tool_required=tool_required,
        parallel_tool_calls=parallel_tool_calls,
    )
    parts.append(plan.instruction)
    system = "\n\n".join(p for p in parts if p and p.strip())
    if system:
        values["system_prompt"] = system
    if "response_format" in values:
        values["response_format"] = to_response_format(values["response_format"])
    if not plan.server_tools:
        auto_execute, executable_tools = None, None
    kept = [t for t in tools if t.tool_spec.name in plan.tool_names]
    wire = list(messages)
    if kept or auto_execute is not None or executable_tools:
        values["tool_config"] = ToolConfig(
            tools=kept or None,
            auto_execute=auto_execute,
            allowed_tools=list(executable_tools) if executable_tools else None,
        )
    elif values.get("tool_config") is None and history_has_tools:
        wire = tool_blocks_as_text(wire)
    try:
        return ChatRequest(messages=wire, **values)
    except pydantic.ValidationError as exc:
        raise _validation_error(exc) from None
