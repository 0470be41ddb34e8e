"""``quant_ai.server_tools``: definitions of the tools the service runs itself."""

from __future__ import annotations

from quant_ai import SERVER_TOOL_SCHEMAS, SERVER_TOOLS, server_tool


def test_built_in_tools_carry_their_schema() -> None:
    assert set(SERVER_TOOLS) == {"get_weather", "calculate", "search_web", "generate_image"}
    assert set(SERVER_TOOL_SCHEMAS) == set(SERVER_TOOLS)
    wire = server_tool("get_weather").to_wire()
    assert wire["toolSpec"]["name"] == "get_weather"
    assert wire["toolSpec"]["inputSchema"]["json"]["required"] == ["location"]
    assert "executed by Quant AI" in wire["toolSpec"]["description"]


def test_a_custom_tool_is_offered_by_name() -> None:
    assert server_tool("crm_lookup").to_wire() == {
        "toolSpec": {
            "name": "crm_lookup",
            "description": "The crm_lookup tool (executed by Quant AI).",
            "inputSchema": {"json": {"type": "object"}},
        }
    }
