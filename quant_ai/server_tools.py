"""The tools the service runs itself, as tool definitions a request can offer.

The built-in tools (``GET /ai/tools``) are ``get_weather``, ``calculate``, ``search_web`` and
``generate_image``; any other name is an organisation's custom tool. A request that lets the
service run them (``toolConfig.autoExecute`` with ``allowedTools``) also offers their
definitions, so that the model knows their arguments: :func:`server_tool` makes one.
"""

from __future__ import annotations

from typing import Any

from quant_ai.types import Tool, ToolInputSchema, ToolSpec

__all__ = ["SERVER_TOOLS", "SERVER_TOOL_SCHEMAS", "server_tool"]

SERVER_TOOLS: dict[str, str] = {
    "get_weather": "Get the current weather for a location (executed by Quant AI).",
    "calculate": "Evaluate a mathematical expression (executed by Quant AI).",
    "search_web": "Search the web (executed by Quant AI).",
    "generate_image": "Generate an image from a text prompt (executed by Quant AI).",
}
"""Built-in tools that the service runs itself; any other string names an org custom tool."""

SERVER_TOOL_SCHEMAS: dict[str, dict[str, Any]] = {
    "get_weather": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City name"}},
        "required": ["location"],
    },
    "calculate": {
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "e.g. 12 * 7"}},
        "required": ["expression"],
    },
    "search_web": {
        "type": "object",
        "properties": {"query": {"type": "string", "description": "What to search for"}},
        "required": ["query"],
    },
    "generate_image": {
        "type": "object",
        "properties": {"prompt": {"type": "string", "description": "What to draw"}},
        "required": ["prompt"],
    },
}
"""Input schemas sent with the built-in tools, so the model knows their arguments (the
service's ``GET /ai/tools`` holds the authoritative specs)."""


def server_tool(name: str) -> Tool:
    """The definition of a server-run tool: built-in ones with their schema, others by name.

    Args:
        name: A built-in tool's name, or an organisation's custom tool.
    """
    schema = SERVER_TOOL_SCHEMAS.get(name, {"type": "object"})
    return Tool(
        tool_spec=ToolSpec(
            name=name,
            description=SERVER_TOOLS.get(name, f"The {name} tool (executed by Quant AI)."),
            input_schema=ToolInputSchema.model_validate({"json": schema}),
        )
    )
