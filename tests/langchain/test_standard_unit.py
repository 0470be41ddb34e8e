"""The langchain-tests standard unit suites (offline)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests, ToolsUnitTests

from langchain_quant import ChatQuant, NovaCanvasTool, QuantEmbeddings

ENV = {
    "QUANT_API_KEY": "qc-env-key",
    "QUANT_ORGANIZATION": "env-org",
    "QUANT_BASE_URL": "https://quant.example",
}
EXPECTED = {
    "api_key": "qc-env-key",
    "organization": "env-org",
    "base_url": "https://quant.example",
}


class TestChatQuantUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatQuant

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "amazon.nova-lite-v1:0"}

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"model": "amazon.nova-pro-v1:0"}, {**EXPECTED, "model": "amazon.nova-pro-v1:0"}

    @pytest.mark.xfail(
        reason="dumpd matches the snapshot, but the test loads with allowed_objects='all', "
        "which admits only the class paths in langchain-core's own load/mapping.py; "
        "('langchain_quant', 'chat_models', 'ChatQuant') is not there, so load() raises "
        "'Deserialization of ... is not allowed' whatever ChatQuant declares. Loading with "
        "allowed_objects=[ChatQuant] works (test_chat_models.py::"
        "test_dumpd_load_round_trip_with_an_explicit_allowlist).",
        raises=ValueError,
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


class TestQuantEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return QuantEmbeddings

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"dimensions": 512}, {**EXPECTED, "dimensions": 512}


class TestNovaCanvasToolUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return NovaCanvasTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"prompt": "A lighthouse at dusk", "width": 512, "height": 512, "seed": 1}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return ENV, {"output_dir": "images"}, {**EXPECTED, "output_dir": "images"}
