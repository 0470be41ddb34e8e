"""Tool choice on an API that has no ``toolChoice`` field (pure, no I/O).

The native chat API (unlike ``/oai/v1``) cannot force or forbid a tool call. Both adapters
carry a framework's ``tool_choice`` out the same way, with the same words, through
:func:`plan_tool_choice`: by choosing which tools to send and adding one instruction to the
system prompt. Forcing is an instruction, not a guarantee: a model may still answer in text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from quant_ai.errors import QuantValidationError

__all__ = [
    "FORBID_TOOLS",
    "ONE_TOOL_AT_A_TIME",
    "REQUIRE_A_TOOL",
    "ToolChoiceMode",
    "ToolChoicePlan",
    "parse_tool_choice",
    "plan_tool_choice",
    "require_tool",
]

REQUIRE_A_TOOL = (
    "You must answer by calling one of the available tools; do not answer in plain text."
)
"""Instruction of ``"required"``/``"any"``."""
FORBID_TOOLS = "Do not call any tool in this turn; answer in plain text."
"""Instruction of ``"none"`` when the tools must still be sent (tool history)."""
ONE_TOOL_AT_A_TIME = "Call at most one tool at a time."
"""Instruction added when parallel tool calls are turned off."""

ToolChoiceMode = Literal["auto", "none", "required", "named"]

_KEYWORDS: dict[str, ToolChoiceMode] = {
    "auto": "auto",
    "none": "none",
    "required": "required",
    "any": "required",
}


def require_tool(name: str) -> str:
    """The instruction of a named tool choice."""
    return f"You must answer by calling the tool `{name}`; do not answer in plain text."


@dataclass(frozen=True)
class ToolChoicePlan:
    """How a tool choice is carried out.

    Attributes:
        tool_names: The names of the tools to send, in the order given (possibly fewer, or
            none).
        instruction: Text to append to the system prompt, or None.
        server_tools: Whether server-side execution (``autoExecute``/``allowedTools``) is
            still offered; False for a ``"none"`` that sends no tools, so no tool runs at all.
    """

    tool_names: tuple[str, ...]
    instruction: str | None
    server_tools: bool = True


def _name_in(choice: Mapping[str, Any]) -> str | None:
    for key in ("function", "tool"):
        inner = choice.get(key)
        if isinstance(inner, Mapping) and isinstance(inner.get("name"), str):
            return str(inner["name"])
    name = choice.get("name")
    return name if isinstance(name, str) and name else None


def parse_tool_choice(tool_choice: Any) -> tuple[ToolChoiceMode, str | None]:
    """Read a tool choice in any of the usual spellings.

    Accepted: None, ``"auto"``, ``"none"``, ``"required"``, ``"any"`` (case-insensitive),
    True (required), False (none), a tool name, OpenAI ``{"type": "function", "function":
    {"name": ...}}``, Anthropic ``{"type": "tool", "name": ...}`` / ``{"type": "any"}``, and
    Bedrock ``{"tool": {"name": ...}}`` / ``{"any": {}}`` / ``{"auto": {}}``.

    Returns:
        ``(mode, tool name)``; the name is set for ``"named"`` only.

    Raises:
        QuantValidationError: For anything else (field ``tool_choice``).
    """
    if tool_choice is None:
        return "auto", None
    if tool_choice is True or tool_choice is False:
        return ("required" if tool_choice else "none"), None
    if isinstance(tool_choice, str):
        keyword = _KEYWORDS.get(tool_choice.lower())
        if keyword is not None:
            return keyword, None
        if tool_choice.strip():
            return "named", tool_choice
    elif isinstance(tool_choice, Mapping):
        kind = tool_choice.get("type")
        name = _name_in(tool_choice)
        if name is not None:
            return "named", name
        if isinstance(kind, str) and kind.lower() in _KEYWORDS:
            return _KEYWORDS[kind.lower()], None
        for key, mode in _KEYWORDS.items():
            if key in tool_choice:
                return mode, None
    raise QuantValidationError(
        f"unsupported tool_choice {tool_choice!r}: use 'auto', 'none', 'required' or a tool name",
        field="tool_choice",
    )


def plan_tool_choice(
    tool_names: Sequence[str],
    tool_choice: Any = None,
    *,
    history_has_tools: bool = False,
    tool_required: bool = False,
    parallel_tool_calls: bool = True,
) -> ToolChoicePlan:
    """Decide the tools to send and the instruction to add for a tool choice.

    * ``auto`` (or None): every tool, no instruction.
    * ``none``: no tool and no server-side execution. When the conversation already holds
      tool calls and there are tools, they are sent (the service needs their definitions to
      accept that history) with :data:`FORBID_TOOLS`.
    * ``required``/``any``/True (or ``auto`` with ``tool_required``): every tool, with
      :data:`REQUIRE_A_TOOL`.
    * a tool name: only that tool, with :func:`require_tool`.
    * ``parallel_tool_calls=False`` adds :data:`ONE_TOOL_AT_A_TIME` whenever tools are sent
      and may be called.

    Args:
        tool_names: The names of the tools on offer.
        tool_choice: The choice, in any spelling :func:`parse_tool_choice` reads.
        history_has_tools: Whether the messages hold ``toolUse``/``toolResult`` blocks.
        tool_required: Require a tool call when the choice is ``auto`` (LlamaIndex's flag).
        parallel_tool_calls: Whether the model may call several tools in one turn.

    Returns:
        The plan.

    Raises:
        QuantValidationError: For an unknown choice or a name that is not among the tools.
    """
    names = tuple(tool_names)
    mode, name = parse_tool_choice(tool_choice)
    if mode == "auto" and tool_required:
        mode = "required"
    if mode == "none":
        if history_has_tools and names:
            return ToolChoicePlan(names, FORBID_TOOLS)
        return ToolChoicePlan((), None, server_tools=False)
    notes: list[str] = []
    if mode == "named":
        if name not in names:
            known = ", ".join(names) or "none"
            raise QuantValidationError(
                f"tool_choice {name!r} is not one of the tools given ({known})",
                field="tool_choice",
            )
        names = (str(name),)
        notes.append(require_tool(str(name)))
    elif mode == "required" and names:
        notes.append(REQUIRE_A_TOOL)
    if names and not parallel_tool_calls:
        notes.append(ONE_TOOL_AT_A_TIME)
    return ToolChoicePlan(names, " ".join(notes) or None)
