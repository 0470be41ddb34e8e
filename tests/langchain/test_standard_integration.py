"""The langchain-tests standard integration suites, twice: from cassettes and live.

``Test*Standard`` classes (marker ``vcr``) replay ``cassettes/langchain/`` recorded against the
emulator; ``Test*Live`` classes (marker ``emulator``) run the same suites against a freshly
started local emulator so that the cassettes never hide a broken path.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    EmbeddingsIntegrationTests,
    ToolsIntegrationTests,
)

from langchain_quant import ChatQuant, NovaCanvasTool, QuantEmbeddings
from tests.langchain import _support

pytestmark = pytest.mark.usefixtures("offline_media")

MODEL = "amazon.nova-lite-v1:0"
OVERRIDE_MODEL = "amazon.nova-pro-v1:0"


class _LiveVCR:
    """Live classes: the suite's own ``vcr`` marks (test_stream_time) go straight through."""

    @pytest.fixture
    def vcr_config(self) -> dict[str, Any]:
        return {"record_mode": "none", "ignore_localhost": True}


class _ChatSuite(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return ChatQuant

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_video_inputs(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return OVERRIDE_MODEL

    @property
    def enable_vcr_tests(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason="The Quant AI API takes no audio input (text, image, video and document "
        "blocks only); ChatQuant refuses audio blocks with a ValueError.",
        raises=ValueError,
        strict=True,
    )
    def test_audio_inputs(self, model: BaseChatModel) -> None:
        super().test_audio_inputs(model)


@pytest.mark.vcr
class TestChatQuantStandard(_ChatSuite):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, **_support.cassette_params()}


@pytest.mark.emulator
class TestChatQuantLive(_LiveVCR, _ChatSuite):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, **_support.live_params()}


class _EmbeddingsSuite(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return QuantEmbeddings


@pytest.mark.vcr
class TestQuantEmbeddingsStandard(_EmbeddingsSuite):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dimensions": 256, **_support.cassette_params()}


@pytest.mark.emulator
class TestQuantEmbeddingsLive(_LiveVCR, _EmbeddingsSuite):
    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"dimensions": 256, **_support.live_params()}


class _ToolSuite(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return NovaCanvasTool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"prompt": "A red square on white", "width": 64, "height": 64, "seed": 7}


@pytest.mark.vcr
class TestNovaCanvasToolStandard(_ToolSuite):
    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return dict(_support.cassette_params())


@pytest.mark.emulator
class TestNovaCanvasToolLive(_LiveVCR, _ToolSuite):
    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return dict(_support.live_params())
